"""Figures of a region's subtree (DESIGN.md §5), whole or broken down by a key.

Each section (organizations, service requests, participation) is one grouped statement over
the subtree's code range, grouped by the breakdown key and the few columns the section
splits by; the rates and totals are folded from those groups here. Withdrawn requests are
left out of every figure. Days are China Standard Time days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from resolvers.labels import ORGANIZATION_KIND, PARTICIPATION_KIND, SERVICE_CATEGORY
from resolvers.scope import Path
from resolvers.services import day_start
from resolvers.session import RequestSession

OPEN = ("SUBMITTED", "ACCEPTED", "IN_PROGRESS", "ESCALATED")
RESOLVED = ("RESOLVED", "CLOSED")
CHILD_CODE_LENGTH = {"NATION": 2, "PROVINCE": 4, "CITY": 6, "COUNTY": 9, "TOWNSHIP": 12}

# The subtree of `$1` (a path, in the read scope), as a range of region codes.
SUBTREE = """$1::ltree <@ any($2::ltree[]) and $3::int >= 0
    and t.region_code >= subtree_low($1::ltree) collate "C"
    and t.region_code < (subtree_low($1::ltree) || ':') collate "C\""""

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

# name: stats-services — requests submitted in [$4, $5), by key, status and category.
SERVICES = f"""
select {{key}} as key, t.status::text as status, t.category::text as category,
    count(*) as n,
    count(*) filter (where t.status in {OPEN} and t.due_at < $6) as overdue,
    count(*) filter (where t.first_responded_at <= t.submitted_at + interval '24 hours')
        as answered_in_time,
    count(*) filter (where t.first_responded_at <= t.submitted_at + interval '24 hours'
        or t.submitted_at + interval '24 hours' <= $6) as answer_due,
    count(*) filter (where t.satisfaction is not null) as rated,
    count(*) filter (where t.satisfaction >= 4) as satisfied,
    sum(extract(epoch from t.resolved_at - t.submitted_at) / 3600)
        filter (where t.status in {RESOLVED}) as resolve_hours
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
    where {SUBTREE} and t.status in ('ADOPTED', 'IMPLEMENTED')
        and ($4::date is null or t.decided_on >= $4) and ($5::date is null or t.decided_on <= $5)
    union all
    select {{implemented}}, 0, 1 from resolution t
    where {SUBTREE} and t.implemented_on is not null
        and ($4::date is null or t.implemented_on >= $4)
        and ($5::date is null or t.implemented_on <= $5)
) x group by key
"""


@dataclass
class ServiceFigures:
    total: int = 0
    open: int = 0
    resolved: int = 0
    rejected: int = 0
    overdue: int = 0
    answered_in_time: int = 0
    answer_due: int = 0
    rated: int = 0
    satisfied: int = 0
    resolve_hours: float = 0.0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, row: Any) -> None:
        n = int(row["n"])
        self.total += n
        status = row["status"]
        self.open += n if status in OPEN else 0
        self.resolved += n if status in RESOLVED else 0
        self.rejected += n if status == "REJECTED" else 0
        self.overdue += int(row["overdue"])
        self.answered_in_time += int(row["answered_in_time"])
        self.answer_due += int(row["answer_due"])
        self.rated += int(row["rated"])
        self.satisfied += int(row["satisfied"])
        self.resolve_hours += float(row["resolve_hours"] or 0)
        self.by_status[status] += n
        self.by_category[row["category"]] += n


@dataclass
class OrganizationFigures:
    total: int = 0
    party_members: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class ParticipationFigures:
    events: int = 0
    participants: int = 0
    adopted: int = 0
    implemented: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True)
class Period:
    start: dt.date | None
    end: dt.date | None

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        return day_start(self.start), day_start(self.end, 1)


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
        SERVICES.format(key=key), *_args(path, read, child_length), start, end, now
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
        found = figures[row["key"]]
        found.total += int(row["n"])
        found.party_members += int(row["party_members"] or 0)
        found.by_kind[row["kind"]] += int(row["n"])
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
        found = figures[row["key"]]
        found.events += int(row["n"])
        found.participants += int(row["participants"] or 0)
        found.by_kind[row["kind"]] += int(row["n"])
    if decided_key:
        sql = RESOLUTIONS.format(decided=decided_key, implemented=implemented_key)
        for row in await session.fetch(sql, *base, period.start, period.end):
            found = figures[row["key"]]
            found.adopted += int(row["adopted"])
            found.implemented += int(row["implemented"])
    return figures


Sections = tuple[OrganizationFigures | None, ServiceFigures | None, ParticipationFigures | None]


async def whole(
    session: RequestSession, path: Path, read: tuple[Path, ...], period: Period, now: dt.datetime
) -> Sections:
    """The subtree's figures, every section."""
    orgs = await organizations(session, path, read, NO_KEY)
    services_found = await services(session, path, read, period, now, NO_KEY)
    events = await participation(session, path, read, period, (NO_KEY, NO_KEY, NO_KEY))
    return (
        orgs.get("", OrganizationFigures()),
        services_found.get("", ServiceFigures()),
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
    """Every month of the period; an open end is closed by the months that hold data."""
    keys = sorted(k for k in found if k)
    first = period.start or (dt.date.fromisoformat(keys[0] + "-01") if keys else None)
    last = period.end or (dt.date.fromisoformat(keys[-1] + "-01") if keys else None)
    if first is None or last is None or first > last:
        return []
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


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
    path = region["path"]
    if by == "CHILD":
        length = CHILD_CODE_LENGTH.get(region["level"], 0)
        if not children:
            return []
        orgs = await organizations(session, path, read, CHILD_KEY, length)
        found = await services(session, path, read, period, now, CHILD_KEY, length)
        events = await participation(
            session, path, read, period, (CHILD_KEY, CHILD_KEY, CHILD_KEY), length
        )
        return [
            Row(
                c["code"],
                c["name"],
                (
                    orgs.get(c["code"], OrganizationFigures()),
                    found.get(c["code"], ServiceFigures()),
                    events.get(c["code"], ParticipationFigures()),
                ),
                region=c,
            )
            for c in children
        ]
    if by == "MONTH":
        found = await services(session, path, read, period, now, MONTH_SUBMITTED)
        events = await participation(
            session, path, read, period, (MONTH_STARTS, MONTH_DECIDED, MONTH_IMPLEMENTED)
        )
        return [
            Row(
                key,
                f"{key[:4]}年{int(key[5:])}月",
                (None, found.get(key, ServiceFigures()), events.get(key, ParticipationFigures())),
                month=dt.date.fromisoformat(key + "-01"),
            )
            for key in _months(period, set(found) | set(events))
        ]
    if by == "SERVICE_CATEGORY":
        found = await services(session, path, read, period, now, CATEGORY_KEY)
        return [
            Row(k, label, (None, found.get(k, ServiceFigures()), None))
            for k, label in SERVICE_CATEGORY.items()
        ]
    if by == "ORGANIZATION_KIND":
        orgs = await organizations(session, path, read, KIND_KEY)
        return [
            Row(k, label, (orgs.get(k, OrganizationFigures()), None, None))
            for k, label in ORGANIZATION_KIND.items()
        ]
    events = await participation(
        session, path, read, period, (KIND_KEY, EVENT_KIND_KEY, EVENT_KIND_KEY)
    )
    return [
        Row(k, label, (None, None, events.get(k, ParticipationFigures())))
        for k, label in PARTICIPATION_KIND.items()
    ]
