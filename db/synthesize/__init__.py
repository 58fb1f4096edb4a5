"""Synthetic records over the imported division tree, for benchmarks at national scale.

`synthesize(owner_dsn, "province:34")` fills a subtree (the nation, a province or a county)
with organizations, two years of service requests with their reference counters, and
participation events with their resolutions, then rebuilds the roll-ups. Every row is a
function of region codes (see `db.synthesize.statements`), so the same tree gives the same
rows. The work is set-based: a few `INSERT … SELECT` statements per unit of the tree (a
province at national scale, a city within a province), shared out between connections.

A small load (a county) runs in one transaction with the indexes in place. A bulk load (at
least `BULK_MIN_REQUESTS` requests, and no fewer than the table holds) first drops the
loaded tables' keys, indexes and foreign keys and disables their user triggers, in a
committed transaction, so that several connections can load at once; they are rebuilt
afterwards, also when the load fails. Meanwhile nothing else should write to those tables:
run it with no hub serving the database.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from db import rollups
from db.synthesize import bulk, lists
from db.synthesize.events import INSERT_EVENTS
from db.synthesize.requests import INSERT_REQUESTS
from db.synthesize.statements import (
    CLEAR_UNIT,
    CREATE_HELPERS,
    INSERT_COUNTERS,
    INSERT_PLAN,
    INSERT_REGIONS,
    INSERT_UPPER_ORGANIZATIONS,
    INSERT_VILLAGE_ORGANIZATIONS,
)

ROOT_CODE = "100000"
SCALES = {"province": ("PROVINCE", 2), "county": ("COUNTY", 6)}
BULK_MIN_REQUESTS = 50_000
# Requests a village, township and county raise over the window, on average.
EXPECTED_REQUESTS = {"VILLAGE": 19.0, "TOWNSHIP": 4.3, "COUNTY": 21.5}
WORKERS = 2

LOCK_SYNTHESIS = "select pg_advisory_lock(7311020262)"
UNLOCK_SYNTHESIS = "select pg_advisory_unlock(7311020262)"
SELECT_TARGET = "select code, path::text as path, level::text as level from region where code = $1"
COUNT_LEVELS = """
select level::text as level, count(*) as n from region where path <@ $1::ltree group by level
"""
SELECT_HAS_RECORDS = """
select exists (select from organization where region_code >= $1 and region_code < $1 || ':')
    or exists (select from service_request where region_code >= $1 and region_code < $1 || ':')
    or exists (select from participation_event
               where region_code >= $1 and region_code < $1 || ':')
"""
SELECT_LOW = "select subtree_low($1::ltree)"
TRUNCATE_RECORDS = (
    "truncate resolution, participation_event, service_request, organization, reference_counter"
)
DELETE_RECORDS = (
    "delete from resolution where path <@ $1::ltree",
    "delete from participation_event where path <@ $1::ltree",
    "delete from service_request where path <@ $1::ltree",
)
DELETE_ORGANIZATIONS = "delete from organization where path <@ $1::ltree"
DELETE_COUNTERS = """
delete from reference_counter c using region r where r.code = c.region_code and r.path <@ $1::ltree
"""
COUNT_REQUESTS = "select count(*) from service_request"
# The units a load is shared out by: the target's children above the county level.
SELECT_UNITS = """
select c.path::text as path,
       (select count(*) from region v where v.path <@ c.path and v.level = 'VILLAGE') as villages
