"""The figures of DESIGN.md §5 as they are folded from grouped rows, and the period they cover.

Rows come from base tables (resolvers/stats.py) or from roll-ups (resolvers/rollups.py); both
fold into the same sections here, so a figure has one definition on the Python side.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from resolvers import periods
from resolvers.errors import BadUserInput
from resolvers.scope_sql import in_scope
from resolvers.services import CST, day_start

OPEN = ("SUBMITTED", "ACCEPTED", "IN_PROGRESS", "ESCALATED")
RESOLVED = ("RESOLVED", "CLOSED")
# The status columns of a roll-up row, in the order of the enum (WITHDRAWN is never counted).
STATUS_COLUMNS = {
    "SUBMITTED": "submitted",
    "ACCEPTED": "accepted",
    "IN_PROGRESS": "in_progress",
    "ESCALATED": "escalated",
    "RESOLVED": "resolved",
    "CLOSED": "closed",
    "REJECTED": "rejected",
}
RESPONSE_HOURS = 24


def subtrees(table: str) -> str:
    """Base rows `t` of `table` in the subtrees `s.path` (`$1`, each in the read scope), each
    asked for by region `s.owner` (`$2`), whose children's codes are `s.child_length` (`$3`)
    long, for keys by child region; `s.low` and `s.high` (`$4`, `$5`) bound the subtree's
    code range (`subtree_range`), an index condition even under row-level security."""
    return f"""unnest($1::ltree[], $2::text[], $3::int[], $4::text[], $5::text[])
        as s(path, owner, child_length, low, high)
    join {table} t on t.region_code >= s.low collate "C" and t.region_code < s.high collate "C"
    where {in_scope("s.path")}"""


def subtree_range(path: str) -> tuple[str, str]:
    """The code range of a subtree, as `subtree_low` (0004_list_targets.sql) gives it."""
    low = path.rsplit(".", 1)[1] if "." in path else ""
    return low, low + ":"


def exact_range(path: str) -> tuple[str, str]:
    """The code range of the region itself, none of its descendants: codes are digits, so
    every longer code that starts with it sorts at or after its code followed by "0"."""
    code = path.rsplit(".", 1)[-1]
    return code, code + "0"


def subtree_args(asked: list[tuple[str, str, int]], exact: bool = False) -> list[Any]:
    """The arrays `subtrees` reads, from (path, owner, child code length) triples; `exact`:
    the regions' own rows only."""
    ranges = [exact_range(a[0]) if exact else subtree_range(a[0]) for a in asked]
    return [
        [a[0] for a in asked],
        [a[1] for a in asked],
        [a[2] for a in asked],
        [r[0] for r in ranges],
        [r[1] for r in ranges],
    ]


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

    @property
    def resolvable(self) -> int:
        """The resolution rate's denominator: every request but the rejected ones."""
        return self.total - self.rejected

    def count(self, status: str, category: str, n: int) -> None:
        self.total += n
        self.open += n if status in OPEN else 0
        self.resolved += n if status in RESOLVED else 0
        self.rejected += n if status == "REJECTED" else 0
        self.by_status[status] += n
        self.by_category[category] += n

    def add_clock(self, row: Any) -> None:
        """Counts that move with the clock: `overdue`, and requests whose answer fell due."""
        self.overdue += int(row["overdue"] or 0)
        self.answer_due += int(row["answer_due"] or 0)

    def add(self, row: Any) -> None:
        """A base-row group of one status and category."""
        self.count(row["status"], row["category"], int(row["n"]))
        self.add_clock(row)
        self.answered_in_time += int(row["answered_in_time"])
        self.rated += int(row["rated"])
        self.satisfied += int(row["satisfied"])
        self.resolve_hours += float(row["resolve_hours"] or 0)

    def add_rollup(self, row: Any) -> None:
        """A roll-up group of one category, with a column per status and `late`: requests
        not answered within 24 hours whose 24 hours have passed."""
        for status, column in STATUS_COLUMNS.items():
            if n := int(row[column]):
                self.count(status, row["category"], n)
        answered = int(row["answered_in_time"])
        self.answered_in_time += answered
        self.answer_due += answered + int(row["late"])
        self.rated += int(row["rated"])
        self.satisfied += int(row["satisfied"])
        self.resolve_hours += float(row["resolve_micros"]) / 3_600_000_000
        self.overdue += int(row["dated_open"])


