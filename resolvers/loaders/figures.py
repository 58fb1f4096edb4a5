"""Figure loaders: `stats` and `breakdown` of every region of a list, read together, so a
list's figures cost a few statements per figure kind whatever the number of regions."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from resolvers import notes, record_times, regions, stats
from resolvers.loaders.base import ContextLoader

MAX_CHILDREN = 100_000
# A region whose figures are asked: its code, path and level.
Asked = tuple[str, str, str]


def _region(key: Asked) -> dict[str, str]:
    code, path, level = key
    return {"code": code, "path": path, "level": level}


class RegionStatsLoader(ContextLoader[Asked, stats.Sections]):
    """The figures of each region's subtree; args: (period,).

    >>> sections = await ctx.loader(RegionStatsLoader, period).load((code, path, level))
    """

    async def load_batch(self, keys: list[Asked]) -> list[stats.Sections]:
        (period,) = self.args
        c = self.ctx
        return await stats.whole_many(c.session, [_region(k) for k in keys], period, c.now)


class RegionBreakdownLoader(ContextLoader[Asked, list[stats.Row]]):
    """Breakdown rows of each region; args: (period, by). Children for CHILD rows are read
    for all the regions in one statement."""

    async def load_batch(self, keys: list[Asked]) -> list[list[stats.Row]]:
        period, by = self.args
        c = self.ctx
        children: dict[str, list[Any]] = defaultdict(list)
        if by == "CHILD":
            codes = [k[0] for k in keys]
            rows = await regions.children(c.session, codes, MAX_CHILDREN, None)
            for row in rows:
                children[row["parent_code"]].append(row)
        return await stats.breakdown_many(
            c.session, [_region(k) for k in keys], period, c.now, by, children
        )


class RegionFirstDaysLoader(ContextLoader[Asked, dict[str, notes.FirstDays]]):
    """The first days of counted records in each region's subtree (resolvers/notes.py), by
    key: '' for the region itself, or each visible child's code; args: (by child,).

    >>> first = await ctx.loader(RegionFirstDaysLoader, False).load((code, path, level))
    """

    async def load_batch(self, keys: list[Asked]) -> list[dict[str, notes.FirstDays]]:
        (child,) = self.args
        c = self.ctx
        children: dict[str, list[Any]] = defaultdict(list)
        if child:
            rows = await regions.children(c.session, [k[0] for k in keys], MAX_CHILDREN, None)
            for row in rows:
                children[row["parent_code"]].append(row)
        return await notes.first_days_of(c.session, keys, child, children)


class RegionRecordTimesLoader(ContextLoader[Asked, record_times.Times]):
    """The newest record of each kind in each region's subtree (resolvers/record_times.py).

    >>> times = await ctx.loader(RegionRecordTimesLoader).load((code, path, level))
    """

    async def load_batch(self, keys: list[Asked]) -> list[record_times.Times]:
        asked = [(path, code) for code, path, _ in keys]
        return await record_times.record_times(self.ctx.session, asked)
