"""What a one-time link costs on top of the export it opens, one client, on the demo.

Run: .venv/bin/python benchmarks/link_latency.py [--rounds N]

Starts the hub on the demo data like http_bench.py (reusing its data folder) and, for each
of a small and a larger export, N times: downloads the export directly with the bearer
token, asks for a link to the same file (`POST /exports/links`), and opens the link
(`GET /exports/links/NONCE`, checked byte for byte against the direct download). Prints JSON
with p50/p95 of each step and of the link's overhead (ask + open − direct), the machine and
its load average at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_bench import DEFAULT_DATA_DIR, _free_port, issue_token, machine, start_hub

TARGETS = {
    "breakdown_by_child": ("/exports/breakdown.csv", "by=CHILD&under=341126"),
    "township_requests": ("/exports/service-requests.csv", "under=341126101"),
}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
    }


def _timed(call: object) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response: httpx.Response = call()  # type: ignore[operator]
    return response, (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    hub = start_hub(data_dir, _free_port())
    results: dict[str, dict[str, object]] = {}
    try:
        hub.wait_ready()
        token = issue_token(data_dir)
        bearer = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=hub.url, timeout=60) as client:
            for name, (path, query) in TARGETS.items():
                steps: dict[str, list[float]] = {"direct": [], "ask": [], "open": []}
                overhead: list[float] = []
                size = 0
                for _ in range(args.rounds):
                    direct, direct_ms = _timed(
                        lambda path=path, query=query: client.get(f"{path}?{query}", headers=bearer)
                    )
                    asked, ask_ms = _timed(
                        lambda path=path, query=query: client.post(
                            "/exports/links", json={"path": path, "query": query}, headers=bearer
                        )
                    )
                    if asked.status_code != 200:
                        raise SystemExit(f"no link: {asked.status_code} {asked.text}")
                    url = asked.json()["url"]
                    opened, open_ms = _timed(lambda url=url: client.get(url))
                    if opened.status_code != 200 or opened.content != direct.content:
                        raise SystemExit(f"the link gave another file: {opened.status_code}")
                    size = len(direct.content)
                    steps["direct"].append(direct_ms)
                    steps["ask"].append(ask_ms)
                    steps["open"].append(open_ms)
                    overhead.append(ask_ms + open_ms - direct_ms)
                results[name] = {
                    "target": f"{path}?{query}",
                    "bytes": size,
                    **{step: _percentiles(values) for step, values in steps.items()},
                    "link_overhead": _percentiles(overhead),
                }
        print(
            json.dumps(
                {
                    "benchmark": "link_latency",
                    "machine": machine(),
                    "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
                    "rounds": args.rounds,
                    "results": results,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    finally:
        hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