from region c
where c.parent_code = $1
order by villages desc, c.code
"""
SESSION_SETTINGS = (
    "SET synchronous_commit = off",
    "SET work_mem = '64MB'",
    "SET jit = off",
    "SET datestyle = 'ISO, YMD'",
)
# Vacuumed, not only analyzed: the visibility map lets the figures' covering indexes answer
# without reading the table.
ANALYZE_TABLES = (
    "vacuum (analyze) organization, service_request, reference_counter, participation_event,"
    " resolution"
)
SELECT_DATABASE_SIZE = "select pg_database_size(current_database())"


class SynthesisError(ValueError):
    """The synthesis was refused; nothing was written."""


@dataclass(frozen=True)
class Target:
    scale: str
    code: str
    path: str
    level: str


@dataclass
class SynthesisReport:
    scale: str
    bulk: bool
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per phase
    # Where the time went: seconds per statement (summed over connections) and per rebuild.
    detail: dict[str, float] = field(default_factory=dict)
    database_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "bulk": self.bulk,
            "rows": self.rows,
            "seconds": self.seconds,
            "detail_seconds": self.detail,
            "database_bytes": self.database_bytes,
        }


class _Clock:
    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._last, 3)
        self._last = now


def parse_scale(scale: str) -> tuple[str, str]:
    """("national", "100000"), ("province", "34") or ("county", "341126")."""
    if scale == "national":
        return scale, ROOT_CODE
    kind, _, code = scale.partition(":")
    if kind not in SCALES or not re.fullmatch(rf"[0-9]{{{SCALES[kind][1]}}}", code):
        raise SynthesisError(
            f"scale {scale!r} is not national, province:CODE (2 digits) or county:CODE (6 digits)"
        )
    return kind, code


async def _target(conn: asyncpg.Connection, scale: str) -> tuple[Target, dict[str, int]]:
    kind, code = parse_scale(scale)
    row = await conn.fetchrow(SELECT_TARGET, code)
    levels: dict[str, int] = {}
    if row is not None:
        levels = {r["level"]: r["n"] for r in await conn.fetch(COUNT_LEVELS, row["path"])}
    if row is None or not levels.get("VILLAGE"):
        raise SynthesisError(
            f"the divisions of {code} are not imported (no villages under it): "
            "run `grassroots db import-divisions DIR` first"
        )
    expected = SCALES.get(kind, ("NATION", 6))[0]
    if row["level"] != expected:
        raise SynthesisError(f"region {code} is a {row['level']}, not a {expected}")
    return Target(scale, code, row["path"], row["level"]), levels


async def _prepare_session(conn: asyncpg.Connection) -> None:
    for statement in (*SESSION_SETTINGS, *CREATE_HELPERS):
        await conn.execute(statement)


@dataclass
class _Tally:
    """Rows inserted per table, and seconds spent per statement (summed over connections)."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

    def time(self, name: str, seconds: float) -> None:
        self.seconds[name] = round(self.seconds.get(name, 0.0) + seconds, 3)

    def merge(self, other: _Tally) -> None:
        for table, n in other.rows.items():
            self.add(table, n)
        for name, seconds in other.seconds.items():
            self.time(name, seconds)


async def _load_unit(conn: asyncpg.Connection, path: str, tally: _Tally) -> None:
    async def run(name: str, statement: str, *args: object) -> int:
        """Runs a statement, timed under `name`; returns the rows it inserted."""
        started = time.perf_counter()
        status: str = await conn.execute(statement, *args)
        tally.time(name, time.perf_counter() - started)
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    await run("regions", CLEAR_UNIT)
    await run("regions", INSERT_REGIONS, path)
    await run("regions", INSERT_PLAN, *lists.plan_parameters())
    people = lists.organization_parameters()
    tally.add("organization", await run("organization", INSERT_UPPER_ORGANIZATIONS, *people))
    tally.add("organization", await run("organization", INSERT_VILLAGE_ORGANIZATIONS, *people))
    tally.add("reference_counter", await run("reference_counter", INSERT_COUNTERS))
    requests = await run("service_request", INSERT_REQUESTS, *lists.request_parameters())
    tally.add("service_request", requests)
    started = time.perf_counter()
    counts = await conn.fetchrow(INSERT_EVENTS, *lists.event_parameters())
    tally.time("participation", time.perf_counter() - started)
    assert counts is not None
    tally.add("participation_event", counts["events"])
    tally.add("resolution", counts["resolutions"])


