"""Region figures at national scale: `stats` and `breakdown` latency and throughput over HTTP.

    .venv/bin/python benchmarks/rollup_bench.py --data-dir data/national [--duration S]

Needs a data folder filled by `grassroots db import-divisions ../shared/data/divisions` and
`grassroots db synthesize --scale national` (see benchmarks/README.md). Starts
`grassroots serve` on it (no demo), takes a national viewer token, and measures each query
warm, with one client (p50/p95) and with N concurrent clients (throughput, p95), through
http_bench's load generator. Every response must be HTTP 200 with data and no errors.
Prints one JSON object with the targets of issue #4 beside the figures; issue #20 adds the
quarter and year breakdowns and a compared year, against the province MONTH target.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import http_bench as bench

FIGURES = """{ organizations partyMembers organizationsByKind { key count }
  serviceRequests { total open resolved overdue responseRate resolutionRate satisfactionRate
    averageHoursToResolve byStatus { key count } byCategory { key count } }
  participation { events participants byKind { key count } resolutionsAdopted
    resolutionsImplemented } }"""


def _stats(code: str, start: str | None, end: str | None) -> str:
    period = f'(from: "{start}", to: "{end}")' if start and end else ""
    return f'{{ region(code: "{code}") {{ stats{period} {FIGURES} }} }}'


def _breakdown(code: str, by: str, start: str | None, end: str | None) -> str:
    period = f', from: "{start}", to: "{end}"' if start and end else ""
    return (
        f'{{ region(code: "{code}") {{ breakdown(by: {by}{period}) {{ key label '
        f"stats {FIGURES} }} }} }}"
    )


def _has_stats(data: dict[str, Any]) -> int:
    return 1 if data["region"]["stats"]["serviceRequests"]["total"] > 0 else 0


def _rows(data: dict[str, Any]) -> int:
    return len(data["region"]["breakdown"])


QUERIES: dict[str, dict[str, Any]] = {
    "county_stats": {
        "description": "stats of a county (341126), a period of 200 days",
        "query": _stats("341126", "2026-03-05", "2026-09-20"),
        "rows": _has_stats,
        "expected_rows": 1,
        "target_p50_ms": 20.0,
    },
    "county_stats_all": {
        "description": "stats of a county (341126), no period",
        "query": _stats("341126", None, None),
        "rows": _has_stats,
        "expected_rows": 1,
        "target_p50_ms": 20.0,
    },
    "province_stats": {
        "description": "stats of a province (34), a period of 200 days",
        "query": _stats("34", "2026-03-05", "2026-09-20"),
        "rows": _has_stats,
        "expected_rows": 1,
        "target_p50_ms": 50.0,
    },
    "province_stats_all": {
        "description": "stats of a province (34), no period",
        "query": _stats("34", None, None),
        "rows": _has_stats,
        "expected_rows": 1,
        "target_p50_ms": 50.0,
    },
    "national_child_breakdown": {
        "description": "breakdown(by: CHILD) of the nation: every province, no period",
        "query": _breakdown("100000", "CHILD", None, None),
        "rows": _rows,
        "expected_rows": None,
        "target_p50_ms": 100.0,
    },
    "province_month_breakdown": {
        "description": "breakdown(by: MONTH) of a province (34) over 24 months",
        "query": _breakdown("34", "MONTH", "2024-12-01", "2026-11-30"),
        "rows": _rows,
        "expected_rows": 24,
        "target_p50_ms": 50.0,
    },
    "province_quarter_breakdown": {
        "description": "breakdown(by: QUARTER) of a province (34) over 24 months",
        "query": _breakdown("34", "QUARTER", "2024-12-01", "2026-11-30"),
        "rows": _rows,
        "expected_rows": 9,
        "target_p50_ms": 50.0,
    },
    "province_year_breakdown": {
        "description": "breakdown(by: YEAR) of a province (34) over 24 months",
        "query": _breakdown("34", "YEAR", "2024-12-01", "2026-11-30"),
        "rows": _rows,
        "expected_rows": 3,
        "target_p50_ms": 50.0,
    },
    "national_quarter_breakdown": {
        "description": "breakdown(by: QUARTER) of the nation over 24 months",
        "query": _breakdown("100000", "QUARTER", "2024-12-01", "2026-11-30"),
        "rows": _rows,
        "expected_rows": 9,
        "target_p50_ms": 100.0,
    },
    "province_stats_year_compared": {
        "description": "stats of a province (34) for 2025 with previous and yearAgo",
        "query": '{ region(code: "34") { stats(from: "2025-01-01", to: "2025-12-31") { '
        "serviceRequests { total responseRate } previous { change { serviceRequests "
        "responseRate } } yearAgo { change { serviceRequests responseRate } } } } }",
        "rows": _has_stats,
        "expected_rows": 1,
        "target_p50_ms": 50.0,
    },
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=bench.ROOT / "data" / "national")
    parser.add_argument("--duration", type=float, default=5.0, metavar="S")
    parser.add_argument("--warmup", type=float, default=2.0, metavar="S")
    parser.add_argument("--concurrency", type=int, default=16, metavar="N")
    parser.add_argument("--only", action="append", choices=sorted(QUERIES), metavar="NAME")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir.resolve()
    if not data_dir.is_dir():
        print(f"rollup_bench: no data folder {data_dir}", file=sys.stderr)
        return 1
    bench.QUERIES.clear()
    bench.QUERIES.update({k: v for k, v in QUERIES.items() if not args.only or k in args.only})

    report: dict[str, Any] = {"benchmark": "rollup_bench", "machine": bench.machine()}
    report["machine"]["busy_cores_before_start"] = bench.wait_quiet(args.wait_quiet)
    report["config"] = {
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "concurrency": args.concurrency,
        "jurisdiction": "100000",
        "data_dir": str(data_dir),
    }
    hub = bench.start_hub(data_dir, bench._free_port(), demo=False)
    try:
        hub.wait_ready()
        token = bench.issue_token(data_dir, "100000")
        results: dict[str, Any] = {}
        for name, spec in bench.QUERIES.items():
            entry: dict[str, Any] = {"description": spec["description"]}
            entry |= bench.probe(hub, token, name)
            bench.measure(hub, data_dir, token, name, 1, args.warmup, 1, "raw")
            one = bench.measure(hub, data_dir, token, name, 1, args.duration, 1, "raw")
            many = bench.measure(
                hub, data_dir, token, name, args.concurrency, args.duration, 1, "raw"
            )
            entry["single_client"] = {k: one[k] for k in ("requests", "p50_ms", "p95_ms")}
            entry["concurrent"] = {
                k: many[k] for k in ("clients", "req_per_s", "p50_ms", "p95_ms", "p99_ms")
            }
            entry["cpu_cores_used"] = many["cpu_cores_used"]
            entry["target_p50_ms"] = spec["target_p50_ms"]
            entry["met"] = one["p50_ms"] <= spec["target_p50_ms"]
            results[name] = entry
        report["queries"] = results
        report["memory_after_load"] = bench.memory(hub, data_dir)
    except bench.BenchError as error:
        hub.stop()
        print(f"rollup_bench: FAILED: {error}", file=sys.stderr)
        print(f"(hub log: {hub.log_path})", file=sys.stderr)
        return 1
    except BaseException:
        hub.stop()
        raise
    hub.stop()
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
