"""`NO_DATA` notes on figures (DESIGN.md §8): which figures of a subtree have no record of
their kind up to the period's end — never reported, which is not the same as zero.

A subtree's *first days* say, per section and category (or kind), the first China Standard
Time day with a record the figures count (withdrawn requests are left out, as in every
figure). Counties and below read them from base rows, the nation, provinces and cities from
the day rows of the roll-ups; either way one statement per section for all the regions
asked. A figure is `NO_DATA` when there is no first day on or before the period's end.
Organizations are a stock that the period does not apply to: `NO_DATA` when the subtree
holds none.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from resolvers import rollups
from resolvers.figures import subtree_args, subtrees
from resolvers.labels import PARTICIPATION_KIND, SERVICE_CATEGORY
from resolvers.session import RequestSession

NO_DATA = "NO_DATA"
SERVICES = "serviceRequests"
PARTICIPATION = "participation"

# Keys of the first days, over base rows and over roll-up rows, as in resolvers/stats.py.
CHILD_CODE_LENGTH = {"NATION": 2, "PROVINCE": 4, "CITY": 6, "COUNTY": 9, "TOWNSHIP": 12}
NO_KEY = "''"
CHILD_KEY = "left(t.region_code, s.child_length)"

# name: first-requests — per asking region, key and category, the first day of a request
# that figures count, over the subtrees `$1` to `$5` (figures.subtrees).
BASE_SERVICES = f"""
select s.owner, {{key}} as key, t.category::text as sort,
    min((t.submitted_at at time zone 'Asia/Shanghai')::date) as first
from {subtrees("service_request")} and t.status <> 'WITHDRAWN'
group by 1, 2, 3
"""

# name: first-events — per asking region, key and kind, the first day an event started.
BASE_EVENTS = f"""
select s.owner, {{key}} as key, t.kind::text as sort,
    min((t.starts_at at time zone 'Asia/Shanghai')::date) as first
from {subtrees("participation_event")}
group by 1, 2, 3
"""

# name: first-requests-rollup — the same from the day rows of regions `$1` (owners `$2`).
ROLLUP_SERVICES = """
select c.owner, {key} as key, t.category::text as sort, min(t.bucket) as first
from unnest($1::text[], $2::text[]) as c(code, owner)
    join rollup_service t on t.region_code = c.code
where t.grain = 'd' and t.submitted + t.accepted + t.in_progress + t.escalated + t.resolved
    + t.closed + t.rejected > 0
group by 1, 2, 3
"""

# name: first-events-rollup — the first day of an event, from the day rows.
ROLLUP_EVENTS = """
select c.owner, {key} as key, t.kind::text as sort, min(t.bucket) as first
from unnest($1::text[], $2::text[]) as c(code, owner)
    join rollup_participation t on t.region_code = c.code
