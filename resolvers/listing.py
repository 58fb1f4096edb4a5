"""Scoped keyset lists over one table, at the root or batched per region.

Each domain describes its list once (`ListSpec`): the columns it selects, its filters and
its orders. From that come four statements, built once from those constant fragments and
cached: a root page, a root count, a page per region (one statement for every region of a
batch) and a count per region. Parameters are always laid out the same way:

    $1 target paths (ltree[], or one ltree)  $2… filters  then the limit and the cursor's
    values; the caller's scopes are bound where the statement names them
    (`resolvers/scope_sql.py`): each target must lie in the list's scope (read, or auditor
    for the audit log).

A target is a subtree, selected as the range of region codes `[code, code || ':')`: codes
start with their parent's code, and byte-wise text comparison is leakproof, so PostgreSQL
may use it in an index under row-level security (ltree operators are not leakproof).
The nation, whose code is no prefix, is the range `['', ':')`.

One target (the usual case: one jurisdiction, or one region's list) is passed as a plain
text parameter rather than through `unnest`, so that the planner sees the code and can
choose between walking the newest rows of the whole table and sorting a small subtree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg

from resolvers.errors import BadUserInput
from resolvers.ids import CursorCodec
from resolvers.pagination import (
    DEFAULT_FIRST,
    MAX_FIRST,
    LazyCursors,
    Page,
    empty_page,
    make_page,
    page_size,
)
from resolvers.scope import Path
from resolvers.scope_sql import ScopeKind, in_scope, unmasked
from resolvers.session import RequestSession

Row = asyncpg.Record


@dataclass(frozen=True)
class Order:
    name: str
    # `{t}` is the alias of the rows being ordered.
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
    filters: str  # uses $2 … $(1 + filter_count)
    filter_count: int
    orders: dict[str, Order]
    # Rows of this type carry personal data: reading them unmasked is audited.
    record_type: str | None = None
    # Joined to every page's rows (not to counts), for columns beside the record's own.
    join: str = ""
    # The scope the targets must lie in.
    scope: ScopeKind = "read"
    # The `$n` of a free-text filter, which matches unmasked text where the caller has `pii`:
    # the rows it matches there are audited by id (never the text), shown or not.
    text_filter: int | None = None

    def order(self, name: str | None) -> Order:
        """The order called `name` (the first when None); `~NAME` is its reverse, which
        pages backward."""
        if name and name.startswith(REVERSED):
            return _reversed(self.order(name[len(REVERSED) :]))
        return self.orders[name] if name else next(iter(self.orders.values()))


REVERSED = "~"


def _top_level_terms(order_by: str) -> list[str]:
    """`a, coalesce(b, c) desc` → [`a`, `coalesce(b, c) desc`]."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(order_by):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(order_by[start:i].strip())
            start = i + 1
    return [*terms, order_by[start:].strip()]


def _flip(term: str) -> str:
    if term.endswith(" desc"):
        return term[: -len(" desc")] + " asc"
    if term.endswith(" asc"):
        return term[: -len(" asc")] + " desc"
    return term + " desc"


@cache
def _reversed(order: Order) -> Order:
    """The same order walked the other way: every term flipped, the cursor comparison too
    (each order compares one row tuple with `<` or `>`). Its cursors are the order's own."""
    compare = (
        order.after.replace(" < (", " > (")
        if " < (" in order.after
        else (order.after.replace(" > (", " < ("))
    )
    flipped = ", ".join(_flip(t) for t in _top_level_terms(order.order_by))
    return Order(REVERSED + order.name, flipped, compare, order.key)


def _target(target: str, deep: bool) -> str:
    low = f"subtree_low({target})"
    if not deep:
        return f"t.region_code = {low}"
    return f't.region_code >= {low} collate "C" and t.region_code < ({low} || \':\') collate "C"'


def _where(spec: ListSpec, deep: bool, target: str) -> str:
    return f"{_target(target, deep)} and {spec.filters}"


def _cursor(spec: ListSpec, order: Order) -> tuple[str, str]:
    first = 2 + spec.filter_count
    count = order.after.count("{")
    casts = [f"${first + 1 + i}::text" for i in range(count)]
    return f"${first}", f"({casts[0]} is null or {order.after.format(*casts)})"


# Several targets: one lateral page each, from the targets that lie in the list's scope.
TARGETS = "unnest($1::ltree[]) as k(key)"
# One target: a plain parameter, checked once against the list's scope.
ONE = "$1::ltree"


