"""How long a BI tool waits for each reporting view, as a reporting login over TCP.

    .venv/bin/python benchmarks/reporting_views.py [--runs N]

The script starts its own embedded PostgreSQL (durable, listening on a free loopback port)
in a temporary folder, migrates it, imports the demo county 341126 and seeds its records,
grants a reporting login for the county, and reads every view in full over TCP with the
login's password, N times (default 5) after one warm-up read. It prints, per view, the rows
and the median and slowest wall-clock milliseconds of a full read, as JSON, and stops the
server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db import demo, divisions, embedded, reporting  # noqa: E402
from db.roles import ensure_owner_and_database  # noqa: E402
from db.setup import migrate_and_grant, start_embedded  # noqa: E402

COUNTY = "341126"
LOGIN = "bench_bi"
VIEWS = (
    "regions",
    "organizations",
    "service_requests",
    "participation_events",
    "resolutions",
    "daily_figures",
    "monthly_figures",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _measure(folder: Path, runs: int) -> dict[str, Any]:
    port = _free_port()
    db = start_embedded(folder, durable=True, listen=f"127.0.0.1:{port}")
    assert db.server is not None
    try:
        superuser = await asyncpg.connect(db.server.superuser_dsn())
        try:
            await ensure_owner_and_database(
                superuser, embedded.OWNER, db.server.credentials.owner, embedded.DATABASE
            )
        finally:
            await superuser.close()
        await migrate_and_grant(db.owner_dsn, (embedded.RUNTIME, db.server.credentials.runtime))
        owner = await asyncpg.connect(db.owner_dsn)
        try:
            await divisions.import_divisions(owner, divisions.DEMO_DIVISIONS)
            await demo.seed_demo(owner)
            await owner.execute("vacuum analyze")
            password = reporting.new_password()
            await reporting.grant(owner, LOGIN, [COUNTY], password)
            version = await owner.fetchval("show server_version")
        finally:
            await owner.close()
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=port,
            user=LOGIN,
            password=password,
            database=embedded.DATABASE,
            ssl=False,
        )
        figures: dict[str, Any] = {}
        try:
            for view in VIEWS:
                sql = f"select * from reporting.{view}"
                rows = len(await conn.fetch(sql))
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    await conn.fetch(sql)
                    times.append((time.perf_counter() - started) * 1000)
                figures[view] = {
                    "rows": rows,
                    "median_ms": round(statistics.median(times), 1),
                    "max_ms": round(max(times), 1),
                }
        finally:
            await conn.close()
        return {
            "postgresql": version,
            "python": platform.python_version(),
            "scope": COUNTY,
            "runs": runs,
            "views": figures,
        }
    finally:
        db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-reporting-") as folder:
        result = asyncio.run(_measure(Path(folder), args.runs))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
