"""Figures of a region's subtree (DESIGN.md §5), whole or broken down by a key.

The nation, provinces and cities read roll-ups (resolvers/rollups.py). Counties and below
count their base rows: each section (organizations, service requests, participation) is one
grouped statement over the subtree's code range, grouped by the breakdown key and the few
columns the section splits by. Both fold into the sections of resolvers/figures.py, where
the rates and totals are derived. Withdrawn requests are left out of every figure. Days are
China Standard Time days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from resolvers import rollups
from resolvers.figures import (
    MAX_PERIOD_ROWS,
    OPEN,
    RESOLVED,
    SUBTREE,
    Clock,
    OrganizationFigures,
    ParticipationFigures,
    Period,
    ServiceFigures,
    months_between,
)
from resolvers.labels import ORGANIZATION_KIND, PARTICIPATION_KIND, SERVICE_CATEGORY
from resolvers.scope import Path
from resolvers.session import RequestSession

__all__ = ["Period", "Row", "Sections", "breakdown", "whole"]
CHILD_CODE_LENGTH = {"NATION": 2, "PROVINCE": 4, "CITY": 6, "COUNTY": 9, "TOWNSHIP": 12}

# Breakdown keys, chosen from these constants; `$3` is the length of a child's code.
NO_KEY = "''"
CHILD_KEY = "left(t.region_code, $3::int)"
MONTH_SUBMITTED = "to_char(t.submitted_at at time zone 'Asia/Shanghai', 'YYYY-MM')"
MONTH_STARTS = "to_char(t.starts_at at time zone 'Asia/Shanghai', 'YYYY-MM')"
MONTH_DECIDED = "to_char(t.decided_on, 'YYYY-MM')"
MONTH_IMPLEMENTED = "to_char(t.implemented_on, 'YYYY-MM')"
CATEGORY_KEY = "t.category::text"
KIND_KEY = "t.kind::text"
EVENT_KIND_KEY = "(select e.kind::text from participation_event e where e.id = t.event_id)"

# name: stats-services — requests submitted in [$4, $5), by key, status and category; `$6`
# is now, `$7` now − 24 h.
SERVICES = f"""
select {{key}} as key, t.status::text as status, t.category::text as category,
    count(*) as n,
    count(*) filter (where t.status in {OPEN} and t.due_at < $6) as overdue,
    count(*) filter (where t.first_responded_at <= t.submitted_at + interval '24 hours')
        as answered_in_time,
    count(*) filter (where t.first_responded_at <= t.submitted_at + interval '24 hours'
        or t.submitted_at <= $7) as answer_due,
    count(*) filter (where t.satisfaction is not null) as rated,
    count(*) filter (where t.satisfaction >= 4) as satisfied,
    extract(epoch from sum(t.resolved_at - t.submitted_at)
        filter (where t.status in {RESOLVED})) / 3600 as resolve_hours
from service_request t
where {SUBTREE} and t.status <> 'WITHDRAWN'
    and ($4::timestamptz is null or t.submitted_at >= $4)
    and ($5::timestamptz is null or t.submitted_at < $5)
group by 1, 2, 3
"""

# name: stats-organizations — the stock of organizations, by key and kind.
ORGANIZATIONS = f"""
select {{key}} as key, t.kind::text as kind, count(*) as n,
    sum(t.party_member_count) as party_members
from organization t
where {SUBTREE}
group by 1, 2
"""

# name: stats-events — events starting in [$4, $5), by key and kind.
EVENTS = f"""
select {{key}} as key, t.kind::text as kind, count(*) as n,
    sum(t.participant_count) as participants
from participation_event t
where {SUBTREE}
    and ($4::timestamptz is null or t.starts_at >= $4)
    and ($5::timestamptz is null or t.starts_at < $5)
