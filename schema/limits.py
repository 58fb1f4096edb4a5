"""Hostile-query limits, checked after parsing and before validation and execution.

Depth (edges and node count as levels), aliases and cost are measured over the operation
that would run, with every fragment expanded where it is spread, so fragments cannot hide
aliases or nesting, and with arguments read as they will run: literals, variables, and the
defaults of variables not given. Every list multiplies what is selected below it (the cost
table, README "Cost of a query"): a connection by its `first` (`last`; 50 when omitted),
`nodes` by its ids, `_entities` by its representations, `ancestors` by 6, `history` and
`resolutions` by 20, a breakdown by its rows; each figures object (`stats`, a breakdown row)
weighs 10. Text arguments holding a NUL byte are refused here too: PostgreSQL cannot store
one, and no field has a use for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    TokenKind,
    get_named_type,
    value_from_ast_untyped,
    visit,
)
from graphql.language import Lexer, Source, Visitor
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers import periods
from resolvers.errors import BadUserInput, HubError, QueryTooComplex
from resolvers.figures import MAX_PERIOD_ROWS, Clock, checked_period
from resolvers.pagination import DEFAULT_FIRST

MAX_DEPTH = 15
MAX_ALIASES = 50
MAX_TOKENS = 10_000
MAX_COST = 50_000
# Operations costing this much or more execute HEAVY_AT_ONCE at a time per hub process.
HEAVY_COST = 10_000
HEAVY_AT_ONCE = 1

# Sizes of the plain lists; any other list of objects counts as DEFAULT_LIST.
PLAIN_LISTS = {"ancestors": 6, "history": 20, "resolutions": 20}
DEFAULT_LIST = 20
# Lists bounded by an enum, part of the figures they belong to.
FIGURE_PARTS = frozenset({"KindCount"})
FIGURES_WEIGHT = 10
# Rows of a breakdown: CHILD rows by the most children a region of the level has in the
# national division data (a region reached through a list: 50), other keys by their values.
CHILD_ROWS = {2: 25, 4: 30, 6: 60, 9: 200, 12: 0}
UNKNOWN_CHILDREN = 50
KEY_ROWS = {"SERVICE_CATEGORY": 12, "ORGANIZATION_KIND": 10, "PARTICIPATION_KIND": 7}


@dataclass
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0
    refusal: BadUserInput | None = None


def count_tokens(query: str, limit: int) -> int:
    """Tokens in `query`, counting no further than `limit + 1`."""
    lexer = Lexer(Source(query))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
        if count > limit:
            break
    return count


def _count(value: Any, default: int) -> int:
    return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) else default


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.measure = Measure()
        self.refusal: BadUserInput | None = None  # an argument refused on the way
        self.today: dt.date | None = None  # periods are checked when the day is known

    def argument(self, field: FieldNode, name: str) -> Any:
        for argument in field.arguments or ():
            if argument.name.value == name:
                return value_from_ast_untyped(argument.value, self.variables)
        return None

    def _fields(
        self, selections: SelectionSetNode, parent: Any, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, Any]]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                yield from self._fields(selection.selection_set, target, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                yield from self._fields(fragment.selection_set, target, seen | {name})

    def _breakdown_rows(self, field: FieldNode, code_length: int | None) -> int:
        by = self.argument(field, "by")
        if by == "CHILD":
            if code_length is None:
                return UNKNOWN_CHILDREN
            return CHILD_ROWS.get(code_length, UNKNOWN_CHILDREN)
        if by in periods.GRAINS:
            start = _day(self.argument(field, "from"))
            end = _day(self.argument(field, "to"))
            if start is None or end is None or start > end:
                return MAX_PERIOD_ROWS
            return min(periods.count_between(by, start, end), MAX_PERIOD_ROWS)
        return KEY_ROWS.get(by, UNKNOWN_CHILDREN) if isinstance(by, str) else UNKNOWN_CHILDREN

    def _size(
        self, field: FieldNode, type_: Any, owner: str, code_length: int | None
    ) -> tuple[int, int]:
        """How many items the field gives per parent, and the weight of each."""
        name = field.name.value
        named = get_named_type(type_)
        if named.name.endswith("Connection"):
            first = self.argument(field, "first")
            last = self.argument(field, "last")
            return _count(first if first is not None else last, DEFAULT_FIRST), 1
        if name == "stats":
            return 1, 0 if owner == "BreakdownRow" else FIGURES_WEIGHT
        if name == "breakdown":
            return self._breakdown_rows(field, code_length), FIGURES_WEIGHT
        if not _is_list(type_) or name == "edges" or named.name in FIGURE_PARTS:
            return 1, 0
        if name == "nodes":
            ids = self.argument(field, "ids")
            return (len(ids) if isinstance(ids, list) else 1), 1
        if name == "_entities":
            given = self.argument(field, "representations")
            self.refusal = self.refusal or representations_refusal(self.schema, given)
            return (len(given) if isinstance(given, list) else 1), 1
        return PLAIN_LISTS.get(name, DEFAULT_LIST), 1

    def _check_period(self, field: FieldNode) -> None:
        """A period beyond the limits (DESIGN.md §8) is refused here, before any SQL — even
        the region's own lookup."""
        if self.today is None or self.refusal is not None:
            return
        by = self.argument(field, "by") if field.name.value == "breakdown" else None
        try:
            checked_period(
                _day(self.argument(field, "from")),
                _day(self.argument(field, "to")),
                self.today,
                by if isinstance(by, str) else None,
            )
        except BadUserInput as refused:
            self.refusal = refused

    def walk(
        self,
        selections: SelectionSetNode,
        parent: Any,
        depth: int,
        multiplier: int,
        code_length: int | None = None,
    ) -> None:
        for field, owner in self._fields(selections, parent, frozenset()):
            self.measure.depth = max(self.measure.depth, depth)
            if field.alias is not None:
                self.measure.aliases += 1
            definition = None
            if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
                definition = owner.fields.get(field.name.value)
            if definition is None:
                continue
            size, weight = self._size(field, definition.type, owner.name, code_length)
            if owner.name == "Region" and field.name.value in ("stats", "breakdown"):
                self._check_period(field)
            factor = multiplier * size
            self.measure.cost += factor * weight
            if field.selection_set is not None:
                below = None
                if field.name.value == "region":
                    code = self.argument(field, "code")
                    below = len(code) if isinstance(code, str) and code != "100000" else 0
                self.walk(
                    field.selection_set, get_named_type(definition.type), depth + 1, factor, below
                )


