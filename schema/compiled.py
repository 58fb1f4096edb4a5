"""Compiled lists: a connection's `edges` completed without graphql-core's per-field work.

graphql-core completes a list of 50 edges of 9 fields as ~500 `execute_field` +
`complete_value` calls; that is most of a list query's CPU (benchmarks/README.md). For the
shape below, the page's edges are turned into their answer dicts directly, by converters
built once per parsed document (cached with its field node) from the schema itself:

- `edges` of a `Connection` (its own resolver, `schema/relay.py` `_connection_edges`), with
  a selection made only of fields — aliases allowed, no fragments, no directives, no
  response key twice; inside it `cursor`, `node`, `__typename`;
- on the node and on objects below it: leaf fields (scalars, enums) and object fields that
  are plain attributes or resolvers taking only `self`/`root`, without arguments,
  permissions or field extensions; a field registered in `PAGE_FUTURES` (a resolver that
  returns a loader's future, as `handledBy`), whose futures for the whole page are awaited
  together (the loader sends one statement for the page, as it does under graphql-core).

Everything else — the root field with its arguments, scope guard and limits, the statement
that read the rows (scope bound, row-level security, masking in SQL, the personal-data audit)
— ran before and runs unchanged: only the completion of the list is compiled. Leaves are
written by each type's own `coerce_output_value`. Any value the executor would turn into an
error (a null in a non-null field, a value its serializer refuses, a failed load) makes the
whole list fall back to graphql-core, which then answers with its own errors; so does a
heavy request that takes turns of the loop (`resolvers/turnstile.py`), and any selection
outside the shape. `HUB_COMPILED_LISTS=false` turns the path off.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, cast

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

BACKREF = "strawberry-definition"
CACHE_SIZE = 1024

# Resolvers that return a loader's future for one object: (function of the resolver) →
# (object, request context) → the same future, or None for a null answer.
PAGE_FUTURES: dict[Callable[..., Any], Callable[[Any, Any], Awaitable[Any] | None]] = {}

# The connection's `edges` resolver (set by schema/relay.py): its source's `_edges` is the
# list it returns.
EDGES_RESOLVERS: set[Callable[..., Any]] = set()


def page_future(
    future: Callable[[Any, Any], Awaitable[Any] | None],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Marks a resolver whose answer is `future(self, info.context)`: compiled lists call
    `future` for every object of the page and await them together."""

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        PAGE_FUTURES[function] = future
        return function

    return mark


class Fallback(Exception):
    """A value the compiled path does not answer exactly as graphql-core would."""


Pending = list[tuple[dict[str, Any], str, Awaitable[Any], Callable[[Any], Any], bool]]


def _strawberry_field(field: GraphQLField) -> Any:
    return (field.extensions or {}).get(BACKREF)


def _getter(field: Any) -> Callable[[Any], Any] | None:
    """How graphql-core's resolver would read the field from its object, when that is a
    plain attribute or a sync resolver of the object alone; None otherwise."""
    if field is None or field.permission_classes or field.extensions:
        return None
    resolver = field.base_resolver
    if resolver is None:
        name = field.python_name

        def attribute(obj: Any) -> Any:
            return getattr(obj, name)

        return attribute
    if resolver.is_async or resolver.arguments:
        return None
    function = resolver.wrapped_func
    if not inspect.isfunction(function):
        return None
    parameters = list(inspect.signature(function).parameters)
    if len(parameters) != 1 or parameters[0] not in ("self", "root"):
        return None
    return function


Builder = Callable[[Any, "Pending", Any], dict[str, Any]]
Fill = Callable[[Any, dict[str, Any], "Pending", Any], None]


def _leaf(key: str, getter: Callable[[Any], Any], field: GraphQLField) -> Fill:
    non_null = is_non_null_type(field.type)
    coerce = cast("GraphQLLeafType", get_named_type(field.type)).coerce_output_value

    def fill(obj: Any, answer: dict[str, Any], pending: Pending, ctx: Any) -> None:
        value = getter(obj)
        if value is None:
            if non_null:
                raise Fallback
            answer[key] = None
            return
        if isinstance(value, Exception):
            raise Fallback
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Fallback
        answer[key] = coerced

    return fill


def _object(key: str, getter: Callable[[Any], Any], non_null: bool, below: Builder) -> Fill:
    def fill(obj: Any, answer: dict[str, Any], pending: Pending, ctx: Any) -> None:
        value = getter(obj)
        if value is None or isinstance(value, Exception):
            if non_null or value is not None:
                raise Fallback
            answer[key] = None
            return
        answer[key] = below(value, pending, ctx)

    return fill


def _future(
    key: str,
    future_of: Callable[[Any, Any], Awaitable[Any] | None],
    non_null: bool,
    below: Builder,
) -> Fill:
    def fill(obj: Any, answer: dict[str, Any], pending: Pending, ctx: Any) -> None:
        awaited = future_of(obj, ctx)
        answer[key] = None  # the key's place in the answer; set once the page is loaded
        if awaited is None:
            if non_null:
                raise Fallback
            return

        def build(value: Any) -> dict[str, Any]:
            return below(value, pending, ctx)

        pending.append((answer, key, awaited, build, non_null))

    return fill


def _typename(key: str, name: str) -> Fill:
    def fill(obj: Any, answer: dict[str, Any], pending: Pending, ctx: Any) -> None:
        answer[key] = name

    return fill