group by 1, 2
"""

# name: stats-resolutions — adopted by the day decided, implemented by the day implemented.
RESOLUTIONS = f"""
select key, sum(adopted)::bigint as adopted, sum(implemented)::bigint as implemented from (
    select {{decided}} as key, 1 as adopted, 0 as implemented from resolution t
    where {SUBTREE} and t.status in ('ADOPTED', 'IMPLEMENTED') and t.decided_on is not null
        and ($4::date is null or t.decided_on >= $4) and ($5::date is null or t.decided_on <= $5)
    union all
    select {{implemented}}, 0, 1 from resolution t
    where {SUBTREE} and t.implemented_on is not null
        and ($4::date is null or t.implemented_on >= $4)
        and ($5::date is null or t.implemented_on <= $5)
) x group by key
"""


def _args(path: Path, read: tuple[Path, ...], child_length: int) -> list[Any]:
    return [path, list(read), child_length]


async def services(
    session: RequestSession,
    path: Path,
    read: tuple[Path, ...],
    period: Period,
    now: dt.datetime,
    key: str,
    child_length: int = 0,
) -> dict[str, ServiceFigures]:
    start, end = period.bounds()
    rows = await session.fetch(
        SERVICES.format(key=key),
        *_args(path, read, child_length),
        start,
        end,
        now,
        Clock(now).answer_cutoff,
    )
    figures: dict[str, ServiceFigures] = defaultdict(ServiceFigures)
    for row in rows:
        figures[row["key"]].add(row)
    return figures


async def organizations(
    session: RequestSession, path: Path, read: tuple[Path, ...], key: str, child_length: int = 0
) -> dict[str, OrganizationFigures]:
    rows = await session.fetch(ORGANIZATIONS.format(key=key), *_args(path, read, child_length))
    figures: dict[str, OrganizationFigures] = defaultdict(OrganizationFigures)
    for row in rows:
        figures[row["key"]].add(row)
    return figures


async def participation(
    session: RequestSession,
    path: Path,
    read: tuple[Path, ...],
    period: Period,
    keys: tuple[str, str, str],
    child_length: int = 0,
) -> dict[str, ParticipationFigures]:
    """`keys`: the breakdown key for events, for resolutions decided, for resolutions done."""
    start, end = period.bounds()
    event_key, decided_key, implemented_key = keys
    base = _args(path, read, child_length)
    figures: dict[str, ParticipationFigures] = defaultdict(ParticipationFigures)
    for row in await session.fetch(EVENTS.format(key=event_key), *base, start, end):
        figures[row["key"]].add_events(row)
    if decided_key:
        sql = RESOLUTIONS.format(decided=decided_key, implemented=implemented_key)
        for row in await session.fetch(sql, *base, period.start, period.end):
            figures[row["key"]].add_resolutions(row)
    return figures


Sections = tuple[OrganizationFigures | None, ServiceFigures | None, ParticipationFigures | None]
Found = tuple[
    dict[str, OrganizationFigures] | None,
    dict[str, ServiceFigures] | None,
    dict[str, ParticipationFigures] | None,
]


@dataclass(frozen=True)
class Split:
    """The keys of one breakdown: over base rows, per section, and over roll-up rows.

    A section whose key is None does not apply to the split. Base participation keys are
    those of events, of resolutions decided and of resolutions implemented.
    """

    organizations: str | None
    services: str | None
    participation: tuple[str, str, str] | None
    rollup_organizations: str | None
    rollup_services: str | None
    rollup_participation: str | None


SPLITS = {
    "": Split(
        NO_KEY, NO_KEY, (NO_KEY, NO_KEY, NO_KEY),
        rollups.NO_KEY, rollups.NO_KEY, rollups.NO_KEY,
    ),
    "CHILD": Split(
        CHILD_KEY, CHILD_KEY, (CHILD_KEY, CHILD_KEY, CHILD_KEY),
        rollups.REGION_KEY, rollups.REGION_KEY, rollups.REGION_KEY,
    ),
    "MONTH": Split(
        None, MONTH_SUBMITTED, (MONTH_STARTS, MONTH_DECIDED, MONTH_IMPLEMENTED),
        None, rollups.MONTH_KEY, rollups.MONTH_KEY,
    ),
    "SERVICE_CATEGORY": Split(None, CATEGORY_KEY, None, None, rollups.CATEGORY_KEY, None),
    "ORGANIZATION_KIND": Split(KIND_KEY, None, None, rollups.KIND_KEY, None, None),
    "PARTICIPATION_KIND": Split(
        None, None, (KIND_KEY, EVENT_KIND_KEY, EVENT_KIND_KEY), None, None, rollups.KIND_KEY
    ),
}  # fmt: skip


async def _found(
    session: RequestSession,
    region: Any,
    read: tuple[Path, ...],
    period: Period,
    now: dt.datetime,
    by: str,
    children: list[Any],
) -> Found:
    """The figures of `region` split by `by`: from roll-ups when the split's rows (the region,
    or its children for CHILD) have them, else from base rows."""
    split, path = SPLITS[by], region["path"]
    length = CHILD_CODE_LENGTH.get(region["level"], 0) if by == "CHILD" else 0
    codes = [c["code"] for c in children] if by == "CHILD" else [region["code"]]
    keyed_path = f"{path}.x" if by == "CHILD" else path
    if rollups.has_rollups(keyed_path):
        clock = Clock(now)
        return (
            None
            if split.rollup_organizations is None
            else await rollups.organizations(session, codes, split.rollup_organizations),
            None
            if split.rollup_services is None or split.services is None
            else await rollups.services(
                session, codes, path, read, period, clock,
                (split.rollup_services, split.services), length,
            ),
            None
            if split.rollup_participation is None
            else await rollups.participation(session, codes, period, split.rollup_participation),
        )  # fmt: skip
    return (
        None
        if split.organizations is None
        else await organizations(session, path, read, split.organizations, length),
        None
        if split.services is None
        else await services(session, path, read, period, now, split.services, length),
        None
        if split.participation is None
        else await participation(session, path, read, period, split.participation, length),
    )


async def whole(
    session: RequestSession, region: Any, read: tuple[Path, ...], period: Period, now: dt.datetime
) -> Sections:
    """The subtree's figures, every section."""
    orgs, found, events = await _found(session, region, read, period, now, "", [])
    assert orgs is not None and found is not None and events is not None
    return (
        orgs.get("", OrganizationFigures()),
        found.get("", ServiceFigures()),
        events.get("", ParticipationFigures()),
    )


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    sections: Sections
    region: Any = None  # a region row, in CHILD rows
    month: dt.date | None = None