@lru_cache(maxsize=4)
def entity_keys(schema: GraphQLSchema) -> dict[str, frozenset[str]]:
    """The federation entities by type name, with the key fields each may be found by."""
    found: dict[str, frozenset[str]] = {}
    for name, type_ in schema.type_map.items():
        definition = (getattr(type_, "extensions", None) or {}).get("strawberry-definition")
        keys = [
            str(d.fields)
            for d in getattr(definition, "directives", ()) or ()
            if type(d).__name__ == "Key"
        ]
        if keys:
            found[name] = frozenset(keys)
    return found


def representations_refusal(schema: GraphQLSchema, given: Any) -> BadUserInput | None:
    """`_entities` representations must each be an object naming an entity type and one of
    its keys, as a string."""
    entities = entity_keys(schema)
    for item in given if isinstance(given, list) else [given]:
        keys = entities.get(str(item.get("__typename"))) if isinstance(item, dict) else None
        fields = set(item) - {"__typename"} if isinstance(item, dict) else set()
        if (
            keys is None
            or len(fields) != 1
            or not fields <= keys
            or not all(isinstance(item[f], str) for f in fields)
        ):
            return BadUserInput(
                "Each representation is an object with `__typename` (an entity type) and one "
                "of its keys, as a string",
                reason="BAD_REPRESENTATION",
            )
    return None


