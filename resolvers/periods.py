"""Calendar periods of DESIGN.md §8: months, quarters and years as breakdown rows (keys
`2026-03`, `2026-Q1`, `2026`), a period's rows clipped to its days, and the periods a
figure is compared with (the previous one, and the same days a year earlier)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

GRAINS = ("MONTH", "QUARTER", "YEAR")
# Months per grain, and the to_char format of a grain's key (PostgreSQL's `Q` is the quarter).
MONTHS = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}
SQL_FORMATS = {"MONTH": "YYYY-MM", "QUARTER": 'YYYY-"Q"Q', "YEAR": "YYYY"}


@dataclass(frozen=True)
class Slot:
    """One row of a period breakdown: its key and label, and its days after clipping."""

    key: str
    label: str
    first: dt.date
    last: dt.date
    start: dt.date  # the whole period's first day


def years_later(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _index(grain: str, day: dt.date) -> int:
    """The period's ordinal: months, quarters or years since year 0."""
    months = day.year * 12 + day.month - 1
    return months // MONTHS[grain]


def _start(grain: str, index: int) -> dt.date:
    months = index * MONTHS[grain]
    return dt.date(months // 12, months % 12 + 1, 1)


def start_of(grain: str, day: dt.date) -> dt.date:
    return _start(grain, _index(grain, day))


def end_of(grain: str, day: dt.date) -> dt.date:
    return _start(grain, _index(grain, day) + 1) - dt.timedelta(days=1)


def key_of(grain: str, day: dt.date) -> str:
    if grain == "MONTH":
        return f"{day.year:04d}-{day.month:02d}"
    if grain == "QUARTER":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def label_of(grain: str, day: dt.date) -> str:
    if grain == "MONTH":
        return f"{day.year}年{day.month}月"
    if grain == "QUARTER":
        return f"{day.year}年第{(day.month - 1) // 3 + 1}季度"
    return f"{day.year}年"


def day_of_key(grain: str, key: str) -> dt.date:
    """The first day of the period a key names."""
    if grain == "MONTH":
        return dt.date.fromisoformat(key + "-01")
    if grain == "QUARTER":
        return dt.date(int(key[:4]), (int(key[-1]) - 1) * 3 + 1, 1)
    return dt.date(int(key), 1, 1)


def count_between(grain: str, first: dt.date, last: dt.date) -> int:
    """How many periods of `grain` the days [first, last] touch."""
    return _index(grain, last) - _index(grain, first) + 1


def slots(grain: str, first: dt.date, last: dt.date) -> list[Slot]:
    """The periods the days [first, last] touch, each clipped to them."""
    found = []
    for index in range(_index(grain, first), _index(grain, last) + 1):
        start = _start(grain, index)
        end = _start(grain, index + 1) - dt.timedelta(days=1)
        found.append(
            Slot(
                key_of(grain, start),
                label_of(grain, start),
                max(start, first),
                min(end, last),
                start,
            )
        )
    return found


def whole_grain(first: dt.date, last: dt.date) -> str | None:
    """The grain of which [first, last] is one whole period, or None for a custom range."""
    for grain in GRAINS:
        if first == start_of(grain, first) and last == end_of(grain, first):
            return grain
    return None


def previous(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The previous whole month, quarter or year of a whole one; of a custom range, the same
    number of days just before it."""
    grain = whole_grain(first, last)
    if grain is not None:
        before = first - dt.timedelta(days=1)
        return start_of(grain, before), before
    days = (last - first).days + 1
    return first - dt.timedelta(days=days), first - dt.timedelta(days=1)


def year_ago(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The same days one year earlier."""
    return years_later(first, -1), years_later(last, -1)
