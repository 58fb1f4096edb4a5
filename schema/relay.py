"""Relay plumbing shared by every domain: Node, connections, edges and page info."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.federation.schema_directives import Shareable

from resolvers.context import Context
from resolvers.pagination import Page
from resolvers.turnstile import in_turns
from schema.compiled import EDGES_RESOLVERS

T = TypeVar("T")


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id.")


@strawberry.type(description="Where a page stands in its list.", directives=[Shareable()])
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items come before this page.")
    start_cursor: str | None = strawberry.field(
        description="The first edge's cursor; null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor (pass it as `after`); null on an empty page."
    )


def _edge_cursor(root: Edge[Any]) -> str:
    return root._cursors[root._index]


@strawberry.type(description="A node with its cursor.")
class Edge(Generic[T]):
    # Signed only when selected (resolvers/pagination.py `LazyCursors`).
    cursor: str = strawberry.field(
        resolver=_edge_cursor, description="Opaque position of this node in its list and order."
    )
    node: T = strawberry.field(description="The item.")
    _cursors: strawberry.Private[Sequence[str]]
    _index: strawberry.Private[int]


def _connection_edges(  # type: ignore[no-untyped-def]  # no return type: the field's is used
    root: Connection[Any], info: strawberry.Info[Context, None]
):
    # A heavy request's long page is completed in chunks, taking turns of the loop (the
    # field's type is the attribute's: `list[Edge[T]]`).
    return in_turns(root._edges, info.context.paused)


EDGES_RESOLVERS.add(_connection_edges)  # compiled lists read `_edges` (schema/compiled.py)


@strawberry.type(description="A page of a list, Relay style.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(
        description="The page's items with their cursors.", resolver=_connection_edges
    )
    page_info: PageInfo = strawberry.field(description="Where the page stands in the list.")
    _page: strawberry.Private[Page]
    _edges: strawberry.Private[list[Edge[T]]]

    @strawberry.field(
        description="How many items the whole list holds (all pages); null when it cannot be "
        "counted within the request's time budget."
    )
    async def total_count(self) -> int | None:
        return await self._page.count()


def connection(page: Page, convert: Callable[..., T]) -> Connection[T]:
    cursors = page.cursors
    edges = [Edge(node=convert(row), _cursors=cursors, _index=i) for i, row in enumerate(page.rows)]
    info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
    return Connection(page_info=info, _page=page, _edges=edges)


@strawberry.type(description="How many of one value; `label` is the value's Chinese name.")
class KindCount:
    key: str = strawberry.field(description="The value (an enum name, code or period key).")
    label: str = strawberry.field(description="The value's Chinese label.")
    count: int = strawberry.field(description="How many.")


@strawberry.type(
    description="A person named on a record. Masked (张*, 138****5678) unless the "
    "caller holds `pii` for the record's region."
)
class Person:
    name: str = strawberry.field(description="The name; masked (张*) without `pii`.")
    role: str | None = strawberry.field(description="Their role or title, if recorded.")
    phone: str | None = strawberry.field(
        description="The phone number; masked (138****5678) without `pii`."
    )
