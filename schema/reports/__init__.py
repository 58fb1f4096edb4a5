"""Named reports: registered, versioned GraphQL queries that tools run by name.

Each report is a file here, `<name>.v<version>.graphql`: leading `#` lines describe it and
declare its table (`# table:`, `# column:`; see `schema/report_tables.py`), then one query
operation (fragments allowed) whose variable definitions are the report's
variables. Every file is loaded when the schema is built and validated against it, so a
report that no longer validates stops the hub from starting rather than failing a tool
later. Old versions stay beside new ones and stay runnable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    print_ast,
    validate,
)

from schema.report_tables import Table, TableError, is_declaration, read_table

REPORTS_DIR = Path(__file__).parent
# Reports registered before CHILD breakdowns gained the region's own row (本级, DESIGN.md
# §8): they keep their output, without it; their next versions select `own`.
BEFORE_OWN_ROW = frozenset({("monthly-rates-by-child", 1), ("monthly-rates-by-child", 2)})
FILE_NAME = re.compile(r"(?P<name>[a-z][a-z0-9]*(?:-[a-z0-9]+)*)\.v(?P<version>[1-9][0-9]*)")


class ReportError(ValueError):
    """A report file is malformed or does not validate against the schema."""


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    default: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default}


@dataclass(frozen=True)
class Report:
    name: str
    version: int
    description: str
    operation_name: str | None
    variables: tuple[Variable, ...]
    document: str
    table: Table

    def as_dict(self, *, latest: bool) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "latest": latest,
            "description": self.description,
            "variables": [v.as_dict() for v in self.variables],
            "document": self.document,
            "table": {
                "rows": ".".join(self.table.rows),
                "columns": [{"path": c.key, "label": c.label} for c in self.table.columns],
            },
        }


def _leading(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


def _description(text: str) -> str:
    lines = [line.removeprefix("#").strip() for line in _leading(text) if not is_declaration(line)]
    return " ".join(line for line in lines if line)


def load_report(path: Path, schema: GraphQLSchema) -> Report:
    match = FILE_NAME.fullmatch(path.name.removesuffix(".graphql"))
    if match is None:
        raise ReportError(f"{path.name}: a report file is named <name>.v<version>.graphql")
    text = path.read_text(encoding="utf-8")
    description = _description(text)
    if not description:
        raise ReportError(f"{path.name}: describe the report in leading # lines")
    try:
        document = parse(text)
    except GraphQLError as error:
        raise ReportError(f"{path.name}: {error.message}") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        raise ReportError(f"{path.name}: a report holds exactly one query operation")
    errors = validate(schema, document)
    if errors:
        raise ReportError(f"{path.name}: {'; '.join(e.message for e in errors)}")
    operation = operations[0]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    try:
        table = read_table(_leading(text), schema, operation, fragments)
    except TableError as error:
        raise ReportError(f"{path.name}: {error}") from None
    variables = tuple(
        Variable(
            v.variable.name.value,
            print_ast(v.type),
            print_ast(v.default_value) if v.default_value is not None else None,
        )
        for v in operation.variable_definitions or ()
    )
    return Report(
        name=match["name"],
        version=int(match["version"]),
        description=description,
        operation_name=operation.name.value if operation.name else None,
        variables=variables,
        document=text,
        table=table,
    )


class Reports:
    """The registry: every report file of a folder, by name and version."""

    def __init__(self, reports: Iterable[Report]) -> None:
        self._by_key: dict[tuple[str, int], Report] = {}
        for report in reports:
            self._by_key[(report.name, report.version)] = report
        self._latest: dict[str, int] = {}
        for name, version in self._by_key:
            self._latest[name] = max(version, self._latest.get(name, 0))

    @classmethod
    def load(cls, schema: GraphQLSchema, folder: Path = REPORTS_DIR) -> Reports:
        return cls(load_report(path, schema) for path in sorted(folder.glob("*.graphql")))

    def get(self, name: str, version: int | None = None) -> Report | None:
        """The report of that name and version (the latest when version is None)."""
        if version is None:
            version = self._latest.get(name)
            if version is None:
                return None
        return self._by_key.get((name, version))

    def own_row(self, document: str) -> bool:
        """Whether the report of this document gets the own row of CHILD breakdowns."""
        return not any(
            report.document == document and key in BEFORE_OWN_ROW
            for key, report in self._by_key.items()
        )

    def listing(self) -> list[dict[str, Any]]:
        return [
            report.as_dict(latest=self._latest[name] == version)
            for (name, version), report in sorted(self._by_key.items())
        ]

    def __len__(self) -> int:
        return len(self._by_key)
