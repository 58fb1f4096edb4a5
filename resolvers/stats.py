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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from resolvers import periods, rollups
from resolvers.figures import (
    MAX_PERIOD_ROWS,
    OPEN,
    RESOLVED,
    Clock,
    OrganizationFigures,
    ParticipationFigures,
    Period,
    ServiceFigures,
    subtree_args,
    subtrees,
)
from resolvers.labels import ORGANIZATION_KIND, PARTICIPATION_KIND, SERVICE_CATEGORY
from resolvers.scope import Path
from resolvers.session import RequestSession

__all__ = ["Period", "Row", "Sections", "breakdown", "breakdown_many", "whole", "whole_many"]
CHILD_CODE_LENGTH = {"NATION": 2, "PROVINCE": 4, "CITY": 6, "COUNTY": 9, "TOWNSHIP": 12}

# Breakdown keys, chosen from these constants.
NO_KEY = "''"
# A child's code; the region's own records (DESIGN.md §8, the `本级` row) keep its code.
CHILD_KEY = (
    "case when t.region_code = s.owner then s.owner else left(t.region_code, s.child_length) end"
)
SUBMITTED_CST = "t.submitted_at at time zone 'Asia/Shanghai'"
STARTS_CST = "t.starts_at at time zone 'Asia/Shanghai'"
CATEGORY_KEY = "t.category::text"
KIND_KEY = "t.kind::text"
EVENT_KIND_KEY = "(select e.kind::text from participation_event e where e.id = t.event_id)"

# name: stats-services — requests submitted in [$6, $7), by asking region, key, status and
# category; `$8` is now, `$9` now − 24 h.
SERVICES = f"""
select s.owner, {{key}} as key, t.status::text as status, t.category::text as category,
    count(*) as n,
    count(*) filter (where t.status in {OPEN} and t.due_at < $8) as overdue,
    count(*) filter (where t.first_responded_at <= t.submitted_at + interval '24 hours')
        as answered_in_time,
    count(*) filter (where t.first_responded_at <= t.submitted_at + interval '24 hours'
        or t.submitted_at <= $9) as answer_due,
    count(*) filter (where t.satisfaction is not null) as rated,
    count(*) filter (where t.satisfaction >= 4) as satisfied,
    extract(epoch from sum(t.resolved_at - t.submitted_at)
        filter (where t.status in {RESOLVED})) / 3600 as resolve_hours
from {subtrees("service_request")} and t.status <> 'WITHDRAWN'
    and ($6::timestamptz is null or t.submitted_at >= $6)
    and ($7::timestamptz is null or t.submitted_at < $7)
group by 1, 2, 3, 4
"""

# name: stats-organizations — the stock of organizations, by asking region, key and kind.
ORGANIZATIONS = f"""
select s.owner, {{key}} as key, t.kind::text as kind, count(*) as n,
    sum(t.party_member_count) as party_members
from {subtrees("organization")}
group by 1, 2, 3
"""

# name: stats-events — events starting in [$6, $7), by asking region, key and kind.
EVENTS = f"""
select s.owner, {{key}} as key, t.kind::text as kind, count(*) as n,
    sum(t.participant_count) as participants
from {subtrees("participation_event")}
    and ($6::timestamptz is null or t.starts_at >= $6)
    and ($7::timestamptz is null or t.starts_at < $7)
group by 1, 2, 3
"""

# name: stats-resolutions — adopted by the day decided, implemented by the day implemented.
RESOLUTIONS = f"""
select owner, key, sum(adopted)::bigint as adopted, sum(implemented)::bigint as implemented
from (
    select s.owner, {{decided}} as key, 1 as adopted, 0 as implemented
    from {subtrees("resolution")}
        and t.status in ('ADOPTED', 'IMPLEMENTED') and t.decided_on is not null
        and ($6::date is null or t.decided_on >= $6) and ($7::date is null or t.decided_on <= $7)
    union all
    select s.owner, {{implemented}}, 0, 1
    from {subtrees("resolution")} and t.implemented_on is not null
        and ($6::date is null or t.implemented_on >= $6)
        and ($7::date is null or t.implemented_on <= $7)
) x group by owner, key
"""

# A subtree whose figures are asked: its path, the code of the region asking (the owner of
# the rows), and the length of its children's codes (for keys by child region, else 0).
Subtree = tuple[Path, str, int]
Keyed = tuple[str, str]  # (owner, key)


def _args(asked: list[Subtree], exact: bool = False) -> list[Any]:
    """The subtrees' arrays; `exact`: the regions' own rows only, not their descendants'."""
    return subtree_args(asked, exact)


async def services(
    session: RequestSession,
    asked: list[Subtree],
    period: Period,
    now: dt.datetime,
    key: str,
    exact: bool = False,
) -> dict[Keyed, ServiceFigures]:
    start, end = period.bounds()
    rows = await session.fetch(
        SERVICES.format(key=key), *_args(asked, exact), start, end, now, Clock(now).answer_cutoff
    )
    figures: dict[Keyed, ServiceFigures] = defaultdict(ServiceFigures)
    for row in rows:
        figures[row["owner"], row["key"]].add(row)
    return figures


