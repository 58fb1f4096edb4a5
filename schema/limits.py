"""Hostile-query limits, checked after parsing and before validation and execution.

Depth (edges and node count as levels), aliases and cost are measured over the operation
that would run, with every fragment expanded where it is spread, so fragments cannot hide
aliases or nesting. A connection costs its `first` (50 when omitted) times the product of
the `first`s of the connections above it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TokenKind,
    VariableNode,
    get_named_type,
)
from graphql.language import Lexer, Source
from strawberry.extensions import SchemaExtension

from resolvers.errors import QueryTooComplex
from resolvers.pagination import DEFAULT_FIRST

MAX_DEPTH = 15
MAX_ALIASES = 50
MAX_TOKENS = 10_000
MAX_COST = 50_000


@dataclass
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


def count_tokens(query: str, limit: int) -> int:
    """Tokens in `query`, counting no further than `limit + 1`."""
    lexer = Lexer(Source(query))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
        if count > limit:
            break
    return count


def _first(field: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(int(value.value), 0)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            return max(given, 0) if isinstance(given, int) else DEFAULT_FIRST
    return DEFAULT_FIRST


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.measure = Measure()

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

    def walk(self, selections: SelectionSetNode, parent: Any, depth: int, multiplier: int) -> None:
        for field, owner in self._fields(selections, parent, frozenset()):
            self.measure.depth = max(self.measure.depth, depth)
            if field.alias is not None:
                self.measure.aliases += 1
            definition = None
            if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
                definition = owner.fields.get(field.name.value)
            child_type = get_named_type(definition.type) if definition else None
            factor = multiplier
            if child_type is not None and child_type.name.endswith("Connection"):
                factor = multiplier * _first(field, self.variables)
                self.measure.cost += factor
            if field.selection_set is not None:
                self.walk(field.selection_set, child_type, depth + 1, factor)


def measure(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> Measure | None:
    """The measure of the operation that would run; None when there is no such operation."""
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
    walker = _Walker(schema, fragments, variables or {})
    walker.walk(operation.selection_set, root, 1, 1)
    return walker.measure


def too_many_tokens(query: str) -> QueryTooComplex | None:
    """Checked before parsing: a token takes at least one character, so short texts pass."""
    if len(query) > MAX_TOKENS and count_tokens(query, MAX_TOKENS) > MAX_TOKENS:
        return QueryTooComplex(f"The query has more than {MAX_TOKENS} tokens")
    return None


def refusal(found: Measure) -> QueryTooComplex | None:
    if found.depth > MAX_DEPTH:
        return QueryTooComplex(f"The query is {found.depth} levels deep; at most {MAX_DEPTH}")
    if found.aliases > MAX_ALIASES:
        return QueryTooComplex(f"The query uses {found.aliases} aliases; at most {MAX_ALIASES}")
    if found.cost > MAX_COST:
        return QueryTooComplex(
            f"The query could return about {found.cost} items; at most {MAX_COST}: "
            "ask for smaller pages (`first`) or fewer nested lists"
        )
    return None


class QueryLimits(SchemaExtension):
    """Refuses over-deep, alias-heavy and over-costly operations before they run."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and not context.pre_execution_errors:
            found = measure(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
            error = refusal(found) if found is not None else None
            if error is not None:
                context.pre_execution_errors = [error]
        yield
