"""Scoped keyset lists over one table, at the root or batched per region.

Each domain describes its list once (`ListSpec`): the columns it selects, its filters and
its orders. From that come four statements, built once from those constant fragments and
cached: a root page, a root count, a page per region (one statement for every region of a
batch) and a count per region. Parameters are always laid out the same way:

    $1 read scope   $2 pii scope   $3 targets (ltree[])   $4… filters   then limit, cursor…
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg

from resolvers.ids import CursorCodec
from resolvers.pagination import Page, empty_page, make_page, page_size
from resolvers.scope import Path
from resolvers.session import RequestSession

Row = asyncpg.Record


@dataclass(frozen=True)
class Order:
    name: str
    order_by: str
    # Comparison with the cursor position; `{0}`, `{1}`… are the cursor's parameters,
    # passed as text and cast in the comparison.
    after: str
    key: Callable[[Row], list[str]]


@dataclass(frozen=True, eq=False)
class ListSpec:
    name: str
    table: str
    columns: str
    filters: str  # uses $4 … $(3 + filter_count)
    filter_count: int
    orders: dict[str, Order]

    def order(self, name: str | None) -> Order:
        return self.orders[name] if name else next(iter(self.orders.values()))


def _where(spec: ListSpec, target: str) -> str:
    # `$2` (the pii scope) is typed here for the statements whose filters do not use it.
    return (
        f"t.path <@ any($1::ltree[]) and cardinality($2::ltree[]) >= 0 and {target} "
        f"and {spec.filters}"
    )


def _cursor(spec: ListSpec, order: Order) -> tuple[str, str]:
    first = 4 + spec.filter_count
    count = order.after.count("{")
    params = [f"${first + 1 + i}" for i in range(count)]
    casts = [f"{p}::text" for p in params]
    return f"${first}", f"({casts[0]} is null or {order.after.format(*casts)})"


@lru_cache(maxsize=None)
def root_sql(spec: ListSpec, order_name: str) -> str:
    order = spec.order(order_name)
    limit, after = _cursor(spec, order)
    return (
        f"select {spec.columns} from {spec.table} t "
        f"where {_where(spec, 't.path <@ any($3::ltree[])')} and {after} "
        f"order by {order.order_by} limit {limit}"
    )


@lru_cache(maxsize=None)
def root_count_sql(spec: ListSpec) -> str:
    return f"select count(*) from {spec.table} t where {_where(spec, 't.path <@ any($3::ltree[])')}"


def _target(deep: bool) -> str:
    return "t.path <@ k.key" if deep else "t.path = k.key"


@lru_cache(maxsize=None)
def nested_sql(spec: ListSpec, order_name: str, deep: bool) -> str:
    order = spec.order(order_name)
    limit, after = _cursor(spec, order)
    return (
        "select k.key::text as batch_key, s.* from unnest($3::ltree[]) as k(key) "
        f"cross join lateral (select {spec.columns} from {spec.table} t "
        f"where {_where(spec, _target(deep))} and {after} "
        f"order by {order.order_by} limit {limit}) s"
    )


@lru_cache(maxsize=None)
def nested_count_sql(spec: ListSpec, deep: bool) -> str:
    return (
        "select k.key::text as batch_key, (select count(*) from "
        f"{spec.table} t where {_where(spec, _target(deep))}) as n "
        "from unnest($3::ltree[]) as k(key)"
    )


@dataclass(frozen=True)
class ListArgs:
    """One list request's arguments, hashable so that loaders can batch by them."""

    filters: tuple[Any, ...]
    order: str
    size: int
    after: str | None


def list_args(
    spec: ListSpec, codec: CursorCodec, filters: Sequence[Any], order: str | None,
    first: int | None, after: str | None,
) -> ListArgs:
    chosen = spec.order(order)
    if after is not None:
        codec.decode(f"{spec.name}:{chosen.name}", after)  # refuse a bad cursor early
    return ListArgs(tuple(filters), chosen.name, page_size(first), after)


def _position(spec: ListSpec, codec: CursorCodec, args: ListArgs) -> list[Any]:
    order = spec.order(args.order)
    width = order.after.count("{")
    if args.after is None:
        return [None] * width
    return [str(v) for v in codec.decode(f"{spec.name}:{order.name}", args.after)]


def page_of(
    spec: ListSpec, codec: CursorCodec, args: ListArgs, rows: Sequence[Row],
    count: Callable[[], Any],
) -> Page:
    order = spec.order(args.order)
    return make_page(rows, args.size, args.after, codec, f"{spec.name}:{order.name}", order.key, count)


async def root_page(
    session: RequestSession, codec: CursorCodec, spec: ListSpec, read: tuple[Path, ...],
    pii: tuple[Path, ...], targets: tuple[Path, ...], args: ListArgs,
) -> Page:
    if not targets:
        return empty_page()
    base = [list(read), list(pii), list(targets), *args.filters]
    rows = await session.fetch(
        root_sql(spec, args.order), *base, args.size + 1, *_position(spec, codec, args)
    )

    async def count() -> int | None:
        return int(await session.fetchval(root_count_sql(spec), *base))

    return page_of(spec, codec, args, rows, count)


async def nested_rows(
    session: RequestSession, codec: CursorCodec, spec: ListSpec, read: tuple[Path, ...],
    pii: tuple[Path, ...], keys: Sequence[Path], deep: bool, args: ListArgs,
) -> dict[Path, list[Row]]:
    rows = await session.fetch(
        nested_sql(spec, args.order, deep), list(read), list(pii), list(keys), *args.filters,
        args.size + 1, *_position(spec, codec, args),
    )
    grouped: dict[Path, list[Row]] = {key: [] for key in keys}
    for row in rows:
        grouped[row["batch_key"]].append(row)
    return grouped


async def nested_counts(
    session: RequestSession, spec: ListSpec, read: tuple[Path, ...], pii: tuple[Path, ...],
    keys: Sequence[Path], deep: bool, filters: tuple[Any, ...],
) -> dict[Path, int]:
    rows = await session.fetch(
        nested_count_sql(spec, deep), list(read), list(pii), list(keys), *filters
    )
    return {row["batch_key"]: int(row["n"]) for row in rows}