async def organizations(
    session: RequestSession, asked: list[Subtree], key: str, exact: bool = False
) -> dict[Keyed, OrganizationFigures]:
    rows = await session.fetch(ORGANIZATIONS.format(key=key), *_args(asked, exact))
    figures: dict[Keyed, OrganizationFigures] = defaultdict(OrganizationFigures)
    for row in rows:
        figures[row["owner"], row["key"]].add(row)
    return figures


async def participation(
    session: RequestSession,
    asked: list[Subtree],
    period: Period,
    keys: tuple[str, str, str],
    exact: bool = False,
) -> dict[Keyed, ParticipationFigures]:
    """`keys`: the breakdown key for events, for resolutions decided, for resolutions done."""
    start, end = period.bounds()
    event_key, decided_key, implemented_key = keys
    base = _args(asked, exact)
    figures: dict[Keyed, ParticipationFigures] = defaultdict(ParticipationFigures)
    for row in await session.fetch(EVENTS.format(key=event_key), *base, start, end):
        figures[row["owner"], row["key"]].add_events(row)
    if decided_key:
        sql = RESOLUTIONS.format(decided=decided_key, implemented=implemented_key)
        for row in await session.fetch(sql, *base, period.start, period.end):
            figures[row["owner"], row["key"]].add_resolutions(row)
    return figures


