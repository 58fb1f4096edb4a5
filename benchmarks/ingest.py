"""Ingestion throughput: batches of 10,000 new service requests through `grassroots ingest`.

    .venv/bin/python benchmarks/ingest.py [--batches N] [--size N] [--no-demo]

The script starts its own embedded PostgreSQL (durable, as in production) in a temporary
folder, migrates it, imports the demo county 341126 and seeds its demo records (so the tables
and their indexes hold 30,000 requests already; `--no-demo` skips that), and registers a
source for the county. It then makes consistent requests in mixed statuses, with the demo's
own lifecycle generator, in the county's villages, writes each batch as a JSON Lines file,
and ingests it:

- `cli_path`: N batches through `server.cli.ingest_as` — the code `grassroots ingest` runs
  after reading the file: token check, parsing and validation, the one `ingest_batch` call
  and the commit — timed in this process; plus the same file sent again (all unchanged);
- `cli_process`: one more batch through the real command in a subprocess, wall clock, which
  adds Python's start-up, imports and the migration check to the same work.

It prints the figures as JSON and stops the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db import demo, divisions, embedded  # noqa: E402
from db.pool import create_pool  # noqa: E402
from db.roles import ensure_owner_and_database  # noqa: E402
from db.setup import migrate_and_grant, start_embedded  # noqa: E402
from resolvers.ingest_formats import read_batch  # noqa: E402
from server.auth import issue  # noqa: E402
from server.cli import ingest_as  # noqa: E402
from server.settings import load_settings  # noqa: E402

COUNTY = "341126"
SOURCE = "bench-county-system"
TARGET_PER_SECOND = 10_000
SECRET = "benchmark-secret-that-is-long-enough-for-hs256"
COLUMN = {name: i for i, name in enumerate(demo.REQUEST_COLUMNS)}


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


async def _village_requests(owner_dsn: str, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` consistent requests raised in the county's villages, as ingestion records."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        county = await demo._load_county(conn, COUNTY)
    finally:
        await conn.close()
    handlers = demo.build_organizations(random.Random(f"{seed}:organizations"), county)
    rows = []
    batch = 0
    while len(rows) < count:
        generated = demo.Requests(random.Random(f"{seed}:{batch}:requests"), county, handlers)
        rows += [row for row in generated.rows() if len(str(row[COLUMN["region_code"]])) == 12]
        batch += 1
    # A sample across the demo's whole year, so that every status is there: the newest
    # requests are still open, the oldest mostly closed.
    rows = random.Random(seed).sample(rows, count)
    records: list[dict[str, Any]] = []
    for row in rows:
        region, handling = row[COLUMN["region_code"]], row[COLUMN["handling_region_code"]]
        record = {
            "type": "serviceRequest",
            "externalId": f"{seed}-{len(records):06d}",
            "regionCode": region,
            "category": row[COLUMN["category"]],
            "channel": row[COLUMN["channel"]],
            "status": row[COLUMN["status"]],
            "title": row[COLUMN["title"]],
            "description": row[COLUMN["description"]],
            "requesterName": row[COLUMN["requester_name"]],
            "requesterPhone": row[COLUMN["requester_phone"]],
            "submittedAt": _iso(row[COLUMN["submitted_at"]]),
            "firstRespondedAt": _iso(row[COLUMN["first_responded_at"]]),
            "acceptedAt": _iso(row[COLUMN["accepted_at"]]),
            "dueAt": _iso(row[COLUMN["due_at"]]),
            "resolvedAt": _iso(row[COLUMN["resolved_at"]]),
            "closedAt": _iso(row[COLUMN["closed_at"]]),
            "satisfaction": row[COLUMN["satisfaction"]],
            "escalatedTo": handling if handling != region else None,
        }
        records.append({k: v for k, v in record.items() if v is not None})
    return records


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


async def _prepare(folder: Path, with_demo: bool) -> tuple[Any, dict[str, Any]]:
    db = start_embedded(folder, durable=True)
    assert db.server is not None
    credentials = db.server.credentials
    superuser = await asyncpg.connect(db.server.superuser_dsn())
    try:
        await ensure_owner_and_database(
            superuser, embedded.OWNER, credentials.owner, embedded.DATABASE
        )
    finally:
        await superuser.close()
    await migrate_and_grant(db.owner_dsn, (embedded.RUNTIME, credentials.runtime))
    owner = await asyncpg.connect(db.owner_dsn)
    try:
        await divisions.import_divisions(owner, divisions.DEMO_DIVISIONS)
        if with_demo:
            await demo.seed_demo(owner)
        await owner.execute("select register_source($1, $2)", SOURCE, COUNTY)
        # Settled, as a database in use is: autovacuum would otherwise visit the freshly
        # seeded tables during the first batches.
        await owner.execute("vacuum analyze")
        facts = {
            "postgresql": await owner.fetchval("show server_version"),
            "requests_before": await owner.fetchval("select count(*) from service_request"),
        }
    finally:
        await owner.close()
    return db, facts


FLOOR_COLUMNS = (
    "reference", "region_code", "handling_region_code", "category", "channel", "status",
    "title", "description", "requester_name", "requester_phone", "submitted_at",
    "first_responded_at", "accepted_at", "due_at", "resolved_at", "closed_at", "satisfaction",
    "history", "version", "source", "external_id",
)  # fmt: skip


# The change trigger as it was before the change log (migration 0003): one notification
# per changed id. Installed only inside a rolled-back transaction, for comparison.
NOTIFY_IDS = """create or replace function notify_service_request_changes() returns trigger
    language plpgsql
