"""What the access log, the metrics and the rate limiter add to each request, in CPU time.

    .venv/bin/python benchmarks/observability_overhead.py [--requests N] [--rounds R]

Drives the hub's own `ObserveMiddleware` in process, around a stand-in endpoint that answers
at once but reports one named operation with 3 SQL statements as /graphql does, with:

  bare        the endpoint alone;
  middleware  the middleware with the access log and metrics off (request id, timing);
  metrics     plus `Metrics.observe` (counter, two histograms);
  access_log  plus the JSON access-log line (python-json-logger, to a file);
  all         both, as the hub serves by default;
  rate_limit  one `RateLimiter.caller` check alone (the `limits` sliding window in memory).

Each case runs N requests R times; the figure is the median over rounds of CPU time per
request (time.process_time, so other processes on a busy machine skew it far less than wall
time), and `added_us` what the case adds to `bare`. Prints one JSON object. Compare with the
requests' own latency from http_bench.py (`--no-observability` serves without the log and
metrics).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resolvers.scope import Caller, Grant  # noqa: E402
from server.metrics import Metrics  # noqa: E402
from server.observe import ACCESS_LOGGER, ObserveMiddleware, json_handler, observation  # noqa: E402
from server.ratelimit import RateLimiter  # noqa: E402
from server.settings import RateLimits  # noqa: E402

BODY = b'{"data":{"region":{"name":"\\u51e4\\u9633\\u53bf"}}}'


async def endpoint(scope: Any, receive: Any, send: Any) -> None:
    seen = observation(scope)
    seen.subject = "bench"
    seen.operations.append(("CountyName", "ok"))
    seen.statements = 3
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def app_with(metrics: Metrics | None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await endpoint(scope, receive, send)

    app_state = SimpleNamespace(services=SimpleNamespace(metrics=metrics))
    return app, SimpleNamespace(state=app_state)


async def drive(asgi: Any, owner: Any, requests: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    headers = [(b"host", b"hub"), (b"content-type", b"application/json")]
    started = time.process_time()
    for _ in range(requests):
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "headers": headers,
            "app": owner,
        }
        await asgi(scope, receive, send)
    return (time.process_time() - started) / requests * 1e6


async def rate_limit_cost(requests: int) -> float:
    limiter = RateLimiter(RateLimits(county=10**7))
    caller = Caller.from_grants(
        "bench", [Grant("341126", "100000.34.3411.341126", frozenset({"viewer"}))]
    )
    started = time.process_time()
    for _ in range(requests):
        await limiter.caller(caller)
    return (time.process_time() - started) / requests * 1e6


async def run(requests: int, rounds: int, log_file: Path) -> dict[str, Any]:
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.INFO)
    with log_file.open("w", encoding="utf-8") as stream:
        logger.addHandler(json_handler(stream))
        bare, bare_owner = app_with(None)
        with_metrics, metrics_owner = app_with(Metrics())
        cases = {
            "bare": (bare, bare_owner),
            "middleware": (ObserveMiddleware(bare, access=False), bare_owner),
            "metrics": (ObserveMiddleware(with_metrics, access=False), metrics_owner),
            "access_log": (ObserveMiddleware(bare, access=True), bare_owner),
            "all": (ObserveMiddleware(with_metrics, access=True), metrics_owner),
        }
        figures: dict[str, list[float]] = {name: [] for name in cases}
        figures["rate_limit"] = []
        for asgi, owner in cases.values():
            await drive(asgi, owner, requests // 10)  # warm-up
        for _ in range(rounds):
            for name, (asgi, owner) in cases.items():
                figures[name].append(await drive(asgi, owner, requests))
            figures["rate_limit"].append(await rate_limit_cost(requests))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    result: dict[str, Any] = {}
    for name, value in medians.items():
        entry = {"cpu_us_per_request": round(value, 2)}
        if name not in ("bare", "rate_limit"):
            entry["added_us"] = round(value - medians["bare"], 2)
        result[name] = entry
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, metavar="N")
    parser.add_argument("--rounds", type=int, default=5, metavar="R")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hub-observe-") as folder:
        cases = asyncio.run(run(args.requests, args.rounds, Path(folder) / "access.log"))
    report = {
        "benchmark": "observability_overhead",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "config": {"requests": args.requests, "rounds": args.rounds},
        "cases": cases,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
