"""What masking costs per row: the masking functions over every service request of the demo
county, against reading the same columns in clear, and against the rule before migration 0012.

    .venv/bin/python benchmarks/masking.py [--runs N]

The script starts its own embedded PostgreSQL in a temporary folder, migrates it, imports
the demo county 341126 and seeds its records, then times each statement N times (default 7,
after one warm-up) in one connection as the owner, and prints per statement the rows, the
median milliseconds and the microseconds per row beyond the clear read, as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db import demo, divisions, embedded  # noqa: E402
from db.roles import ensure_owner_and_database  # noqa: E402
from db.setup import migrate_and_grant, start_embedded  # noqa: E402

# The free-text rule of 0001_init.sql, for comparison.
OLD_MASK_TEXT = r"""
create function pg_temp.old_mask_text(t text) returns text language sql immutable as $$
    select regexp_replace(
        regexp_replace(t,
            '(?<![0-9])([1-9][0-9]{2})[0-9]{11}([0-9]{3}[0-9Xx])(?![0-9Xx])',
            '\1***********\2', 'g'),
        '(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])', '\1****\2', 'g')
$$
"""

STATEMENTS = {
    "clear: title, description, requester name and phone": (
        "select count(length(title || coalesce(description, '') || coalesce(requester_name, '')"
        " || coalesce(requester_phone, ''))) from service_request"
    ),
    "masked (0012): the same four columns": (
        "select count(length(mask_text(title) || coalesce(mask_text(description), '')"
        " || coalesce(mask_name(requester_name), '') || coalesce(mask_phone(requester_phone), '')))"
        " from service_request"
    ),
    "masked (0001 rule): the same four columns": (
        "select count(length(pg_temp.old_mask_text(title)"
        " || coalesce(pg_temp.old_mask_text(description), '')"
        " || coalesce(mask_name(requester_name), '') || coalesce(mask_phone(requester_phone), '')))"
        " from service_request"
    ),
    "clear: history": "select count(length(history::text)) from service_request",
    "masked: history (mask_history)": (
        "select count(length(mask_history(history)::text)) from service_request"
    ),
    "clear: audit documents": "select count(length(to_jsonb(t)::text)) from service_request t",
    "masked: audit documents (mask_json)": (
        "select count(length(mask_json(to_jsonb(t) - 'history')::text)) from service_request t"
    ),
}
BASELINES = {
    "masked (0012): the same four columns": "clear: title, description, requester name and phone",
    "masked (0001 rule): the same four columns": (
        "clear: title, description, requester name and phone"
    ),
    "masked: history (mask_history)": "clear: history",
    "masked: audit documents (mask_json)": "clear: audit documents",
}


async def _measure(folder: Path, runs: int) -> dict[str, Any]:
    db = start_embedded(folder, durable=False)
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
            await owner.execute(OLD_MASK_TEXT)
            rows = int(await owner.fetchval("select count(*) from service_request"))
            medians: dict[str, float] = {}
            for name, sql in STATEMENTS.items():
                await owner.fetchval(sql)
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    await owner.fetchval(sql)
                    times.append((time.perf_counter() - started) * 1000)
                medians[name] = statistics.median(times)
            version = await owner.fetchval("show server_version")
        finally:
            await owner.close()
    finally:
        db.stop()
    figures = {
        name: {
            "median_ms": round(ms, 1),
            **(
                {"us_per_row_added": round((ms - medians[BASELINES[name]]) * 1000 / rows, 2)}
                if name in BASELINES
                else {}
            ),
        }
        for name, ms in medians.items()
    }
    return {
        "postgresql": version,
        "python": platform.python_version(),
        "rows": rows,
        "runs": runs,
        "statements": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-masking-") as folder:
        result = asyncio.run(_measure(Path(folder), args.runs))
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
