"""How a burst of keep-alive connections spreads over `grassroots serve --workers N`.

Opens N connections at once to a running hub (each sends one /healthz and stays open), then
reads from `ss` (Linux, iproute2) which worker process holds each, and prints the counts per
worker, `--rounds` times. Start the hub first, e.g. `grassroots serve --demo --workers 2`.

    python benchmarks/worker_balance.py --port 8000 --connections 16 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess

import httpx


def holders(port: int) -> collections.Counter[str]:
    """Established connections to `port`, counted per process id."""
    listed = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return collections.Counter(
        line.split("pid=")[1].split(",")[0] for line in listed.splitlines() if "pid=" in line
    )


async def burst(host: str, port: int, connections: int) -> collections.Counter[str]:
    clients = [httpx.AsyncClient(base_url=f"http://{host}:{port}") for _ in range(connections)]
    try:
        await asyncio.gather(*(client.get("/healthz") for client in clients))
        return holders(port)
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for _ in range(args.rounds):
        counts = asyncio.run(burst(args.host, args.port, args.connections))
        shown = ", ".join(f"pid {pid}: {n}" for pid, n in sorted(counts.items()))
        print(f"{args.connections} connections -> {shown}")


if __name__ == "__main__":
    main()
