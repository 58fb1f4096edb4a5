"""Region loaders: by code, children pages per parent, child counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from resolvers import regions
from resolvers.loaders.base import CountByKeyLoader, Row, RowByKeyLoader, RowsByKeyLoader


class RegionByCodeLoader(RowByKeyLoader[str]):
    """Visible regions (in scope, or breadcrumbs above it) by code."""

    key_column = "code"

    async def fetch(self, keys: list[str]) -> Sequence[Row]:
        return await regions.by_codes(self.ctx.session, keys)


class RegionChildrenLoader(RowsByKeyLoader[str]):
    """Visible children per parent code; args: (rows wanted, after this code)."""

    key_column = "parent_code"

    async def fetch(self, keys: list[str]) -> Sequence[Row]:
        size, after = self.args
        return await regions.children(self.ctx.session, keys, size, after)


class RegionChildCountLoader(CountByKeyLoader[str]):
    """How many visible children each parent code has."""

    async def counts(self, keys: list[str]) -> Mapping[str, int]:
        return await regions.child_counts(self.ctx.session, keys)
