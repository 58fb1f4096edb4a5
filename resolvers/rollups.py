"""Figures of the nation, a province or a city, read from the roll-up tables (0008_rollups.sql).

A period of whole days is read as whole months from the month rows and the days at its ends
from the day rows. Two counts move with the clock and come partly from base rows:
`overdue` (open requests due before now: those with a due date, less the roll-up rows due
today or later, plus base rows due earlier today) and the response rate's denominator
(requests whose 24 hours have passed: roll-up rows less the day rows from the cut-off day,
now − 24 h, on; plus base rows since that day began). Row-level security admits roll-up rows
of regions in the read scope only; callers ask only for regions in scope.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from resolvers.figures import (
    OPEN,
    Clock,
    OrganizationFigures,
    ParticipationFigures,
    Period,
    ServiceFigures,
    month_start,
    next_month,
    subtree_args,
)
from resolvers.scope import Path
from resolvers.scope_sql import in_scope
from resolvers.services import day_start
from resolvers.session import RequestSession

ROLLUP_DEPTH = 3  # nation, province, city: the levels with roll-up rows
FIRST_DAY = dt.date(1, 1, 1)
LAST_DAY = dt.date(9999, 11, 30)  # far enough; a month's end with a next month
EMPTY = (LAST_DAY, FIRST_DAY)

# Keys of roll-up rows, chosen from these constants.
NO_KEY = "''"
REGION_KEY = "t.region_code"
CATEGORY_KEY = "t.category::text"
KIND_KEY = "t.kind::text"


def has_rollups(path: Path) -> bool:
    return path.count(".") < ROLLUP_DEPTH


def _owned(table: str, first: int) -> str:
    """Rows `t` of `table` of the regions `$first`, each with `owner` (`$first + 1`): the
    region whose figures it adds to (itself, or its parent in a breakdown by child)."""
    return f"""unnest(${first}::text[], ${first + 1}::text[]) as c(code, owner)
    join {table} t on t.region_code = c.code"""


def _picked(table: str, first: int = 1, also: str = "") -> str:
    """Rows of regions `$first` (owners `$first + 1`) in the period: months [+2, +3), days
    [+4, +5] and [+6, +7]; `also`, a further condition on each."""
    m1, m2, b1, b2, a1, a2 = (f"${first + 2 + i}" for i in range(6))
    rows = _owned(table, first)
    return f"""(
    select c.owner, t.* from {rows}
    where t.grain = 'm' {also} and t.bucket >= {m1} and t.bucket < {m2}
    union all
    select c.owner, t.* from {rows}
    where t.grain = 'd' {also} and t.bucket between {b1} and {b2}
    union all
    select c.owner, t.* from {rows}
    where t.grain = 'd' {also} and t.bucket between {a1} and {a2}
) t"""


COUNTS = (
    "submitted",
    "accepted",
    "in_progress",
    "escalated",
    "resolved",
    "closed",
    "rejected",
    "answered_in_time",
    "rated",
    "satisfied",
    "resolve_micros",
    "dated_open",
)
# Requests not answered within 24 hours.
LATE = """(t.submitted + t.accepted + t.in_progress + t.escalated + t.resolved + t.closed
    + t.rejected - t.answered_in_time)"""

# name: rollup-services — the write-bound figures, and `late`: requests not answered within
# 24 hours, less those of the day rows from the cut-off day `$9` on (within the period's days
# [$10, $11]), whose 24 hours may not have passed: the hub counts those from base rows.
SERVICES = f"""
select owner, key, category, {", ".join(f"sum({c}) as {c}" for c in COUNTS)}, sum(late) as late
from (
    select t.owner, {{key}} as key, t.category::text as category,
        {", ".join(f"t.{c}" for c in COUNTS)}, {LATE} as late
    from {_picked("rollup_service")}
    union all
    select c.owner, {{key}}, t.category::text, {", ".join("0" for _ in COUNTS)}, -{LATE}
    from {_owned("rollup_service", 1)}
    where t.grain = 'd' and t.bucket >= $9 and t.bucket between $10 and $11
) t
group by 1, 2, 3
"""

# Base rows `t` of the subtrees `s.path` ($1 to $5, as `figures.subtrees` reads them) by
# code prefix: not an index condition, so the planner reads the recent rows through the two
# partial indexes (a day or so of the whole country) rather than the subtree's rows of
# every day.
RECENT = f"""unnest($1::ltree[], $2::text[], $3::int[], $4::text[], $5::text[])
        as s(path, owner, child_length, low, high)
    join service_request t on left(t.region_code, length(s.low)) = s.low
    where {in_scope("s.path")}"""

# name: rollup-clock — overdue: the open requests with a due date (in rollup-services) less
# the roll-up rows due today `$14` or later, plus base rows due today before now
# [$15, $16); requests whose answer fell due: base rows of the cut-off day on, submitted in
# [$19, $20 = now - 24 h] and not answered within 24 hours. The period is [$17, $18) in
# time; roll-up rows are those of regions `$6` (owners `$7`), base rows those of RECENT,
# keyed as over base rows.
CLOCK = f"""
select owner, key, category, sum(overdue)::bigint as overdue,
    sum(answer_due)::bigint as answer_due