def _field(schema: GraphQLSchema, parent: GraphQLObjectType, selection: FieldNode) -> Fill | None:
    """How one selected field is written into its object's answer, or None."""
    key = selection.alias.value if selection.alias else selection.name.value
    name = selection.name.value
    if name == "__typename":
        return _typename(key, parent.name)
    field = parent.fields.get(name)
    if field is None or field.args:
        return None
    definition = _strawberry_field(field)
    named = get_named_type(field.type)
    non_null = is_non_null_type(field.type)
    if is_list_type(field.type.of_type if non_null else field.type):
        return None
    resolver = definition.base_resolver if definition is not None else None
    future_of = PAGE_FUTURES.get(resolver.wrapped_func) if resolver is not None else None
    if future_of is not None:
        if not is_object_type(named) or definition.permission_classes or definition.extensions:
            return None
        below = _selection(schema, named, selection)
        return _future(key, future_of, non_null, below) if below is not None else None
    getter = _getter(definition)
    if getter is None:
        return None
    if is_leaf_type(named):
        return _leaf(key, getter, field) if selection.selection_set is None else None
    if is_object_type(named):
        below = _selection(schema, named, selection)
        return _object(key, getter, non_null, below) if below is not None else None
    return None  # interfaces and unions: graphql-core resolves the runtime type


def _selection(schema: GraphQLSchema, parent: GraphQLObjectType, node: FieldNode) -> Builder | None:
    """The dict builder of `node`'s selection on objects of `parent`, or None."""
    if node.selection_set is None:
        return None
    fills: list[Fill] = []
    keys: set[str] = set()
    for selection in node.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            return None
        key = selection.alias.value if selection.alias else selection.name.value
        fill = _field(schema, parent, selection) if key not in keys else None
        if fill is None:
            return None
        keys.add(key)
        fills.append(fill)

    def build(obj: Any, pending: Pending, ctx: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for fill in fills:
            fill(obj, answer, pending, ctx)
        return answer

    return build


class ListCompiler:
    """The compiled `edges` of each connection type in the schema, per field node."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.connections: set[str] = set()
        for name, named in schema.type_map.items():
            if not isinstance(named, GraphQLObjectType) or name.startswith("__"):
                continue
            edges = named.fields.get("edges")
            definition = _strawberry_field(edges) if edges is not None else None
            resolver = definition.base_resolver if definition is not None else None
            if resolver is not None and resolver.wrapped_func in EDGES_RESOLVERS:
                self.connections.add(name)
        self._plans: dict[tuple[int, str], tuple[FieldNode, Any]] = {}

    def plan(self, parent: GraphQLObjectType, node: FieldNode) -> Any:
        cache_key = (id(node), parent.name)
        cached = self._plans.get(cache_key)
        if cached is not None and cached[0] is node:
            return cached[1]
        plan = self._compile(parent, node)
        if len(self._plans) >= CACHE_SIZE:
            self._plans.clear()
        self._plans[cache_key] = (node, plan)  # the node is kept: its id is not reused
        return plan

    def _compile(self, parent: GraphQLObjectType, node: FieldNode) -> Any:
        if node.directives or node.arguments:
            return None
        edges_type = parent.fields["edges"].type
        # [Edge!]! exactly: a list of non-null edges, itself non-null.
        if not is_non_null_type(edges_type) or not is_list_type(edges_type.of_type):
            return None
        item = edges_type.of_type.of_type
        if not isinstance(item, GraphQLNonNull) or not is_object_type(item.of_type):
            return None
        return _selection(self.schema, item.of_type, node)

    @staticmethod
    def run(plan: Any, source: Any, ctx: Any) -> list[dict[str, Any]] | Awaitable[Any]:
        pending: Pending = []
        answer = [plan(edge, pending, ctx) for edge in source._edges]
        if not pending:
            return answer
        return _settle(answer, pending)


async def _settle(answer: list[dict[str, Any]], pending: Pending) -> list[dict[str, Any]]:
    waiting = list(pending)
    values = await asyncio.gather(*(awaited for _, _, awaited, _, _ in waiting))
    for (target, key, _, build, non_null), value in zip(waiting, values, strict=True):
        if value is None:
            if non_null:
                raise Fallback
            continue
        target[key] = build(value)
    if len(pending) > len(waiting):
        raise Fallback  # a loaded object with futures of its own: not compiled
    return answer


def execution_context(compiler: ListCompiler) -> type[StrawberryGraphQLCoreExecutionContext]:
    """Strawberry's execution context, completing compiled lists itself."""
    connections = compiler.connections

    class CompiledLists(StrawberryGraphQLCoreExecutionContext):
        # (parent_type, source, field_details_list, path, position_context), as graphql-core
        # passes them; taken whole so the fallback passes them on unchanged.
        def execute_field(self, *args: Any) -> Any:
            parent_type, source, field_details_list = args[0], args[1], args[2]
            if parent_type.name in connections and len(field_details_list) == 1:
                details = field_details_list[0]
                node = details.node
                paused = getattr(self.context_value, "paused", None)
                if (
                    node.name.value == "edges"
                    and details.defer_usage is None
                    and details.fragment_variable_values is None
                    and paused is not None
                    and not paused.queues
                ):
                    plan = compiler.plan(parent_type, node)
                    if plan is not None:
                        try:
                            result = compiler.run(plan, source, self.context_value)
                        except Exception:  # graphql-core answers with its errors
                            pass
                        else:
                            if isinstance(result, list):
                                return result
                            return self._finish(result, args)
            return super().execute_field(*args)

        async def _finish(self, result: Awaitable[Any], args: tuple[Any, ...]) -> Any:
            try:
                return await result
            except Exception:  # graphql-core answers it with its own errors
                pass
            value = super().execute_field(*args)
            return await value if self.is_awaitable(value) else value

    return CompiledLists
