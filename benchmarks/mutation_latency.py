"""Latency of the service request workflow's mutations over HTTP, one client, on the demo.

Run: .venv/bin/python benchmarks/mutation_latency.py [--requests N]

Starts the hub on the demo data like http_bench.py (reusing its data folder), then for N new
requests runs submit → accept → start → resolve → close → rate, one at a time, and prints
JSON with p50/p95 per mutation and machine information.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_bench import (
    DEFAULT_DATA_DIR,
    _free_port,
    _grassroots,
    _hub_env,
    machine,
    start_hub,
)

VILLAGE = "341126101001"
SUBMIT = """mutation ($i: SubmitServiceRequestInput!) { submitServiceRequest(input: $i) {
  id version } }"""
STEPS = {
    "accept": "mutation ($id: ID!) { r: acceptServiceRequest(id: $id) { version } }",
    "start": "mutation ($id: ID!) { r: startServiceRequest(id: $id) { version } }",
    "resolve": 'mutation ($id: ID!) { r: resolveServiceRequest(id: $id, note: "办结") '
    "{ version } }",
    "close": "mutation ($id: ID!) { r: closeServiceRequest(id: $id) { version } }",
    "rate": "mutation ($id: ID!) { r: rateServiceRequest(id: $id, satisfaction: 5) { version } }",
}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    hub = start_hub(data_dir, _free_port())
    try:
        hub.wait_ready()
        editor = subprocess.run(
            [
                _grassroots(),
                "token",
                "--sub",
                "bench-editor",
                "--jurisdiction",
                VILLAGE,
                "--role",
                "viewer",
                "--role",
                "editor",
            ],
            env=_hub_env(data_dir),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        timings: dict[str, list[float]] = {"submit": [], **{name: [] for name in STEPS}}
        headers = {"authorization": f"Bearer {editor}"}
        with httpx.Client(base_url=hub.url, headers=headers, timeout=30) as client:
            given = {
                "regionCode": VILLAGE,
                "category": "OTHER",
                "channel": "ONLINE",
                "title": "基准测试",
            }
            for _ in range(args.requests):
                started = time.perf_counter()
                body = client.post(
                    "/graphql", json={"query": SUBMIT, "variables": {"i": given}}
                ).json()
                timings["submit"].append((time.perf_counter() - started) * 1000)
                ident = body["data"]["submitServiceRequest"]["id"]
                for name, query in STEPS.items():
                    started = time.perf_counter()
                    answer = client.post(
                        "/graphql", json={"query": query, "variables": {"id": ident}}
                    ).json()
                    timings[name].append((time.perf_counter() - started) * 1000)
                    if "errors" in answer:
                        raise SystemExit(f"{name} failed: {answer['errors']}")
        print(
            json.dumps(
                {
                    "benchmark": "mutation_latency",
                    "machine": machine(),
                    "requests": args.requests,
                    "mutations": {name: _percentiles(values) for name, values in timings.items()},
                },
                indent=2,
            )
        )
    finally:
        hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