as $$
begin
    perform pg_notify('service_request_changed', c.id::text) from changed c;
    return null;
end
$$"""


async def _table_write_floor(owner_dsn: str, lines: str, *, notify_ids: bool = False) -> float:
    """Seconds to COPY the same requests straight into service_request as its owner (so with
    its triggers, foreign keys and indexes, but no checks, numbering or parsing), rolled back:
    the least any way of writing them could take. With `notify_ids`, the change trigger
    notifies ids as it did before the change log, instead of logging the changes."""

    def at(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    rows = []
    for n, line in enumerate(lines.splitlines()):
        r = json.loads(line)
        times = [at(r.get(k)) for k in ("submittedAt", "firstRespondedAt", "acceptedAt")]
        times += [at(r.get(k)) for k in ("dueAt", "resolvedAt", "closedAt")]
        rows.append(
            (
                f"{r['regionCode']}-floor-{n:06d}",
                r["regionCode"],
                r.get("escalatedTo", r["regionCode"]),
                r["category"],
                r["channel"],
                r["status"],
                r["title"],
                r.get("description"),
                r.get("requesterName"),
                r.get("requesterPhone"),
                *times,
                r.get("satisfaction"),
                "[]",
                1,
                "floor",
                r["externalId"],
            )
        )
    conn = await asyncpg.connect(owner_dsn)
    try:
        transaction = conn.transaction()
        await transaction.start()
        if notify_ids:
            await conn.execute(NOTIFY_IDS)
        started = time.perf_counter()
        await conn.copy_records_to_table("service_request", records=rows, columns=FLOOR_COLUMNS)
        seconds = time.perf_counter() - started
        await transaction.rollback()
    finally:
        await conn.close()
    return seconds


def _rate(records: int, seconds: float) -> int:
    return round(records / seconds)


async def run(folder: Path, batches: int, size: int, with_demo: bool) -> dict[str, Any]:
    db, facts = await _prepare(folder, with_demo)
    try:
        settings = load_settings(
            {
                "HUB_ENV": "development",
                "HUB_JWT_SECRET": SECRET,
                "HUB_DATA_DIR": str(folder / "hub"),
                "HUB_DATABASE_URL": db.owner_dsn,
                "HUB_RUNTIME_DATABASE_URL": db.runtime_dsn,
            }
        )
        token = issue(settings, "bench", [COUNTY], ["viewer", "editor"], ttl=3600)
        files = []
        for n in range(batches + 2):
            path = folder / f"batch-{n}.jsonl"
            records = await _village_requests(db.owner_dsn, size, seed=1000 + n)
            path.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8"
            )
            files.append(path)
        statuses: dict[str, int] = {}
        for line in files[0].read_text("utf-8").splitlines():
            status = json.loads(line)["status"]
            statuses[status] = statuses.get(status, 0) + 1

        pool = await create_pool(db.runtime_dsn, min_size=1, max_size=2)
        timings: list[float] = []
        try:
            for path in files[:batches]:
                data = path.read_text("utf-8")
                started = time.perf_counter()
                code, output = await ingest_as(pool, settings, token, SOURCE, "jsonl", data)
                timings.append(time.perf_counter() - started)
                assert code == 0 and output["created"] == size, output
            data = files[0].read_text("utf-8")
            started = time.perf_counter()
            read_batch("jsonl", data)
            parse_seconds = time.perf_counter() - started
            started = time.perf_counter()
            code, output = await ingest_as(pool, settings, token, SOURCE, "jsonl", data)
            resend_seconds = time.perf_counter() - started
            assert code == 0 and output["unchanged"] == size, output
        finally:
            await pool.close()

        env = {
            **os.environ,
            "HUB_ENV": "development",
            "HUB_JWT_SECRET": SECRET,
            "HUB_DATABASE_URL": db.owner_dsn,
            "HUB_RUNTIME_DATABASE_URL": db.runtime_dsn,
        }
        floor_seconds = await _table_write_floor(db.owner_dsn, files[-1].read_text("utf-8"))
        # What the change log costs a batch: the same COPY, alternately with the trigger of
        # before (ids notified) and of now (changes logged, one empty notification).
        logged_seconds: list[float] = []
        notified_seconds: list[float] = []
        for _ in range(3):
            lines = files[-1].read_text("utf-8")
            notified_seconds.append(await _table_write_floor(db.owner_dsn, lines, notify_ids=True))
            logged_seconds.append(await _table_write_floor(db.owner_dsn, lines))
        command = [sys.executable, "-m", "server.cli", "ingest", str(files[-2])]
        started = time.perf_counter()
        done = await asyncio.to_thread(
            subprocess.run,
            [*command, "--token", token, "--source", SOURCE],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        process_seconds = time.perf_counter() - started
        assert done.returncode == 0, done.stderr + done.stdout
        assert json.loads(done.stdout)["created"] == size
    finally:
        db.stop()

    best, median = min(timings), statistics.median(timings)
    return {
        "records_per_batch": size,
        "statuses_in_first_batch": dict(sorted(statuses.items())),
        "cli_path": {
            "seconds_per_batch": [round(t, 3) for t in timings],
            "median_records_per_second": _rate(size, median),
            "best_records_per_second": _rate(size, best),
            "meets_target": _rate(size, median) >= TARGET_PER_SECOND,
            "of_which_reading_and_checking_seconds": round(parse_seconds, 3),
            "resend_unchanged_seconds": round(resend_seconds, 3),
            "resend_unchanged_records_per_second": _rate(size, resend_seconds),
        },
        "cli_process": {
            "command": "grassroots ingest FILE --token T --source S",
            "wall_seconds": round(process_seconds, 3),
            "records_per_second": _rate(size, process_seconds),
        },
        "table_write_floor": {
            "what": "COPY of the same requests into service_request as its owner: its "
            "triggers, foreign keys and indexes, no parsing or checks; rolled back",
            "seconds": round(floor_seconds, 3),
            "records_per_second": _rate(size, floor_seconds),
        },
        "change_log_cost": {
            "what": "the same COPY, three times each, alternately with the change trigger of "
            "before (one notification per id) and of now (changes logged in change_log, "
            "one empty notification); rolled back",
            "ids_notified_seconds": [round(x, 3) for x in notified_seconds],
            "changes_logged_seconds": [round(x, 3) for x in logged_seconds],
            "median_extra_seconds": round(
                statistics.median(logged_seconds) - statistics.median(notified_seconds), 3
            ),
        },
        "target_records_per_second": TARGET_PER_SECOND,
        "requests_in_table_before": facts["requests_before"],
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "memory_gib": _memory_gib(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgresql": facts["postgresql"],
            "load_average": [round(load, 2) for load in os.getloadavg()],
        },
    }


def main(argv: list[str]) -> int:
    args = argv[1:]
    batches, size, with_demo = 3, 10_000, "--no-demo" not in args
    if "--batches" in args:
        batches = int(args[args.index("--batches") + 1])
    if "--size" in args:
        size = int(args[args.index("--size") + 1])
    with tempfile.TemporaryDirectory(prefix="hub-bench-ingest-") as folder:
        result = asyncio.run(run(Path(folder), batches, size, with_demo))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