def _months(period: Period, found: set[str]) -> list[str]:
    """Every month of the period; an open end is closed by the months that hold data, and an
    open start yields to the last `MAX_PERIOD_ROWS` months."""
    keys = sorted(k for k in found if k)
    first = period.start or (dt.date.fromisoformat(keys[0] + "-01") if keys else None)
    last = period.end or (dt.date.fromisoformat(keys[-1] + "-01") if keys else None)
    if first is None or last is None or first > last:
        return []
    skip = max(months_between(first, last) - MAX_PERIOD_ROWS, 0)
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months[skip:]


def _labelled(by: str) -> dict[str, str]:
    return {
        "SERVICE_CATEGORY": SERVICE_CATEGORY,
        "ORGANIZATION_KIND": ORGANIZATION_KIND,
        "PARTICIPATION_KIND": PARTICIPATION_KIND,
    }[by]


async def breakdown(
    session: RequestSession,
    region: Any,
    read: tuple[Path, ...],
    period: Period,
    now: dt.datetime,
    by: str,
    children: list[Any],
) -> list[Row]:
    """Rows of `region`'s figures split by `by`; `children` are its visible child rows."""
    if by == "CHILD" and not children:
        return []
    orgs, found, events = await _found(session, region, read, period, now, by, children)

    def sections(key: str) -> Sections:
        return (
            None if orgs is None else orgs.get(key, OrganizationFigures()),
            None if found is None else found.get(key, ServiceFigures()),
            None if events is None else events.get(key, ParticipationFigures()),
        )

    if by == "CHILD":
        return [Row(c["code"], c["name"], sections(c["code"]), region=c) for c in children]
    if by == "MONTH":
        return [
            Row(
                key,
                f"{key[:4]}年{int(key[5:])}月",
                sections(key),
                month=dt.date.fromisoformat(key + "-01"),
            )
            for key in _months(period, set(found or ()) | set(events or ()))
        ]
    return [Row(key, label, sections(key)) for key, label in _labelled(by).items()]
