"""Writing the demo: one transaction of COPYs per county, skipped when it is already seeded."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from db.demo.anchor import Shift, anchor_day
from db.demo.columns import (
    COUNTER_COLUMNS,
    EVENT_COLUMNS,
    ORGANIZATION_COLUMNS,
    REQUEST_COLUMNS,
    RESOLUTION_COLUMNS,
    Row,
)
from db.demo.events import build_participation
from db.demo.organizations import build_organizations
from db.demo.regions import County, _load_county
from db.demo.service_requests import Requests

SELECT_SEEDED = """
select exists (select 1 from organization where region_code >= $1 and region_code < $1 || ':')
"""
UNMOVED = Shift(0)
LOCK_SEEDING = "select pg_advisory_xact_lock(7311020261)"
ANALYZE_TABLES = (
    "analyze organization, service_request, reference_counter, participation_event, resolution"
)


@dataclass(frozen=True)
class DemoReport:
    organizations: int = 0
    service_requests: int = 0
    reference_counters: int = 0
    participation_events: int = 0
    resolutions: int = 0


def _stream(seed: int, county: County, name: str) -> random.Random:
    # One stream per county and section: counties seeded alike get distinct ids, and changing
    # one section's data leaves the others' ids alone.
    return random.Random(f"{seed}:{county.county.code}:{name}")


async def _copy(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Row],
    shift: Shift = UNMOVED,
) -> int:
    """COPY rows as they are made, so the server works while Python builds the next ones;
    `shift` moves them from `ANCHOR` to the stored anchor day."""
    count = 0

    async def each() -> AsyncIterator[Row]:
        nonlocal count
        for row in shift.rows(columns, rows):
            count += 1
            yield row

    await conn.copy_records_to_table(table, records=each(), columns=list(columns))
    return count


async def _write(conn: asyncpg.Connection, county: County, seed: int, shift: Shift) -> DemoReport:
    directory = build_organizations(_stream(seed, county, "organizations"), county)
    organizations = await _copy(
        conn,
        "organization",
        ORGANIZATION_COLUMNS,
        (org.record() for org in directory.organizations),
        shift,
    )
    requests = Requests(_stream(seed, county, "requests"), county, directory)
    service_requests = await _copy(conn, "service_request", REQUEST_COLUMNS, requests.rows(), shift)
    counters = await _copy(conn, "reference_counter", COUNTER_COLUMNS, requests.counter_rows())
    participation = _stream(seed, county, "participation")
    events, resolutions = build_participation(participation, county, directory)
    return DemoReport(
        organizations=organizations,
        service_requests=service_requests,
        reference_counters=counters,
        participation_events=await _copy(conn, "participation_event", EVENT_COLUMNS, events, shift),
        resolutions=await _copy(conn, "resolution", RESOLUTION_COLUMNS, resolutions, shift),
    )


async def seed_demo(
    conn: asyncpg.Connection, county_code: str = "341126", seed: int = 20261128
) -> DemoReport:
    """Seed the demo under `county_code` once; a county that has organizations is left alone.
    The records are laid out relative to the database's anchor day (db/demo/anchor.py): the
    one clock's today when the demo is first seeded, kept for later seeding.

    `conn` is the owner's login (row-level security does not apply to it), with asyncpg's
    default json codecs: the rows go in by binary COPY, which a text-format jsonb codec such as
    `db.pool.connect` installs cannot encode.
    """
    async with conn.transaction():
        await conn.execute(LOCK_SEEDING)
        if await conn.fetchval(SELECT_SEEDED, county_code):
            return DemoReport()
        shift = Shift.to(await anchor_day(conn))
        report = await _write(conn, await _load_county(conn, county_code), seed, shift)
    await conn.execute(ANALYZE_TABLES)
    return report
