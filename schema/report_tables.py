"""A report's table: which list of its result becomes rows, and the columns of each row, as
declared in the report file's leading comment lines:

    # table: region.breakdown
    # title: 各下级区划诉求办理情况
    # column: key 区划代码
    # column: stats.serviceRequests.total 诉求总数

Paths are response keys (aliases, if the document uses them) separated by dots: the table's
from the operation's root to a list of objects, each column's from a row to a leaf field.
Each column's kind (how a spreadsheet shows it) and definition come from the schema field it
selects, found by walking the document, so a declaration that names nothing fails to load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

DECLARATION = re.compile(r"#\s*(?P<word>table|title|column):\s*(?P<rest>.*?)\s*$")
COLUMN = re.compile(
    r"(?P<path>[_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*)*)\s+(?P<label>\S.*)"
)
KINDS = {"Int": "number", "Date": "date", "DateTime": "datetime", "Boolean": "boolean"}


class TableError(ValueError):
    """The table declaration is malformed or names nothing the document selects."""


@dataclass(frozen=True)
class ReportColumn:
    path: tuple[str, ...]
    label: str
    kind: str  # as server.sheet_columns.Kind: text, number, rate, hours, date, datetime, boolean
    field: str  # `Type.field`, whose description defines the column
    description: str

    @property
    def key(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Table:
    rows: tuple[str, ...]
    title: str | None
    columns: tuple[ReportColumn, ...]

    def rows_of(self, data: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
        """The result's rows: none where a step on the way is null."""
        found: Any = data
        for key in self.rows:
            if not isinstance(found, Mapping):
                return []
            found = found.get(key)
        return [row for row in found or [] if isinstance(row, Mapping)]

    def cells(self, row: Mapping[str, Any]) -> list[Any]:
        values = []
        for column in self.columns:
            found: Any = row
            for key in column.path:
                found = found.get(key) if isinstance(found, Mapping) else None
            values.append(found)
        return values


def is_declaration(line: str) -> bool:
    return DECLARATION.match(line) is not None


def _field(
    selections: SelectionSetNode | None,
    key: str,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> FieldNode | None:
    for selection in selections.selections if selections else ():
        if isinstance(selection, FieldNode):
            name = selection.alias.value if selection.alias else selection.name.value
            if name == key:
                return selection
            continue
        inner: SelectionSetNode | None = None
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            inner = fragment.selection_set if fragment else None
        elif isinstance(selection, InlineFragmentNode):
            inner = selection.selection_set
        found = _field(inner, key, fragments)
        if found is not None:
            return found
    return None


def _walk(
    schema: GraphQLSchema,
    start: GraphQLObjectType,
    selections: SelectionSetNode | None,
    path: tuple[str, ...],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> tuple[GraphQLObjectType, str, Any, FieldNode]:
    """The parent type, field name, field definition and node at the end of `path`."""
    parent: GraphQLObjectType = start
    node: FieldNode | None = None
    for position, key in enumerate(path):
        node = _field(selections, key, fragments)
        if node is None or node.name.value not in parent.fields:
            raise TableError(f"the document selects no `{'.'.join(path[: position + 1])}`")
        definition = parent.fields[node.name.value]
        if position == len(path) - 1:
            return parent, node.name.value, definition, node
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType):
            raise TableError(f"`{'.'.join(path[: position + 1])}` has no fields")
        parent, selections = named, node.selection_set
    raise TableError("an empty path")


def _kind(type_name: str, field_name: str) -> str:
    if type_name == "Float":
        return (
            "rate"
            if field_name.endswith("Rate")
            else "hours"
            if "Hours" in field_name
            else "number"
        )
    return KINDS.get(type_name, "text")


def read_table(
    lines: list[str],
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Table:
    """The table the leading comment `lines` declare for `operation`."""
    rows: tuple[str, ...] | None = None
    title: str | None = None
    declared: list[tuple[tuple[str, ...], str]] = []
    for line in lines:
        match = DECLARATION.match(line)
        if match is None:
            continue
        word, rest = match["word"], match["rest"]
        if word == "table":
            rows = tuple(rest.split("."))
        elif word == "title":
            title = rest or None
        else:
            column = COLUMN.fullmatch(rest)
            if column is None:
                raise TableError(f"`# column: {rest}` is `# column: path 中文列名`")
            declared.append((tuple(column["path"].split(".")), column["label"]))
    if rows is None or not declared:
        raise TableError("declare its table: `# table: path.to.list` and `# column:` lines")
    query = schema.query_type
    assert query is not None
    _, _, listed, node = _walk(schema, query, operation.selection_set, rows, fragments)
    row_type = get_named_type(listed.type)
    unwrapped = listed.type.of_type if isinstance(listed.type, GraphQLNonNull) else listed.type
    if not isinstance(unwrapped, GraphQLList) or not isinstance(row_type, GraphQLObjectType):
        raise TableError(f"`{'.'.join(rows)}` is not a list of objects")
    columns = []
    for path, label in declared:
        parent, name, definition, _ = _walk(schema, row_type, node.selection_set, path, fragments)
        leaf = get_named_type(definition.type)
        if isinstance(leaf, GraphQLObjectType):
            raise TableError(f"column `{'.'.join(path)}` is an object, not a value")
        description = " ".join((definition.description or "").split())
        columns.append(
            ReportColumn(path, label, _kind(leaf.name, name), f"{parent.name}.{name}", description)
        )
    return Table(rows, title, tuple(columns))