Sections = tuple[OrganizationFigures | None, ServiceFigures | None, ParticipationFigures | None]
Found = tuple[
    dict[Keyed, OrganizationFigures] | None,
    dict[Keyed, ServiceFigures] | None,
    dict[Keyed, ParticipationFigures] | None,
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


def _period_split(grain: str) -> Split:
    """Keys by month, quarter or year: requests by the day submitted, events by the day they
    start, resolutions by the days decided and implemented, roll-up rows by their bucket."""

    def key(day: str) -> str:
        return f"to_char({day}, '{periods.SQL_FORMATS[grain]}')"

    by_bucket = key("t.bucket")
    events = (key(STARTS_CST), key("t.decided_on"), key("t.implemented_on"))
    return Split(None, key(SUBMITTED_CST), events, None, by_bucket, by_bucket)


SPLITS = {
    "": Split(
        NO_KEY, NO_KEY, (NO_KEY, NO_KEY, NO_KEY),
        rollups.NO_KEY, rollups.NO_KEY, rollups.NO_KEY,
    ),
    "CHILD": Split(
        CHILD_KEY, CHILD_KEY, (CHILD_KEY, CHILD_KEY, CHILD_KEY),
        rollups.REGION_KEY, rollups.REGION_KEY, rollups.REGION_KEY,
    ),
    **{grain: _period_split(grain) for grain in periods.GRAINS},
    "SERVICE_CATEGORY": Split(None, CATEGORY_KEY, None, None, rollups.CATEGORY_KEY, None),
    "ORGANIZATION_KIND": Split(KIND_KEY, None, None, rollups.KIND_KEY, None, None),
    "PARTICIPATION_KIND": Split(
        None, None, (KIND_KEY, EVENT_KIND_KEY, EVENT_KIND_KEY), None, None, rollups.KIND_KEY
    ),
}  # fmt: skip


def _merge(into: dict[Keyed, Any] | None, found: dict[Keyed, Any]) -> dict[Keyed, Any] | None:
    if into is None:
        return found
    into.update(found)
    return into


async def _found(
    session: RequestSession,
    asked: list[Any],
    period: Period,
    now: dt.datetime,
    by: str,
    children: Mapping[str, list[Any]],
) -> Found:
    """The figures of the regions `asked` split by `by`, keyed by (region code, key): from
    roll-ups for the regions whose split's rows (the region, or its children for CHILD) have
    them, from base rows for the others; each section one statement (or two) per kind of
    rows, whatever the number of regions. `children`: the visible children, by parent code."""
    split = SPLITS[by]
    child = by == "CHILD"
    high = [r for r in asked if rollups.has_rollups(f"{r['path']}.x" if child else r["path"])]
    low = [r for r in asked if r not in high]

    def subtrees(regions: list[Any]) -> list[Subtree]:
        return [
            (r["path"], r["code"], CHILD_CODE_LENGTH.get(r["level"], 0) if child else 0)
            for r in regions
        ]

    orgs: dict[Keyed, OrganizationFigures] | None = None
    found: dict[Keyed, ServiceFigures] | None = None
    events: dict[Keyed, ParticipationFigures] | None = None
    if low:
        base = subtrees(low)
        if split.organizations is not None:
            orgs = _merge(orgs, await organizations(session, base, split.organizations))
        if split.services is not None:
            found = _merge(found, await services(session, base, period, now, split.services))
        if split.participation is not None:
            events = _merge(events, await participation(session, base, period, split.participation))
    if child and high:  # the own records of regions with roll-ups: few, from base rows
        own = [(r["path"], r["code"], 0) for r in high]
        if split.organizations is not None:
            orgs = _merge(orgs, await organizations(session, own, split.organizations, True))
        if split.services is not None:
            found = _merge(found, await services(session, own, period, now, split.services, True))
        if split.participation is not None:
            events = _merge(
                events, await participation(session, own, period, split.participation, True)
            )
    owned = [
        (c["code"], r["code"]) if child else (r["code"], r["code"])
        for r in high
        for c in (children.get(r["code"], []) if child else [r])
    ]
    if owned:
        if split.rollup_organizations is not None:
            orgs = _merge(
                orgs, await rollups.organizations(session, owned, split.rollup_organizations)
            )
        if split.rollup_services is not None and split.services is not None:
            keys = (split.rollup_services, split.services)
            found = _merge(
                found,
                await rollups.services(session, owned, subtrees(high), period, Clock(now), keys),
            )
        if split.rollup_participation is not None:
            events = _merge(
                events,
                await rollups.participation(session, owned, period, split.rollup_participation),
            )
    if split.organizations is not None and orgs is None:
        orgs = {}
    if split.services is not None and found is None:
        found = {}
    if split.participation is not None and events is None:
        events = {}
    return orgs, found, events


async def whole_many(
    session: RequestSession, asked: list[Any], period: Period, now: dt.datetime
) -> list[Sections]:
    """The figures of each region's subtree, every section, in the order asked."""
    orgs, found, events = await _found(session, asked, period, now, "", {})
    assert orgs is not None and found is not None and events is not None
    return [
        (
            orgs.get((r["code"], ""), OrganizationFigures()),
            found.get((r["code"], ""), ServiceFigures()),
            events.get((r["code"], ""), ParticipationFigures()),
        )
        for r in asked
    ]


async def whole(session: RequestSession, region: Any, period: Period, now: dt.datetime) -> Sections:
    """The subtree's figures, every section."""
    return (await whole_many(session, [region], period, now))[0]


OWN_LABEL = "本级"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    sections: Sections
    region: Any = None  # a region row, in CHILD rows but the own one
    month: dt.date | None = None  # the month's first day, in MONTH rows
    first: dt.date | None = None  # the period's days after clipping, in period rows
    last: dt.date | None = None
    own: bool = False  # the region's own records (DESIGN.md §8), first of CHILD rows


def _slots(grain: str, period: Period, found: set[str]) -> list[periods.Slot]:
    """Every month, quarter or year of the period, clipped to it; an open end is closed by the
    periods that hold data, and an open start yields to the last `MAX_PERIOD_ROWS` ones."""
    keys = sorted(k for k in found if k)
    first = period.start or (periods.day_of_key(grain, keys[0]) if keys else None)
    last = period.end or (
        periods.end_of(grain, periods.day_of_key(grain, keys[-1])) if keys else None
    )
    if first is None or last is None or first > last:
        return []
    found_slots = periods.slots(grain, first, last)
    return found_slots[max(len(found_slots) - MAX_PERIOD_ROWS, 0) :]


def _labelled(by: str) -> dict[str, str]:
    return {
        "SERVICE_CATEGORY": SERVICE_CATEGORY,
        "ORGANIZATION_KIND": ORGANIZATION_KIND,
        "PARTICIPATION_KIND": PARTICIPATION_KIND,
    }[by]


async def breakdown_many(
    session: RequestSession,
    asked: list[Any],
    period: Period,
    now: dt.datetime,
    by: str,
    children: Mapping[str, list[Any]],
) -> list[list[Row]]:
    """Rows of each region's figures split by `by`, in the order asked; `children`: the
    visible child rows, by parent code."""
    orgs, found, events = await _found(session, asked, period, now, by, children)
    return [
        _rows(r["code"], period, by, children.get(r["code"], []), orgs, found, events)
        for r in asked
    ]


async def breakdown(
    session: RequestSession,
    region: Any,
    period: Period,
    now: dt.datetime,
    by: str,
    children: list[Any],
) -> list[Row]:
    """Rows of `region`'s figures split by `by`; `children` are its visible child rows."""
    found = await breakdown_many(session, [region], period, now, by, {region["code"]: children})
    return found[0]


def _rows(
    owner: str,
    period: Period,
    by: str,
    children: list[Any],
    orgs: dict[Keyed, OrganizationFigures] | None,
    found: dict[Keyed, ServiceFigures] | None,
    events: dict[Keyed, ParticipationFigures] | None,
) -> list[Row]:
    def sections(key: str) -> Sections:
        return (
            None if orgs is None else orgs.get((owner, key), OrganizationFigures()),
            None if found is None else found.get((owner, key), ServiceFigures()),
            None if events is None else events.get((owner, key), ParticipationFigures()),
        )

    if by == "CHILD":
        own = Row(owner, OWN_LABEL, sections(owner), own=True)
        return [own, *(Row(c["code"], c["name"], sections(c["code"]), region=c) for c in children)]
    if by in periods.GRAINS:
        keys = {k for o, k in (*(found or ()), *(events or ())) if o == owner}
        return [
            Row(
                slot.key,
                slot.label,
                sections(slot.key),
                month=slot.start if by == "MONTH" else None,
                first=slot.first,
                last=slot.last,
            )
            for slot in _slots(by, period, keys)
        ]
    return [Row(key, label, sections(key)) for key, label in _labelled(by).items()]