from (
    select t.owner, {{key}} as key, t.category::text as category, -t.open as overdue,
        0 as answer_due
    from {_picked("rollup_open", 6, "and t.due_day >= $14")}
    union all
    select s.owner, {{base_key}}, t.category::text, 1, 0
    from {RECENT} and t.status in {OPEN}
        and t.due_at >= $15 and t.due_at < $16
        and ($17::timestamptz is null or t.submitted_at >= $17)
        and ($18::timestamptz is null or t.submitted_at < $18)
    union all
    select s.owner, {{base_key}}, t.category::text, 0, 1
    from {RECENT} and t.status <> 'WITHDRAWN'
        and (t.first_responded_at is null
            or t.first_responded_at - t.submitted_at > interval '24 hours')
        and t.submitted_at >= $19 and t.submitted_at <= $20
        and ($17::timestamptz is null or t.submitted_at >= $17)
        and ($18::timestamptz is null or t.submitted_at < $18)
) x
group by 1, 2, 3
"""

# name: rollup-participation — events by the day they start, resolutions by the days
# decided and implemented.
PARTICIPATION = f"""
select t.owner, {{key}} as key, t.kind::text as kind, sum(t.events) as n,
    sum(t.participants) as participants, sum(t.adopted) as adopted,
    sum(t.implemented) as implemented
from {_picked("rollup_participation")}
group by 1, 2, 3
"""

# name: rollup-organizations — the stock, by kind.
ORGANIZATIONS = f"""
select c.owner, {{key}} as key, t.kind::text as kind, sum(t.organizations) as n,
    sum(t.party_members) as party_members
from {_owned("rollup_organization", 1)}
group by 1, 2, 3
"""


@dataclass(frozen=True)
class Buckets:
    """The roll-up rows a period reads: whole months, and the days before and after them."""

    months: tuple[dt.date, dt.date]  # [from, until)
    days_before: tuple[dt.date, dt.date]  # [first, last]
    days_after: tuple[dt.date, dt.date]
    days: tuple[dt.date, dt.date]  # the period's first and last day

    @classmethod
    def of(cls, period: Period) -> Buckets:
        first = max(period.start or FIRST_DAY, FIRST_DAY)
        last = min(period.end or LAST_DAY, LAST_DAY)
        months_from = first if first.day == 1 else next_month(first)
        if next_month(last) - dt.timedelta(days=1) == last:
            months_until = next_month(last)
        else:
            months_until = month_start(last)
        if months_from >= months_until:
            return cls(EMPTY, (first, last), EMPTY, (first, last))
        before = (first, months_from - dt.timedelta(days=1)) if first < months_from else EMPTY
        return cls((months_from, months_until), before, (months_until, last), (first, last))

    def args(self) -> list[Any]:
        """The months and the days at either end, as `_picked` takes them."""
        return [*self.months, *self.days_before, *self.days_after]


Owned = list[tuple[str, str]]  # (region code, owner): the roll-up rows to read
Keyed = tuple[str, str]  # (owner, key)
Subtree = tuple[Path, str, int]  # (path, owner, child code length): base rows, as in stats


def _codes(owned: Owned) -> list[Any]:
    return [[code for code, _ in owned], [owner for _, owner in owned]]


async def services(
    session: RequestSession,
    owned: Owned,
    asked: list[Subtree],
    period: Period,
    clock: Clock,
    keys: tuple[str, str],
) -> dict[Keyed, ServiceFigures]:
    """`keys`: the key of roll-up rows, and the same key over base rows; `asked`: the
    subtrees of the owners, for the counts that move with the clock."""
    key, base_key = keys
    picked = Buckets.of(period)
    buckets = picked.args()
    cutoff_day = clock.answer_cutoff_day
    codes = _codes(owned)
    figures: dict[Keyed, ServiceFigures] = defaultdict(ServiceFigures)
    rows = await session.fetch(SERVICES.format(key=key), *codes, *buckets, cutoff_day, *picked.days)
    for row in rows:
        figures[row["owner"], row["key"]].add_rollup(row)
    start, end = period.bounds()
    rows = await session.fetch(
        CLOCK.format(key=key, base_key=base_key),
        *subtree_args(asked),
        *codes,
        *buckets,
        clock.today,
        day_start(clock.today),
        clock.now,
        start,
        end,
        day_start(cutoff_day),
        clock.answer_cutoff,
    )
    for row in rows:
        figures[row["owner"], row["key"]].add_clock(row)
    return figures


async def participation(
    session: RequestSession, owned: Owned, period: Period, key: str
) -> dict[Keyed, ParticipationFigures]:
    buckets = Buckets.of(period).args()
    figures: dict[Keyed, ParticipationFigures] = defaultdict(ParticipationFigures)
    for row in await session.fetch(PARTICIPATION.format(key=key), *_codes(owned), *buckets):
        found = figures[row["owner"], row["key"]]
        found.add_events(row)
        found.add_resolutions(row)
    return figures


async def organizations(
    session: RequestSession, owned: Owned, key: str
) -> dict[Keyed, OrganizationFigures]:
    figures: dict[Keyed, OrganizationFigures] = defaultdict(OrganizationFigures)
    for row in await session.fetch(ORGANIZATIONS.format(key=key), *_codes(owned)):
        figures[row["owner"], row["key"]].add(row)
    return figures