where t.grain = 'd' and t.events > 0
group by 1, 2, 3
"""


@dataclass
class FirstDays:
    """The first day of a counted record, by (section, category or kind)."""

    days: dict[tuple[str, str], dt.date] = field(default_factory=dict)

    def add(self, section: str, sort: str, day: dt.date) -> None:
        found = self.days.get((section, sort))
        self.days[section, sort] = day if found is None else min(found, day)

    def reported(self, section: str, end: dt.date | None, sort: str | None = None) -> bool:
        """Whether the section (of one category or kind) has a record on or before `end`."""
        return any(
            s == section and (sort is None or k == sort) and (end is None or day <= end)
            for (s, k), day in self.days.items()
        )


@dataclass(frozen=True)
class Note:
    path: str
    kind: str = NO_DATA


def notes(
    first: FirstDays,
    end: dt.date | None,
    *,
    organizations: int | None,
    services: Sequence[str] | None,
    participation: Sequence[str] | None,
    only: str | None = None,
) -> list[Note]:
    """The notes of one figures object whose period ends on `end` (None: unbounded).
    `organizations`: the stock counted (None when the section does not apply);
    `services`, `participation`: the categories and kinds listed (None when the section does
    not apply); `only`: the one category or kind the row covers, in such breakdown rows."""
    found: list[Note] = []
    if organizations is not None and organizations == 0:
        found.append(Note("organizations"))
    for section, sorts, total, listed in (
        (SERVICES, services, "serviceRequests.total", "serviceRequests.byCategory"),
        (PARTICIPATION, participation, "participation.events", "participation.byKind"),
    ):
        if sorts is None:
            continue
        if not first.reported(section, end, only):
            found.append(Note(total))
        for sort in sorts:
            if (only is None or sort == only) and not first.reported(section, end, sort):
                found.append(Note(f"{listed}.{sort}"))
    return found


# (path, owner code, child code length) of the regions asked, as resolvers/stats.py takes them.
Subtree = tuple[str, str, int]


async def first_days(
    session: RequestSession,
    low: list[Subtree],
    owned: list[tuple[str, str]],
    child: bool,
) -> dict[tuple[str, str], FirstDays]:
    """First days keyed by (asking region, key): the key is the child's code when `child`,
    else ''. `low`: subtrees counted from base rows; `owned`: (region, owner) pairs read from
    roll-ups (the children themselves when `child`)."""
    found: dict[tuple[str, str], FirstDays] = defaultdict(FirstDays)
    statements: list[tuple[str, str, Sequence[Any]]] = []
    if low:
        key = CHILD_KEY if child else NO_KEY
        args = subtree_args(low)
        statements += [
            (SERVICES, BASE_SERVICES.format(key=key), args),
            (PARTICIPATION, BASE_EVENTS.format(key=key), args),
        ]
    if owned:
        key = rollups.REGION_KEY if child else rollups.NO_KEY
        pairs: list[Any] = [[o[0] for o in owned], [o[1] for o in owned]]
        statements += [
            (SERVICES, ROLLUP_SERVICES.format(key=key), pairs),
            (PARTICIPATION, ROLLUP_EVENTS.format(key=key), pairs),
        ]
    for section, sql, given in statements:
        for row in await session.fetch(sql, *given):
            found[row["owner"], row["key"]].add(section, row["sort"], row["first"])
    return found


async def first_days_of(
    session: RequestSession,
    asked: Sequence[tuple[str, str, str]],
    child: bool,
    children: Mapping[str, Sequence[Any]],
) -> list[dict[str, FirstDays]]:
    """For each region asked (code, path, level), its first days by key: '' for its subtree,
    or, when `child`, each child's code (`children`: the visible child rows by parent code)."""
    high = [a for a in asked if rollups.has_rollups(f"{a[1]}.x" if child else a[1])]
    low = [
        (path, code, CHILD_CODE_LENGTH.get(level, 0) if child else 0)
        for code, path, level in asked
        if (code, path, level) not in high
    ]
    owned = (
        [(row["code"], code) for code, _, _ in high for row in children.get(code, [])]
        if child
        else [(code, code) for code, _, _ in high]
    )
    found = await first_days(session, low, owned, child)
    return [{key: days for (owner, key), days in found.items() if owner == a[0]} for a in asked]


def own_records_known(path: str) -> bool:
    """Whether the first days by child key hold the region's own records (key: its code):
    they do over base rows, not over roll-up rows (those hold children only)."""
    return not rollups.has_rollups(f"{path}.x")


VALUE_BREAKDOWNS = ("SERVICE_CATEGORY", "ORGANIZATION_KIND", "PARTICIPATION_KIND")


def row_reading(
    by: str, key: str, row_end: dt.date | None, period_end: dt.date | None
) -> tuple[bool, str, dt.date | None, str | None]:
    """What a breakdown row's notes read, as (by child, first-days key, end, only): a child's
    subtree to the period's end; a value's row (a category or kind) the region's subtree to
    the period's end, for that value; a period's row (`row_end`, its last day) the region's
    subtree to the row's end within the period."""
    if by == "CHILD":
        return True, key, period_end, None
    if by in VALUE_BREAKDOWNS:
        return False, "", period_end, key
    end = row_end if row_end is None or period_end is None else min(row_end, period_end)
    return False, "", end if end is not None else period_end, None


def sections_notes(
    first: FirstDays, end: dt.date | None, sections: Sequence[Any], only: str | None = None
) -> list[Note]:
    """`notes` of the figures `sections` (organizations, services, participation; None where
    a section does not apply)."""
    organizations, services, participation = sections
    return notes(
        first,
        end,
        organizations=organizations.total if organizations is not None else None,
        services=list(SERVICE_CATEGORY) if services is not None else None,
        participation=list(PARTICIPATION_KIND) if participation is not None else None,
        only=only,
    )


def keyed(found: Mapping[str, FirstDays], key: str) -> FirstDays:
    """The first days of one key ('' or a child's code), none when nothing was found."""
    return found.get(key) or FirstDays()
