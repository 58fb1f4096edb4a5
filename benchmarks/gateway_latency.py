"""The latency a query gains through GraphQL Hive Gateway, compared with the hub directly.

    .venv/bin/python benchmarks/gateway_latency.py [--requests N] [--warmup N] [--data-dir DIR]

Needs `npm ci --prefix federation`. Starts, on loopback, `grassroots serve --demo` on the
embedded PostgreSQL in DIR (default ./data/bench, shared with http_bench.py; the first run
seeds it), the population subgraph (federation/population) and the gateway
(federation/gateway.config.mjs over the supergraph composed by federation/compose.mjs). Then
one client sends each query back to back on a keep-alive connection, alternating between the
hub and the gateway so that both see the same machine state:

  region    one region with its first 15 children (hub fields only): hub vs gateway;
  joined    the same region's name from the hub and population from the other subgraph,
            through the gateway (two subgraph calls), against the hub-only part directly;

and prints one JSON object: p50/p95/mean in milliseconds per path, and what the gateway adds
at p50. Every response must have data and no errors. Stops everything it started.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.auth import issue  # noqa: E402
from server.settings import load_settings  # noqa: E402
from tests.federation.stack import missing_node_tooling, supergraph  # noqa: E402

JWT_SECRET = "benchmark-only-jwt-secret-0123456789abcdef"
COUNTY = "341126"
QUERIES = {
    "region": """{ region(code: "341126") { code name fullName
        children(first: 15) { edges { node { code name level } } } } }""",
    "joined": '{ region(code: "341126101") { code name fullName population } }',
    "joined_hub_part": '{ region(code: "341126101") { code name fullName } }',
}


def timed(client: httpx.Client, url: str, query: str, bearer: str) -> float:
    started = time.perf_counter()
    response = client.post(
        url, json={"query": query}, headers={"authorization": f"Bearer {bearer}"}
    )
    elapsed = (time.perf_counter() - started) * 1000
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or "errors" in body or not body.get("data"):
        raise RuntimeError(f"{url} answered {response.status_code}: {body}")
    return elapsed


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def node_version() -> str:
    result = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per path (default 300)")
    parser.add_argument("--warmup", type=int, default=50, help="per path (default 50)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench")
    args = parser.parse_args()
    missing = missing_node_tooling()
    if missing:
        print(missing, file=sys.stderr)
        return 2

    settings = load_settings({"HUB_JWT_SECRET": JWT_SECRET, "HUB_DATA_DIR": str(args.data_dir)})
    bearer = issue(settings, "bench", [COUNTY], ["viewer"])
    hub_env: dict[str, str | None] = {
        "HUB_DATA_DIR": str(args.data_dir.resolve()),
        "HUB_ENV": "development",
        "HUB_DATABASE_URL": None,  # the embedded PostgreSQL in the data folder
        "DATABASE_URL": None,
        "HUB_RUNTIME_DATABASE_URL": None,
    }
    paths = {
        "region_direct": ("hub", "region"),
        "region_gateway": ("gateway", "region"),
        "joined_hub_part_direct": ("hub", "joined_hub_part"),
        "joined_gateway": ("gateway", "joined"),
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    with (
        tempfile.TemporaryDirectory(prefix="gateway-latency-") as logs,
        supergraph(Path(logs), hub_env, JWT_SECRET, demo=True) as graph,
        httpx.Client(timeout=10.0) as client,
    ):
        urls = {"hub": graph.hub_url, "gateway": graph.gateway_url}
        for round_ in range(args.warmup + args.requests):
            for name, (target, query) in paths.items():
                elapsed = timed(client, urls[target], QUERIES[query], bearer)
                if round_ >= args.warmup:
                    samples[name].append(elapsed)

    figures = {name: summary(values) for name, values in samples.items()}
    added = {
        "region_p50_ms": round(
            figures["region_gateway"]["p50_ms"] - figures["region_direct"]["p50_ms"], 2
        ),
        "joined_p50_ms": round(
            figures["joined_gateway"]["p50_ms"] - figures["joined_hub_part_direct"]["p50_ms"], 2
        ),
    }
    print(
        json.dumps(
            {
                "requests_per_path": args.requests,
                "client": "one httpx.Client, keep-alive, sequential, paths interleaved",
                "paths": figures,
                "added_by_gateway": added,
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "node": node_version(),
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
