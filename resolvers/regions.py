"""Regions: lookups by code, children, the root list, and a process-wide code → path cache.

Visible regions are those in the read scope and their ancestors (breadcrumbs);
`full` says which. Row-level security applies the same rule underneath.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from resolvers.errors import database_reachable
from resolvers.ids import CursorCodec
from resolvers.pagination import Page, empty_page, like_pattern, make_page, page_size
from resolvers.scope import Path, check_region_code, within
from resolvers.scope_sql import above_scope, in_scope, under_any
from resolvers.session import RequestSession

COLUMNS = f"""r.code, r.parent_code, r.level::text as level, r.name, r.full_name,
       r.path::text as path, {in_scope("r.path")} as full"""
VISIBLE = f"({in_scope('r.path')} or {above_scope('r.path')})"

# A record's region, selected beside the record: a record is visible only when its region
# is in scope, so the region is a full one, and `region` needs no second statement.
RECORD_REGION = "join region r on r.code = t.region_code"
RECORD_REGION_COLUMNS = """r.parent_code as region_parent_code, r.level::text as region_level,
    r.name as region_name, r.full_name as region_full_name"""

# name: regions-by-code — visible regions among the given codes.
BY_CODE = f"select {COLUMNS} from region r where r.code = any($1::text[]) and {VISIBLE}"

# name: region-children — the first $3 visible children after $2 of each parent in $1.
CHILDREN = f"""
select * from (
    select {COLUMNS}, row_number() over (partition by r.parent_code order by r.code) as rn
    from region r
    where r.parent_code = any($1::text[]) and {VISIBLE} and ($2::text is null or r.code > $2)
) s where s.rn <= $3
"""

# name: region-child-counts — how many visible children each parent in $1 has.
CHILD_COUNTS = f"""
select r.parent_code, count(*) as n from region r
where r.parent_code = any($1::text[]) and {VISIBLE}
group by r.parent_code
"""

LIST_WHERE = f"""{in_scope("r.path")} and {under_any("r.path", "$1::ltree[]")}
    and ($2::region_level is null or r.level = $2::region_level)
    and ($3::text is null or r.name ilike $3)"""

# name: regions-list — regions in scope under $1, by code.
LIST = f"""
select {COLUMNS} from region r
where {LIST_WHERE} and ($4::text is null or r.code > $4)
order by r.code limit $5
"""

# name: regions-count
LIST_COUNT = f"select count(*) from region r where {LIST_WHERE}"

# name: regions-by-code-unscoped — for token checks and `under:`, via a security definer.
DIRECTORY = "select code, path::text as path, level::text as level from regions_by_code($1::text[])"


@dataclass(frozen=True)
class Known:
    code: str
    path: Path
    level: str


class RegionDirectory:
    """Codes to paths for the whole tree, filled lazily: the tree changes only on import."""

    def __init__(self, pool: asyncpg.Pool, limit: int = 200_000) -> None:
        self._pool = pool
        self._known: dict[str, Known] = {}
        self._limit = limit

    async def lookup(self, codes: Iterable[str]) -> dict[str, Known]:
        wanted = set(codes)
        missing = [c for c in wanted if c not in self._known]
        if missing:
            with database_reachable():
                rows = await self._pool.fetch(DIRECTORY, missing)
            if len(self._known) + len(rows) > self._limit:
                self._known.clear()
            for row in rows:
                self._known[row["code"]] = Known(row["code"], row["path"], row["level"])
        return {c: self._known[c] for c in wanted if c in self._known}

    async def under(self, scope: tuple[Path, ...], code: str | None) -> tuple[Path, ...]:
        """The part of `scope` under region `code`; empty for an unknown or foreign region."""
        if code is None:
            return scope
        check_region_code(code, "under")
        found = (await self.lookup([code])).get(code)
        return within(scope, found.path) if found else ()


async def by_codes(session: RequestSession, codes: list[str]) -> list[asyncpg.Record]:
    return await session.fetch(BY_CODE, codes)


async def children(
    session: RequestSession, parents: list[str], first: int, after: str | None
) -> list[asyncpg.Record]:
    return await session.fetch(CHILDREN, parents, after, first + 1)


async def child_counts(session: RequestSession, parents: list[str]) -> dict[str, int]:
    rows = await session.fetch(CHILD_COUNTS, parents)
    return {row["parent_code"]: row["n"] for row in rows}


LIST_NAME = "regions"


async def region_list(
    session: RequestSession,
    codec: CursorCodec,
    paths: tuple[Path, ...],
    level: str | None,
    name_contains: str | None,
    first: int | None,
    after: str | None,
) -> Page:
    size = page_size(first)
    if not paths:
        return empty_page()
    position = codec.decode(LIST_NAME, after)[0] if after is not None else None
    pattern = like_pattern(name_contains)
    rows = await session.fetch(LIST, list(paths), level, pattern, position, size + 1)

    async def count() -> int | None:
        return int(await session.fetchval(LIST_COUNT, list(paths), level, pattern))

    return make_page(rows, size, after, codec, LIST_NAME, lambda r: [r["code"]], count)
