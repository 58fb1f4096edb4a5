"""How long the hub takes to serve again after its PostgreSQL restarts, under load.

    .venv/bin/python benchmarks/recovery.py [--rounds R] [--clients N] [--down S] [--fresh]

Starts `grassroots serve --demo` as a subprocess on a free port with its embedded PostgreSQL
in ./data/bench-recovery (kept between runs; `--fresh` wipes it first), waits for /readyz,
then keeps N clients sending a small query (the county with its township count) back to
back. Each round stops PostgreSQL (`pg_ctl stop -m fast`), keeps it down S seconds, starts
it again, and measures from the moment `pg_ctl start` returns:

  first_ok_seconds      until the first request answers 200 again;
  all_ok_seconds        until every client has had a 200 after the restart;
  ready_seconds         until /readyz says ready (pool reaches the database and the change
                        feed listens again);

and, while PostgreSQL was down: detect_seconds (stop → first 503) and the statuses seen.
Any status but 200 and 503 (a 500, a dropped connection) fails the run. Prints one JSON
object; the hub is stopped with SIGTERM and must exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db.embedded import EmbeddedPostgres  # noqa: E402

DEFAULT_DATA_DIR = ROOT / "data" / "bench-recovery"
JWT_SECRET = "benchmark-only-jwt-secret-0123456789abcdef"
QUERY = '{ region(code: "341126") { name children { totalCount } } }'
READY_TIMEOUT_SECONDS = 300.0
ROUND_TIMEOUT_SECONDS = 60.0


class BenchError(RuntimeError):
    """The hub misbehaved: the figures would be meaningless."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def grassroots() -> str:
    beside = Path(sys.executable).parent / "grassroots"
    return str(beside) if beside.exists() else "grassroots"


def hub_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("DATABASE_URL", None)
    # Clients asking back to back would spend any caller's budget: no rate limits here.
    return env | {
        "HUB_DATA_DIR": str(data_dir),
        "HUB_JWT_SECRET": JWT_SECRET,
        "HUB_RATE_LIMIT": "false",
    }


class Load:
    """N clients asking back to back; every answer recorded with its time."""

    def __init__(self, url: str, token: str, clients: int) -> None:
        self.url, self.token, self.clients = url, token, clients
        self.answers: list[tuple[float, int, int]] = []  # (time, client, status)
        self._stop = asyncio.Event()

    async def _client(self, number: int) -> None:
        headers = {"authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    response = await client.post(
                        self.url + "/graphql", json={"query": QUERY}, headers=headers
                    )
                    status = response.status_code
                except httpx.TransportError:
                    status = 0
                self.answers.append((time.monotonic(), number, status))
                await asyncio.sleep(0.005)

    async def run(self) -> None:
        await asyncio.gather(*(self._client(n) for n in range(self.clients)))

    def stop(self) -> None:
        self._stop.set()

    def since(self, moment: float) -> list[tuple[float, int, int]]:
        return [a for a in self.answers if a[0] >= moment]


async def ready(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url + "/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def one_round(
    load: Load, server: EmbeddedPostgres, url: str, down_seconds: float
) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as client:
        stopped = time.monotonic()
        await asyncio.to_thread(server.shutdown)
        await asyncio.sleep(down_seconds)
        if await ready(client, url):
            raise BenchError("/readyz said ready while PostgreSQL was down")
        await asyncio.to_thread(server.start)
        restarted = time.monotonic()
        first_ok = all_ok = ready_at = None
        while time.monotonic() - restarted < ROUND_TIMEOUT_SECONDS:
            now = time.monotonic()
            after = load.since(restarted)
            oks = [a for a in after if a[2] == 200]
            if first_ok is None and oks:
                first_ok = oks[0][0] - restarted
            if all_ok is None and {a[1] for a in oks} == set(range(load.clients)):
                all_ok = max(min(a[0] for a in oks if a[1] == n) for n in range(load.clients))
                all_ok -= restarted
            if ready_at is None and await ready(client, url):
                ready_at = time.monotonic() - restarted
            if first_ok is not None and all_ok is not None and ready_at is not None:
                break
            await asyncio.sleep(max(0.0, 0.05 - (time.monotonic() - now)))
        else:
            raise BenchError(f"not recovered within {ROUND_TIMEOUT_SECONDS} s of the restart")
    during = [a for a in load.answers if stopped <= a[0] < restarted]
    statuses = Counter(a[2] for a in during)
    unavailable = [a[0] for a in during if a[2] == 503]
    if set(statuses) - {200, 503}:
        raise BenchError(f"statuses other than 200 and 503 while PostgreSQL was down: {statuses}")
    return {
        "detect_seconds": round(unavailable[0] - stopped, 3) if unavailable else None,
        "statuses_while_down": {str(k): v for k, v in sorted(statuses.items())},
        "first_ok_seconds": round(first_ok, 3),
        "all_ok_seconds": round(all_ok, 3),
        "ready_seconds": round(ready_at, 3),
    }


async def wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=2) as client:
        while not await ready(client, url):
            if process.poll() is not None or time.monotonic() - started > READY_TIMEOUT_SECONDS:
                raise BenchError(f"the hub did not get ready; see {log_path}")
            await asyncio.sleep(0.1)


async def rounds_under_load(args: argparse.Namespace, url: str, token: str) -> list[dict[str, Any]]:
    server = EmbeddedPostgres(args.data_dir)
    load = Load(url, token, args.clients)
    running = asyncio.create_task(load.run())
    await asyncio.sleep(2)  # warm
    rounds = []
    try:
        for _ in range(args.rounds):
            rounds.append(await one_round(load, server, url, args.down))
            await asyncio.sleep(2)
    finally:
        load.stop()
        await running
    return rounds


def measure(args: argparse.Namespace) -> dict[str, Any]:
    data_dir: Path = args.data_dir
    if args.fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data_dir.parent / f"{data_dir.name}-hub.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [grassroots(), "serve", "--demo", "--port", str(port)],
            env=hub_env(data_dir),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        asyncio.run(wait_ready(url, process, log_path))
        token = subprocess.run(
            [
                grassroots(),
                "token",
                "--sub",
                "bench",
                "--jurisdiction",
                "341126",
                "--role",
                "viewer",
            ],
            env=hub_env(data_dir),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        rounds = asyncio.run(rounds_under_load(args, url, token))
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if exit_code != 0:
        raise BenchError(f"the hub exited {exit_code} after SIGTERM; see {log_path}")

    def summary(key: str) -> dict[str, float]:
        values = [r[key] for r in rounds]
        return {"median": round(statistics.median(values), 3), "max": round(max(values), 3)}

    return {
        "benchmark": "recovery",
        "clients": args.clients,
        "down_seconds": args.down,
        "rounds": rounds,
        "first_ok_seconds": summary("first_ok_seconds"),
        "all_ok_seconds": summary("all_ok_seconds"),
        "ready_seconds": summary("ready_seconds"),
        "shutdown_exit_code": exit_code,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--down", type=float, default=5.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--fresh", action="store_true", help="wipe the data folder first")
    args = parser.parse_args()
    try:
        result = measure(args)
    except BenchError as error:
        print(f"recovery: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