def _lateral(spec: ListSpec, order: Order, deep: bool) -> str:
    limit, after = _cursor(spec, order)
    return (
        f"from {TARGETS} cross join lateral ("
        f"select {spec.columns} from {spec.table} t {spec.join} "
        f"where {_where(spec, deep, 'k.key')} "
        f"and {after} order by {order.order_by.format(t='t')} limit {limit}) s "
        f"where {in_scope('k.key', spec.scope)}"
    )


@cache
def single_sql(spec: ListSpec, order_name: str, deep: bool) -> str:
    """The page of one target, `$1` its path."""
    order = spec.order(order_name)
    limit, after = _cursor(spec, order)
    return (
        f"select $1::text as batch_key, {spec.columns} from {spec.table} t {spec.join} "
        f"where {in_scope(ONE, spec.scope)} and {_where(spec, deep, ONE)} and {after} "
        f"order by {order.order_by.format(t='t')} limit {limit}"
    )


@cache
def single_count_sql(spec: ListSpec, deep: bool) -> str:
    return (
        f"select count(*) from {spec.table} t "
        f"where {in_scope(ONE, spec.scope)} and {_where(spec, deep, ONE)}"
    )


@cache
def root_sql(spec: ListSpec, order_name: str) -> str:
    order = spec.order(order_name)
    limit, _ = _cursor(spec, order)
    ordered = order.order_by.format(t="s")
    return f"select s.* {_lateral(spec, order, True)} order by {ordered} limit {limit}"


@cache
def nested_sql(spec: ListSpec, order_name: str, deep: bool) -> str:
    return f"select k.key::text as batch_key, s.* {_lateral(spec, spec.order(order_name), deep)}"


def _count_each(spec: ListSpec, deep: bool) -> str:
    return f"(select count(*) from {spec.table} t where {_where(spec, deep, 'k.key')})"


@cache
def root_count_sql(spec: ListSpec) -> str:
    return (
        f"select coalesce(sum({_count_each(spec, True)}), 0) from {TARGETS} "
        f"where {in_scope('k.key', spec.scope)}"
    )


@cache
def nested_count_sql(spec: ListSpec, deep: bool) -> str:
    return (
        f"select k.key::text as batch_key, {_count_each(spec, deep)} as n from {TARGETS} "
        f"where {in_scope('k.key', spec.scope)}"
    )


@cache
def matched_sql(spec: ListSpec, deep: bool) -> str:
    """The id and path of every row the filters match where the caller reads it unmasked."""
    return (
        f"select t.id, t.path::text as path from {TARGETS} join {spec.table} t "
        f"on {_where(spec, deep, 'k.key')} "
        f"where {in_scope('k.key', spec.scope)} and {unmasked('t.path')}"
    )


async def note_text_matches(
    session: RequestSession,
    spec: ListSpec,
    paths: Sequence[Path],
    deep: bool,
    filters: Sequence[Any],
) -> None:
    """Audit what a text filter matched in clear text: the page and the count tell whether
    a number occurs even when they show no row (`first: 0`)."""
    if spec.text_filter is None or spec.record_type is None or not paths:
        return
    if not session.caller.pii or filters[spec.text_filter - 2] is None:
        return
    rows = await session.fetch(matched_sql(spec, deep), list(paths), *filters)
    session.note_personal(spec.record_type, rows)


def _targets(paths: Sequence[Path]) -> str | list[str]:
    """What `$1` is: the path of a single target, or the array of several."""
    return paths[0] if len(paths) == 1 else list(paths)


@dataclass(frozen=True)
class ListArgs:
    """One list request's arguments, hashable so that loaders can batch by them. Paging
    backward (`last`/`before`), `order` is the reversed order (`~NAME`) and `after` the
    `before` cursor."""

    filters: tuple[Any, ...]
    order: str
    size: int
    after: str | None

    @property
    def backward(self) -> bool:
        return self.order.startswith(REVERSED)

    @property
    def cursor_list(self) -> str:
        """The order whose cursors these are: the forward one, both ways."""
        return self.order.removeprefix(REVERSED)


