"""What the hub is expected to run stays under the cost limit: the suite's five-level loader
query, every named report (at its widest: a period unbounded, so 120 months) and every
GraphQL operation the benchmarks send. Lowering the limit, or raising a weight in the cost
table, fails here first, naming the operation."""

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse, validate

from schema.build import build_schema
from schema.limits import MAX_COST, measure
from schema.reports import Reports
from tests.resolvers.test_loaders import FIVE_LEVELS

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
# The values a benchmark gives its operations' list variables (stall_bench: the 250 villages).
LIST_VARIABLES = {"ids": ["RegionId"] * 250}
# The stall benchmark's heavy requests are built to come close to the limit.
HEAVIEST = 40_000


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _operations(text: str) -> bool:
    stripped = text.lstrip()
    if not stripped.startswith(("{", "query", "mutation", "subscription")):
        return False
    try:
        document = parse(stripped)
    except GraphQLError:
        return False
    return any(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def benchmark_operations(schema: GraphQLSchema) -> list[tuple[str, str]]:
    """Each benchmark's module-level GraphQL operations, by module and constant: those that
    validate against the hub's schema, and the gateway benchmark's (a supergraph's). The
    stall benchmark's HOSTILE requests are meant to be refused."""
    found: list[tuple[str, str]] = []
    for path in sorted(BENCHMARKS.glob("*.py")):
        module = _module(path)
        for name, value in vars(module).items():
            if not name.isupper() or name == "HOSTILE":
                continue
            for text in _strings(value):
                if _operations(text) and (
                    path.stem.startswith("gateway_") or not validate(schema, parse(text))
                ):
                    found.append((f"{path.stem}.{name}", text))
    return found


def _cost(
    schema: GraphQLSchema,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    supergraph: bool = False,
) -> int:
    """The operation's cost; a supergraph's operation (the gateway benchmark's) names
    fields of other subgraphs, which cost nothing here."""
    document = parse(query)
    assert supergraph or validate(schema, document) == []
    found = measure(schema, document, None, variables)
    assert found is not None and found.refusal is None
    return found.cost


def test_the_five_level_loader_query_fits_at_its_largest_page(schema: GraphQLSchema) -> None:
    cost = _cost(schema, FIVE_LEVELS, {"first": 50})
    assert 10_000 < cost <= MAX_COST, cost


def test_every_named_report_fits_at_its_widest(schema: GraphQLSchema) -> None:
    reports = Reports.load(schema)
    assert len(reports) >= 3
    for listed in reports.listing():
        report = reports.get(listed["name"], listed["version"])
        assert report is not None
        assert _cost(schema, report.document) <= MAX_COST, report.name


def test_every_benchmark_operation_fits(schema: GraphQLSchema) -> None:
    operations = benchmark_operations(schema)
    names = {name for name, _ in operations}
    assert {"http_bench.QUERIES", "stall_bench.HEAVY_QUERIES", "rollup_bench.QUERIES"} <= names
    costs = {
        query: _cost(schema, query, LIST_VARIABLES, supergraph=name.startswith("gateway_"))
        for name, query in operations
    }
    over = {name: costs[query] for name, query in operations if costs[query] > MAX_COST}
    assert over == {}
    heavy = [q for name, q in operations if name == "stall_bench.HEAVY_QUERIES"]
    assert len(heavy) == 3 and all(costs[q] > HEAVIEST for q in heavy)
