"""The hub's one clock (DESIGN.md §8): its "now" and "today", for figures, limits, closed
periods and the demo.

By default the real time. In development and tests `HUB_TODAY=YYYY-MM-DD` (the setting,
refused in production) pins the day: the clock then starts at noon (China Standard Time) of
that day and runs on with the process, never past the day's last second, so records written
meanwhile still sort after older ones and every figure sees the same "today".

    >>> pin(dt.date(2026, 11, 15)); today()
    datetime.date(2026, 11, 15)
"""

from __future__ import annotations

import datetime as dt
import time

CST = dt.timezone(dt.timedelta(hours=8))
PINNED_START = dt.time(12, 0)
_LAST_SECOND = dt.timedelta(hours=11, minutes=59, seconds=59)


class _State:
    day: dt.date | None = None
    started: float = 0.0


def parse_day(value: str) -> dt.date:
    """`HUB_TODAY`'s value; `ValueError` unless it is a `YYYY-MM-DD` day."""
    return dt.date.fromisoformat(value.strip())


def pin(day: dt.date | None) -> None:
    """Pin "today" to `day` (development and tests; settings refuse it in production), or
    go back to the real time with None."""
    _State.day = day
    _State.started = time.monotonic()


def pinned() -> dt.date | None:
    return _State.day


def now() -> dt.datetime:
    """The hub's "now", an aware datetime."""
    day = _State.day
    if day is None:
        return dt.datetime.now(dt.UTC)
    ran = dt.timedelta(seconds=time.monotonic() - _State.started)
    start = dt.datetime.combine(day, PINNED_START, tzinfo=CST)
    return (start + min(ran, _LAST_SECOND)).astimezone(dt.UTC)


def today() -> dt.date:
    """The hub's "today": the China Standard Time day of `now()`."""
    return now().astimezone(CST).date()