def list_args(
    spec: ListSpec,
    codec: CursorCodec,
    filters: Sequence[Any],
    order: str | None,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> ListArgs:
    check_direction(first, after, last, before)
    chosen = spec.order(order)
    cursor = before if last is not None or before is not None else after
    if cursor is not None:
        codec.decode(f"{spec.name}:{chosen.name}", cursor)  # refuse a bad cursor early
    if last is not None or before is not None:
        size = _last(last)
        return ListArgs(tuple(filters), REVERSED + chosen.name, size, before)
    return ListArgs(tuple(filters), chosen.name, page_size(first), after)


def _last(last: int | None) -> int:
    if last is None:
        return DEFAULT_FIRST
    if last < 0 or last > MAX_FIRST:
        raise BadUserInput(
            f"`last` must be between 0 and {MAX_FIRST}, not {last}", reason="PAGE_SIZE"
        )
    return last


def check_direction(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> None:
    """A page goes one way: forward (`first`, `after`) or backward (`last`, `before`)."""
    if (first is not None or after is not None) and (last is not None or before is not None):
        raise BadUserInput(
            "Page forward (`first`, `after`) or backward (`last`, `before`), not both",
            reason="PAGING_BOTH_WAYS",
        )


def _position(spec: ListSpec, codec: CursorCodec, args: ListArgs) -> list[str | None]:
    order = spec.order(args.order)
    if args.after is None:
        return [None] * order.after.count("{")
    return [str(v) for v in codec.decode(f"{spec.name}:{args.cursor_list}", args.after)]


def page_of(
    spec: ListSpec,
    codec: CursorCodec,
    args: ListArgs,
    rows: Sequence[Row],
    count: Callable[[], Any],
) -> Page:
    order = spec.order(args.order)
    name = f"{spec.name}:{args.cursor_list}"
    page = make_page(rows, args.size, args.after, codec, name, order.key, count)
    if not args.backward:
        return page
    # Fetched nearest-first in the reversed order: shown in the list's own order.
    shown = list(page.rows)[::-1]
    return Page(
        shown,
        LazyCursors(shown, codec, name, order.key),
        has_next=args.after is not None,
        has_previous=page.has_next,
        count=page.count,
    )


async def root_page(
    session: RequestSession,
    codec: CursorCodec,
    spec: ListSpec,
    targets: tuple[Path, ...],
    args: ListArgs,
) -> Page:
    """A page of the records under `targets` (disjoint subtrees, as scope paths)."""
    if not targets:
        return empty_page()
    single = len(targets) == 1
    base = [_targets(targets), *args.filters]
    sql = single_sql(spec, args.order, True) if single else root_sql(spec, args.order)
    rows = await session.fetch(sql, *base, args.size + 1, *_position(spec, codec, args))

    async def count() -> int | None:
        counting = single_count_sql(spec, True) if single else root_count_sql(spec)
        return int(await session.fetchval(counting, *base))

    page = page_of(spec, codec, args, rows, count)
    if spec.record_type is not None:
        session.note_personal(spec.record_type, page.rows)
    await note_text_matches(session, spec, targets, True, args.filters)
    return page


async def nested_rows(
    session: RequestSession,
    codec: CursorCodec,
    spec: ListSpec,
    paths: Sequence[Path],
    deep: bool,
    args: ListArgs,
) -> dict[Path, list[Row]]:
    """A page per region path, in one statement."""
    single = len(paths) == 1
    sql = single_sql(spec, args.order, deep) if single else nested_sql(spec, args.order, deep)
    rows = await session.fetch(
        sql,
        _targets(paths),
        *args.filters,
        args.size + 1,
        *_position(spec, codec, args),
    )
    grouped: dict[Path, list[Row]] = {path: [] for path in paths}
    for row in rows:
        grouped[row["batch_key"]].append(row)
    if spec.record_type is not None:
        for group in grouped.values():
            session.note_personal(spec.record_type, group[: args.size])
    await note_text_matches(session, spec, paths, deep, args.filters)
    return grouped


async def nested_counts(
    session: RequestSession,
    spec: ListSpec,
    paths: Sequence[Path],
    deep: bool,
    filters: tuple[Any, ...],
) -> dict[Path, int]:
    await note_text_matches(session, spec, paths, deep, filters)
    if len(paths) == 1:
        n = await session.fetchval(single_count_sql(spec, deep), paths[0], *filters)
        return {paths[0]: int(n)}
    rows = await session.fetch(nested_count_sql(spec, deep), list(paths), *filters)
    return {row["batch_key"]: int(row["n"]) for row in rows}