def _share(units: Sequence[tuple[str, int]], workers: int) -> list[list[str]]:
    """Units (largest first) to the least loaded worker, by villages."""
    shares: list[list[str]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for path, villages in units:
        i = loads.index(min(loads))
        shares[i].append(path)
        loads[i] += villages
    return [share for share in shares if share]


async def _units(conn: asyncpg.Connection, target: Target) -> list[tuple[str, int]]:
    """(path, villages) of the units a load is shared out by, largest first."""
    if target.level in ("NATION", "PROVINCE"):
        return [(r["path"], r["villages"]) for r in await conn.fetch(SELECT_UNITS, target.code)]
    return [(target.path, 0)]


async def _clear(conn: asyncpg.Connection, target: Target) -> None:
    """Delete the subtree's records. Deleting an organization checks every foreign key to it,
    one query per row, and `service_request.handled_by` has no index: those keys are set aside
    and checked again once after (a bulk load has set them aside already)."""
    if target.level == "NATION":
        await conn.execute(TRUNCATE_RECORDS)
        return
    for statement in DELETE_RECORDS:
        await conn.execute(statement, target.path)
    await conn.execute(DELETE_COUNTERS, target.path)
    keys = await bulk.set_aside_references(conn)
    await conn.execute(DELETE_ORGANIZATIONS, target.path)
    await bulk.put_back(conn, keys)


async def _load_share(owner_dsn: str, paths: list[str], tally: _Tally) -> asyncpg.Connection:
    """Loads a worker's units in an open transaction; the caller commits or rolls back."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        await _prepare_session(conn)
        await conn.execute("BEGIN")
        for path in paths:
            await _load_unit(conn, path, tally)
    except BaseException:
        await conn.close()
        raise
    return conn


async def _bulk_load(owner_dsn: str, shares: list[list[str]]) -> _Tally:
    """Each share on its own connection; all commit, or none does."""
    counts = [_Tally() for _ in shares]
    results = await asyncio.gather(
        *(_load_share(owner_dsn, share, c) for share, c in zip(shares, counts, strict=True)),
        return_exceptions=True,
    )
    connections = [r for r in results if isinstance(r, asyncpg.Connection)]
    failure = next((r for r in results if isinstance(r, BaseException)), None)
    try:
        for conn in connections:
            await conn.execute("ROLLBACK" if failure else "COMMIT")
    finally:
        for conn in connections:
            await conn.close()
    if failure is not None:
        raise failure
    total = _Tally()
    for tally in counts:
        total.merge(tally)
    return total


def _expected_requests(levels: dict[str, int]) -> float:
    return sum(levels.get(level, 0) * n for level, n in EXPECTED_REQUESTS.items())


async def synthesize(
    owner_dsn: str,
    scale: str,
    *,
    replace: bool = False,
    bulk_load: bool | None = None,
    workers: int = WORKERS,
) -> SynthesisReport:
    """Fill the subtree of `scale` with synthetic records, as the owner.

    Refuses (`SynthesisError`) when the subtree's divisions are not imported or it already
    holds records, unless `replace`, which deletes them first. `bulk_load` forces the bulk
    path on or off (default: by size).
    """
    conn = await asyncpg.connect(owner_dsn)
    try:
        await conn.execute(LOCK_SYNTHESIS)
        return await _synthesize(conn, owner_dsn, scale, replace, bulk_load, workers)
    finally:
        await conn.close()


async def _synthesize(
    conn: asyncpg.Connection,
    owner_dsn: str,
    scale: str,
    replace: bool,
    bulk_load: bool | None,
    workers: int,
) -> SynthesisReport:
    target, levels = await _target(conn, scale)
    low = await conn.fetchval(SELECT_LOW, target.path)
    if await conn.fetchval(SELECT_HAS_RECORDS, low) and not replace:
        raise SynthesisError(
            f"{target.code} already holds records; pass --replace to delete and synthesize them"
        )
    if bulk_load is None:
        existing = await conn.fetchval(COUNT_REQUESTS)
        expected = _expected_requests(levels)
        bulk_load = expected >= max(BULK_MIN_REQUESTS, existing)
    report = SynthesisReport(scale, bulk_load)
    clock = _Clock(report.seconds)
    units = await _units(conn, target)
    if not bulk_load:
        await _prepare_session(conn)
        async with conn.transaction():
            await conn.execute(bulk.LOCK_TABLES)
            await _clear(conn, target)
            clock.lap("delete")
            await bulk.set_triggers(conn, enabled=False)
            tally = _Tally()
            for path, _ in units:
                await _load_unit(conn, path, tally)
            await bulk.set_triggers(conn, enabled=True)
            report.rows, report.detail = tally.rows, tally.seconds
        clock.lap("load")
    else:
        async with conn.transaction():
            await conn.execute(bulk.LOCK_TABLES)
            rebuilds = await bulk.set_aside(conn)
            await _clear(conn, target)
            await bulk.set_triggers(conn, enabled=False)
            clock.lap("delete")
        try:
            tally = await _bulk_load(owner_dsn, _share(units, workers))
            report.rows, report.detail = tally.rows, tally.seconds
            clock.lap("load")
        finally:
            async with conn.transaction():
                report.detail |= await bulk.put_back(conn, rebuilds)
                await bulk.set_triggers(conn, enabled=True)
            clock.lap("indexes")
    await conn.execute(ANALYZE_TABLES)
    clock.lap("analyze")
    await rollups.rebuild(conn)
    clock.lap("rollups")
    report.database_bytes = int(await conn.fetchval(SELECT_DATABASE_SIZE))
    return report
