"""Can one caller stall the hub? The heaviest allowed requests beside two small probes.

    .venv/bin/python benchmarks/stall_bench.py [--duration S] [--data-dir DIR]
        [--heavy-workers N] [--hub-setting HUB_NAME=VALUE ...]

Starts `grassroots serve --demo` (as `http_bench.py` does, data in ./data/stall), then:

1. `idle`: samples `GET /healthz` and a one-region query (`PROBE`) every 50 ms each, with
   nothing else running: their p50/p95/p99;
2. `loaded`: runs the four heaviest requests the limits allow (`HEAVY`, each just under the
   cost limit, or a whole-county spreadsheet export) back to back, one client each, in a
   separate process, while the same probes are sampled: their p50/p95/p99, and per heavy
   request its runs, mean seconds and HTTP statuses;
3. `hostile`: times each hostile request of issue #13 (`HOSTILE`), which must be refused —
   the status and `extensions.code`/`reason` are printed beside the milliseconds.

Prints one JSON object; `cpu_cores_used` says how busy the machine was (other work skews
every figure). Targets: probes p99 ≤ 250 ms while loaded; every hostile request refused in
≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from http_bench import (
    ROOT,
    CpuSampler,
    RawConnection,
    _free_port,
    _percentile,
    issue_token,
    start_hub,
)

DEFAULT_DATA_DIR = ROOT / "data" / "stall"
COUNTY = "341126"
TOWNSHIP = "341126101"
PROBE = '{ region(code: "341126101") { code name fullName level } }'
SAMPLE_EVERY = 0.05

FIGURES = """organizations partyMembers
  serviceRequests { total open resolved overdue responseRate resolutionRate satisfactionRate
    averageHoursToResolve byStatus { key count } byCategory { key count } }
  participation { events participants byKind { key count } }"""

REQUEST_FIELDS = """id reference title description status category channel submittedAt
  firstRespondedAt acceptedAt resolvedAt closedAt satisfaction region { code name }
  handledBy { name } history { at }"""

# Each just under the cost limit (tests/limits/test_budget.py keeps them so).
HEAVY_QUERIES: dict[str, str] = {
    # 4 × (500 + 500 × 20 history entries) = 42,000
    "requests_4x500_with_history": "{ "
    + " ".join(
        f'p{i}: serviceRequests(under: "{COUNTY}", first: 500, after: null) '
        f"{{ edges {{ node {{ {REQUEST_FIELDS} }} }} }}"
        for i in range(4)
    )
    + " }",
    # 40 townships × 120 months × weight 10 + 40 = 48,040
    "monthly_breakdown_of_40_children": f"""{{ region(code: "{COUNTY}") {{
      children(first: 40) {{ edges {{ node {{ code
        breakdown(by: MONTH, from: "2016-12-01", to: "2026-11-30") {{ key month
          stats {{ {FIGURES} }} }} }} }} }} }} }}""",
    # 250 villages × 196 requests + 250 = 49,250 (filled in with the villages' ids)
    "nodes_250_villages_x196": """query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Region {
      code serviceRequests(first: 196) { edges { node { id reference title status
        submittedAt } } } } } }""",
}
HEAVY_EXPORT = ("service_requests_xlsx", f"/exports/service-requests.xlsx?under={COUNTY}")

VILLAGE_IDS = f"""{{ region(code: "{COUNTY}") {{ children(first: 60) {{ edges {{ node {{
  children(first: 200) {{ edges {{ node {{ id }} }} }} }} }} }} }} }}"""

HOSTILE: dict[str, tuple[str, dict[str, Any]]] = {
    "breakdown_month_0001_9999": (
        f'{{ region(code: "{TOWNSHIP}") {{ breakdown(by: MONTH, from: "0001-01-01", '
        'to: "9999-12-31") { key } } }',
        {},
    ),
    "variable_default_first_500": (
        "query ($f: Int = 500) { regions(first: $f) { edges { node { "
        "serviceRequests(first: $f) { edges { node { id title } } } } } } }",
        {},
    ),
    "variable_default_first_500_x5_aliases": (
        "query ($f: Int = 500) { "
        + " ".join(
            f"a{i}: regions(first: $f) {{ edges {{ node {{ "
            "serviceRequests(first: $f) { edges { node { id title } } } } } }"
            for i in range(5)
        )
        + " }",
        {},
    ),
    "nodes_269_ids_x500": (
        "query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Region { "
        "serviceRequests(first: 500) { edges { node { id } } } } } }",
        {"ids": [f"id{i}" for i in range(269)]},
    ),
    "nul_in_idempotency_key": (
        'mutation ($k: String) { closeServiceRequest(id: "x", idempotencyKey: $k) { id } }',
        {"k": "a\u0000b"},
    ),
}
HOSTILE_EXPORT = (
    "breakdown_xlsx_0001_9999",
    f"/exports/breakdown.xlsx?under={TOWNSHIP}&by=MONTH&from=0001-01-01&to=9999-12-31",
)


def _stats(latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "samples": len(ordered),
        **{f"p{q}_ms": round(_percentile(ordered, q / 100) * 1000, 1) for q in (50, 95, 99)},
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
    }


def _post(host: str, port: int, token: str, query: str) -> bytes:
    body = json.dumps({"query": query}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _probe(request: bytes, port: int, until: float) -> list[float]:
    """One keep-alive connection sending `request` every SAMPLE_EVERY seconds."""
    connection = RawConnection("127.0.0.1", port, request)
    await connection.open()
    latencies: list[float] = []
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            status, content = await connection.send()
            latencies.append(time.perf_counter() - started)
            if status != 200 or b'"errors"' in content:
                raise RuntimeError(f"a probe failed: {status} {content[:300]!r}")
            await asyncio.sleep(max(0.0, SAMPLE_EVERY - (time.perf_counter() - started)))
    finally:
        await connection.close()
    return latencies


async def probes(port: int, token: str, seconds: float) -> dict[str, Any]:
    until = time.perf_counter() + seconds
    health = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    healthz, region = await asyncio.gather(
        _probe(health, port, until), _probe(_post("127.0.0.1", port, token, PROBE), port, until)
    )
    return {"healthz": _stats(healthz), "one_region": _stats(region)}


async def _heavy_loop(
    http: httpx.AsyncClient, name: str, send: Any, until: float
) -> tuple[str, dict[str, Any]]:
    seconds: list[float] = []
    statuses: dict[str, int] = {}
    sizes: list[int] = []
    while time.perf_counter() < until:
        started = time.perf_counter()
        response = await send(http)
        seconds.append(time.perf_counter() - started)
        key = str(response.status_code)
        if response.status_code == 200 and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            errors = response.json().get("errors")
            key = "200 " + errors[0]["extensions"].get("code", "?") if errors else "200 ok"
        statuses[key] = statuses.get(key, 0) + 1
        sizes.append(len(response.content))
    return name, {
        "runs": len(seconds),
        "mean_s": round(sum(seconds) / max(len(seconds), 1), 2),
        "max_s": round(max(seconds, default=0), 2),
        "response_kb": round(sum(sizes) / max(len(sizes), 1) / 1024),
        "statuses": statuses,
    }


async def _heavy(url: str, token: str, ids: list[str], seconds: float) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    until = time.perf_counter() + seconds

    def graphql(query: str, variables: dict[str, Any] | None) -> Any:
        return lambda http: http.post("/graphql", json={"query": query, "variables": variables})

    sends = {
        name: graphql(query, {"ids": ids} if "$ids" in query else None)
        for name, query in HEAVY_QUERIES.items()
    }
    sends[HEAVY_EXPORT[0]] = lambda http: http.get(HEAVY_EXPORT[1])
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120.0) as http:
        done = await asyncio.gather(
            *(_heavy_loop(http, name, send, until) for name, send in sends.items())
        )
    return dict(done)


def _heavy_in_process(url: str, token: str, ids: list[str], seconds: float) -> None:
    result = asyncio.run(_heavy(url, token, ids, seconds))
    Path(os.environ["STALL_BENCH_OUT"]).write_text(json.dumps(result))


async def hostile(url: str, token: str) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    found: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60.0) as http:
        for name, (query, variables) in HOSTILE.items():
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                response = await http.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
                best = min(best, time.perf_counter() - started)
            error = (response.json().get("errors") or [{}])[0].get("extensions", {})
            found[name] = {
                "ms": round(best * 1000, 1),
                "status": response.status_code,
                "code": error.get("code"),
                "reason": error.get("reason"),
                "sql_statements": response.headers.get("x-sql-statements"),
            }
        name, path = HOSTILE_EXPORT
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            response = await http.get(path)
            best = min(best, time.perf_counter() - started)
        error = (response.json().get("errors") or [{}])[0].get("extensions", {})
        found[name] = {
            "ms": round(best * 1000, 1),
            "status": response.status_code,
            "code": error.get("code"),
            "reason": error.get("reason"),
        }
    return found


def village_ids(url: str, token: str) -> list[str]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": VILLAGE_IDS},
        headers={"authorization": f"Bearer {token}"},
        timeout=60.0,
    )
    townships = response.json()["data"]["region"]["children"]["edges"]
    return [v["node"]["id"] for t in townships for v in t["node"]["children"]["edges"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, metavar="S")
    parser.add_argument("--idle", type=float, default=5.0, metavar="S")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--heavy-workers",
        type=int,
        default=None,
        metavar="N",
        help="HUB_HEAVY_WORKERS for the hub (0: heavy queries in the serving process)",
    )
    parser.add_argument(
        "--hub-setting",
        action="append",
        default=[],
        metavar="HUB_NAME=VALUE",
        help="another setting for the hub (repeatable), e.g. HUB_HEAVY_NICENESS=0",
    )
    args = parser.parse_args(argv)
    env = {} if args.heavy_workers is None else {"HUB_HEAVY_WORKERS": str(args.heavy_workers)}
    env |= dict(setting.split("=", 1) for setting in args.hub_setting)
    hub = start_hub(args.data_dir, _free_port(), env=env)
    report: dict[str, Any] = {
        "hub_settings": env,
        "load_average_before": os.getloadavg(),
    }
    try:
        hub.wait_ready()
        token = issue_token(args.data_dir)
        ids = village_ids(hub.url, token)
        report["villages"] = len(ids)
        report["hostile_refused"] = asyncio.run(hostile(hub.url, token))
        report["idle"] = asyncio.run(probes(hub.port, token, args.idle))
        out = args.data_dir.parent / "stall-heavy.json"
        os.environ["STALL_BENCH_OUT"] = str(out)
        heavy = multiprocessing.get_context("spawn").Process(
            target=_heavy_in_process, args=(hub.url, token, ids, args.duration + 2.0)
        )
        heavy.start()
        time.sleep(2.0)  # let every heavy request be running
        sampler = CpuSampler(hub.process.pid, args.data_dir, time.time(), args.duration)
        sampler.start()
        report["loaded"] = asyncio.run(probes(hub.port, token, args.duration))
        sampler.join()
        heavy.join()
        report["heavy"] = json.loads(out.read_text())
        report["cpu_cores_used"] = {k: round(v, 2) for k, v in sampler.result.items()}
        report["hub_rss_mb"] = round(psutil.Process(hub.process.pid).memory_info().rss / 2**20)
        report["load_average_after"] = os.getloadavg()
    finally:
        hub.stop()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
