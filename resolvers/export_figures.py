"""The figures of a breakdown export: `stats.breakdown` of one region in the caller's scope,
and `stats.whole` of its subtree as a closing total, read as GraphQL's `breakdown` reads them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from resolvers import notes, regions, stats
from resolvers.errors import Forbidden
from resolvers.exports import RegionNames
from resolvers.figures import Clock, checked_period, next_month
from resolvers.scope import Caller
from resolvers.session import SET_TIMEOUTS, RequestSession

BREAKDOWNS = (
    "CHILD",
    "MONTH",
    "QUARTER",
    "YEAR",
    "SERVICE_CATEGORY",
    "ORGANIZATION_KIND",
    "PARTICIPATION_KIND",
)
# Which sections (organizations, services, participation) the rows of each breakdown have.
SECTIONS = {
    "CHILD": (True, True, True),
    "MONTH": (False, True, True),
    "QUARTER": (False, True, True),
    "YEAR": (False, True, True),
    "SERVICE_CATEGORY": (False, True, False),
    "ORGANIZATION_KIND": (True, False, False),
    "PARTICIPATION_KIND": (False, False, True),
}
MAX_CHILDREN = 100_000
ABOVE_JURISDICTION = (
    "This region lies above your jurisdiction; only its breadcrumb fields can be read"
)


@dataclass(frozen=True)
class Figures:
    region: Any  # the region broken down: code, name, level, path
    rows: list[stats.Row]
    total: stats.Sections  # the whole subtree, the sections the rows have
    names: RegionNames
    # NO_DATA notes (DESIGN.md §8) by row key; the total's under WHOLE (issue 20)
    notes: dict[str, list[notes.Note]] = field(default_factory=dict)


async def breakdown_figures(
    pool: asyncpg.Pool,
    caller: Caller,
    code: str,
    by: str,
    period: stats.Period,
    now: dt.datetime,
    timeout_ms: int,
) -> Figures | None:
    """None for a region the caller cannot see; FORBIDDEN for a breadcrumb above its scope;
    BAD_USER_INPUT, before any SQL, for a period beyond the limits (DESIGN.md §8)."""
    period = checked_period(period.start, period.end, Clock(now).today, by)
    session = RequestSession(pool, caller)
    try:
        await session.execute(SET_TIMEOUTS, str(timeout_ms))
        found = await regions.by_codes(session, [code])
        if not found:
            return None
        region = found[0]
        if not region["full"]:
            raise Forbidden(ABOVE_JURISDICTION, reason="ABOVE_JURISDICTION")
        children: list[Any] = []
        if by == "CHILD":
            children = await regions.children(session, [code], MAX_CHILDREN, None)
        at = {"code": region["code"], "path": region["path"], "level": region["level"]}
        rows = await stats.breakdown(session, at, period, now, by, children)
        whole = await stats.whole(session, at, period, now)
        total: stats.Sections = (
            whole[0] if SECTIONS[by][0] else None,
            whole[1] if SECTIONS[by][1] else None,
            whole[2] if SECTIONS[by][2] else None,
        )
        names = RegionNames()
        await names.fill(session, [region["path"], *(c["path"] for c in children)])
        marks = await _notes(session, at, by, children, rows, period, total)
        return Figures(region, rows, total, names, marks)
    finally:
        await session.close(commit=True)


WHOLE = ""  # the key of the total's notes


async def _notes(
    session: RequestSession,
    at: dict[str, Any],
    by: str,
    children: list[Any],
    rows: list[stats.Row],
    period: stats.Period,
    total: stats.Sections,
) -> dict[str, list[notes.Note]]:
    """The NO_DATA notes of each row (by key) and of the total (`WHOLE`), read as GraphQL's
    `notes` reads them: a sheet writes — for such figures, with a legend."""
    asked = [(at["code"], at["path"], at["level"])]
    kids = {at["code"]: children}
    whole = (await notes.first_days_of(session, asked, False, {}))[0]
    split = (await notes.first_days_of(session, asked, True, kids))[0] if by == "CHILD" else whole
    found = {WHOLE: notes.sections_notes(notes.keyed(whole, ""), period.end, total)}
    for row in rows:
        if getattr(row, "own", False) and not notes.own_records_known(at["path"]):
            found[row.key] = []  # the own row of a roll-up region: no first days apart
            continue
        end = getattr(row, "last", None)
        if end is None and row.month is not None:
            end = next_month(row.month) - dt.timedelta(days=1)
        child, key, until, only = notes.row_reading(by, row.key, end, period.end)
        first = notes.keyed(split if child else whole, key)
        found[row.key] = notes.sections_notes(first, until, row.sections, only)
    return found


async def breakdown_allowed(
    pool: asyncpg.Pool,
    caller: Caller,
    code: str,
    by: str,
    period: stats.Period,
    now: dt.datetime,
) -> None:
    """What `breakdown_figures` refuses, checked without reading a figure (a one-time link's
    target): the period's limits, and a region above the caller's scope. A region the caller
    cannot see passes: its export is an empty file, as `breakdown_figures` gives."""
    checked_period(period.start, period.end, Clock(now).today, by)
    session = RequestSession(pool, caller, readonly=True)
    try:
        found = await regions.by_codes(session, [code])
        if found and not found[0]["full"]:
            raise Forbidden(ABOVE_JURISDICTION, reason="ABOVE_JURISDICTION")
    finally:
        await session.close(commit=False)