def _nul_in(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_nul_in(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_nul_in(v) for v in value)
    return False


class _NulFinder(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if "\x00" in node.value:
            self.found = True


def nul_refusal(document: Any, variables: Mapping[str, Any] | None) -> BadUserInput | None:
    """A NUL byte in any text argument, written in the query or given as a variable."""
    finder = _NulFinder()
    visit(document, finder)
    if finder.found or _nul_in(variables or {}):
        return BadUserInput("Text must not contain NUL bytes (\\u0000)", reason="NUL_BYTE")
    return None


def measure(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    today: dt.date | None = None,
) -> Measure | None:
    """The measure of the operation that would run; None when there is no such operation.
    With `today`, a figures period beyond the limits is its `refusal`."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    if len(chosen) != 1:
        return None
    operation = chosen[0]
    root = schema.get_root_type(operation.operation)
    values: dict[str, Any] = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    values.update(variables or {})
    walker = _Walker(schema, fragments, values)
    walker.today = today
    walker.walk(operation.selection_set, root, 1, 1)
    walker.measure.refusal = walker.refusal
    return walker.measure


def too_many_tokens(query: str) -> QueryTooComplex | None:
    """Checked before parsing: a token takes at least one character, so short texts pass."""
    if len(query) > MAX_TOKENS and count_tokens(query, MAX_TOKENS) > MAX_TOKENS:
        return QueryTooComplex(
            f"The query has more than {MAX_TOKENS} tokens", reason="TOO_MANY_TOKENS"
        )
    return None


def refusal(found: Measure) -> QueryTooComplex | None:
    if found.depth > MAX_DEPTH:
        return QueryTooComplex(
            f"The query is {found.depth} levels deep; at most {MAX_DEPTH}", reason="TOO_DEEP"
        )
    if found.aliases > MAX_ALIASES:
        return QueryTooComplex(
            f"The query uses {found.aliases} aliases; at most {MAX_ALIASES}",
            reason="TOO_MANY_ALIASES",
        )
    if found.cost > MAX_COST:
        return QueryTooComplex(
            f"The query costs {found.cost}; at most {MAX_COST}: ask for smaller pages "
            "(`first`), fewer ids, shorter periods or fewer nested lists",
            reason="COST",
            cost=found.cost,
            limit=MAX_COST,
        )
    return None


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
_gates = weakref.WeakKeyDictionary()


def heavy_gate() -> asyncio.Semaphore:
    """The running event loop's gate for heavy operations (one hub process, one loop)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(HEAVY_AT_ONCE)
    return gate


def _today(context: Any) -> dt.date | None:
    now = getattr(context, "now", None)
    return Clock(now).today if isinstance(now, dt.datetime) else None


class QueryLimits(SchemaExtension):
    """Refuses over-deep, alias-heavy and over-costly operations before they run, and lets
    heavy ones (cost from HEAVY_COST) execute HEAVY_AT_ONCE at a time per process: the event
    loop serves every ready callback in turn, so each heavy operation running beside a small
    request lengthens its wait. A heavy operation waits its turn before its first statement,
    so no connection or transaction is held meanwhile."""

    cost = 0

    async def on_execute(self) -> AsyncIterator[None]:
        if self.cost < HEAVY_COST:
            yield
            return
        execution = self.execution_context
        lane = getattr(execution.context, "lane", None)
        if lane is not None and execution.operation_type == OperationType.QUERY:
            # Run in a heavy lane worker, which takes its own gate; nothing runs here.
            execution.context.lane_answer = await lane(
                execution.query or "", execution.variables, execution.operation_name
            )
            execution.result = ExecutionResult(data=None)
            yield
            return
        async with heavy_gate():
            paused = getattr(self.execution_context.context, "paused", None)
            if paused is not None:
                paused.queues = True  # its resumed resolvers take turns (resolvers/turnstile.py)
            yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and not context.pre_execution_errors:
            found = measure(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
                _today(context.context),
            )
            self.cost = found.cost if found is not None else 0
            error: HubError | None = refusal(found) if found is not None else None
            if error is None and found is not None:
                error = found.refusal
            if error is None:
                error = nul_refusal(context.graphql_document, context.variables)
            if error is not None:
                context.pre_execution_errors = [error]
        yield