@dataclass
class OrganizationFigures:
    total: int = 0
    party_members: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, row: Any) -> None:
        self.total += int(row["n"])
        self.party_members += int(row["party_members"] or 0)
        self.by_kind[row["kind"]] += int(row["n"])


@dataclass
class ParticipationFigures:
    events: int = 0
    participants: int = 0
    adopted: int = 0
    implemented: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add_events(self, row: Any) -> None:
        self.events += int(row["n"])
        self.participants += int(row["participants"] or 0)
        self.by_kind[row["kind"]] += int(row["n"])

    def add_resolutions(self, row: Any) -> None:
        self.adopted += int(row["adopted"])
        self.implemented += int(row["implemented"])


@dataclass(frozen=True)
class Period:
    start: dt.date | None
    end: dt.date | None

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        return day_start(self.start), day_start(self.end, 1)

    def previous(self) -> Period | None:
        """The previous period (DESIGN.md §8); None when this one is unbounded."""
        if self.start is None or self.end is None:
            return None
        return Period(*periods.previous(self.start, self.end))

    def year_ago(self) -> Period | None:
        """The same days a year earlier; None when this period is unbounded."""
        if self.start is None or self.end is None:
            return None
        return Period(*periods.year_ago(self.start, self.end))


# Period limits (DESIGN.md §8), checked before any SQL.
EARLIEST_DAY = dt.date(2000, 1, 1)
MAX_SPAN_YEARS = 10
MAX_PERIOD_ROWS = 120


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def months_between(first: dt.date, last: dt.date) -> int:
    """How many calendar months [first, last] touches."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def checked_period(
    start: dt.date | None, end: dt.date | None, today: dt.date, by: str | None = None
) -> Period:
    """The period `[start, end]`, refused with `BAD_USER_INPUT` (the limit named in
    `extensions.reason`) when it breaks a limit of DESIGN.md §8; `by` is the breakdown."""
    latest = _years_later(today, 1)
    if start is not None and end is not None and start > end:
        raise BadUserInput("`from` must not be after `to`", reason="PERIOD_REVERSED")
    for name, day in (("from", start), ("to", end)):
        if day is not None and day < EARLIEST_DAY:
            raise BadUserInput(
                f"`{name}` must be on or after {EARLIEST_DAY}", reason="PERIOD_BEFORE_2000"
            )
        if day is not None and day > latest:
            raise BadUserInput(
                f"`{name}` must be on or before {latest} (today + 1 year)",
                reason="PERIOD_AFTER_NEXT_YEAR",
            )
    if start is not None and end is not None and end >= _years_later(start, MAX_SPAN_YEARS):
        raise BadUserInput(
            f"A period spans at most {MAX_SPAN_YEARS} years", reason="PERIOD_TOO_LONG"
        )
    if by in periods.GRAINS and start is not None and end is not None:
        rows = periods.count_between(by, start, end)
        if rows > MAX_PERIOD_ROWS:
            raise BadUserInput(
                f"A breakdown gives at most {MAX_PERIOD_ROWS} rows; this one would give {rows}",
                reason="BREAKDOWN_TOO_MANY_ROWS",
            )
    return Period(start, end)


def cst_day(at: dt.datetime) -> dt.date:
    return at.astimezone(CST).date()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class Clock:
    """`now` and the two boundaries the clock-bound figures move at."""

    now: dt.datetime

    @property
    def today(self) -> dt.date:
        return cst_day(self.now)

    @property
    def answer_cutoff(self) -> dt.datetime:
        """Requests submitted at or before this have had their 24 hours."""
        return self.now - dt.timedelta(hours=RESPONSE_HOURS)

    @property
    def answer_cutoff_day(self) -> dt.date:
        return cst_day(self.answer_cutoff)
