"""The demo's anchor day: the records are made relative to the fixed `ANCHOR` (so they stay
deterministic) and moved by whole days to the anchor day stored in the database, set to the
one clock's today (db/clock.py) when the demo is first seeded.

    >>> moved = Shift.between(ANCHOR.date(), dt.date(2026, 12, 6)); moved.days
    21
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import asyncpg

from db import clock
from db.demo.columns import Row
from db.demo.timeline import ANCHOR

# name: demo-anchor — the stored anchor day, set to `$1` (today) when there is none yet.
ANCHOR_DAY = """
with made as (
    insert into demo_anchor (day) values ($1) on conflict (only_row) do nothing returning day
)
select day from made union all select day from demo_anchor
"""
HISTORY_AT = re.compile(r'"at": "([^"]+)"')


async def anchor_day(conn: asyncpg.Connection) -> dt.date:
    """The demo's anchor day: the stored one, or today (the one clock), stored now."""
    day: dt.date = await conn.fetchval(ANCHOR_DAY, clock.today())
    return day


@dataclass(frozen=True)
class Shift:
    """Moves the values of rows made relative to `ANCHOR` by whole days."""

    days: int

    @classmethod
    def between(cls, made_for: dt.date, anchor: dt.date) -> Shift:
        return cls((anchor - made_for).days)

    @classmethod
    def to(cls, anchor: dt.date) -> Shift:
        return cls.between(ANCHOR.date(), anchor)

    def value(self, value: object) -> object:
        delta = dt.timedelta(days=self.days)
        if isinstance(value, dt.datetime | dt.date):
            return value + delta
        return value

    def history(self, text: str) -> str:
        delta = dt.timedelta(days=self.days)
        return HISTORY_AT.sub(
            lambda m: f'"at": {json.dumps((dt.datetime.fromisoformat(m[1]) + delta).isoformat())}',
            text,
        )

    def rows(self, columns: Sequence[str], rows: Iterable[Row]) -> Iterator[Row]:
        """The rows with every date and time moved (history entries too); the same rows when
        the anchor is `ANCHOR`'s day."""
        if self.days == 0:
            yield from rows
            return
        history = columns.index("history") if "history" in columns else -1
        for row in rows:
            yield tuple(
                self.history(v) if i == history and isinstance(v, str) else self.value(v)
                for i, v in enumerate(row)
            )
