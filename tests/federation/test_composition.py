"""The hub's committed SDL composes with a second subgraph (federation/population) under
@theguild/federation-composition, and composition errors fail the script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from graphql import FieldDefinitionNode, ObjectTypeDefinitionNode, parse, print_ast

from tests.federation.stack import FEDERATION, POPULATION, compose

HUB_URL = "http://127.0.0.1:8000/graphql"
POPULATION_URL = "http://127.0.0.1:4001/graphql"
POPULATION_SDL = FEDERATION / "population" / "schema.graphql"


def _population() -> ModuleType:
    spec = importlib.util.spec_from_file_location("population_subgraph", POPULATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Strawberry resolves annotations through it
    spec.loader.exec_module(module)
    return module


def test_the_population_subgraphs_committed_sdl_matches_its_code() -> None:
    printed = _population().schema.as_str() + "\n"
    assert POPULATION_SDL.read_text(encoding="utf-8") == printed, (
        "federation/population/schema.graphql is stale: "
        "run `.venv/bin/python federation/population/server.py --sdl > "
        "federation/population/schema.graphql`"
    )


@pytest.fixture(scope="module")
def supergraph(node_tooling: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("composition") / "supergraph.graphql"
    result = compose(out, HUB_URL, POPULATION_URL)
    assert result.returncode == 0, f"composition failed:\n{result.stderr}"
    return out.read_text(encoding="utf-8")


def _types(sdl: str) -> dict[str, ObjectTypeDefinitionNode]:
    document = parse(sdl)
    return {
        d.name.value: d for d in document.definitions if isinstance(d, ObjectTypeDefinitionNode)
    }


def _directives(node: FieldDefinitionNode | ObjectTypeDefinitionNode) -> list[str]:
    return [print_ast(d) for d in node.directives or ()]


def _field(type_: ObjectTypeDefinitionNode, name: str) -> FieldDefinitionNode:
    return next(f for f in type_.fields or () if f.name.value == name)


def test_the_supergraph_joins_both_subgraphs(supergraph: str) -> None:
    assert f'HUB @join__graph(name: "hub", url: "{HUB_URL}")' in supergraph
    assert f'POPULATION @join__graph(name: "population", url: "{POPULATION_URL}")' in supergraph
    types = _types(supergraph)
    region = types["Region"]
    assert '@join__type(graph: HUB, key: "code")' in _directives(region)
    assert '@join__type(graph: POPULATION, key: "code")' in _directives(region)
    assert _directives(_field(region, "population")) == ["@join__field(graph: POPULATION)"]
    assert _directives(_field(region, "name")) == ["@join__field(graph: HUB)"]
    for shared in ("PageInfo",):
        assert {"@join__type(graph: HUB)", "@join__type(graph: POPULATION)"} <= set(
            _directives(types[shared])
        )
    assert "PopulationFigureConnection" in types and "ServiceRequestConnection" in types


def test_the_supergraph_keeps_the_authorization_directives(supergraph: str) -> None:
    assert '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)' in supergraph
    assert '@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)' in supergraph
    query = _types(supergraph)["Query"]
    hub = {
        f.name.value: _directives(f)
        for f in query.fields or ()
        if "@join__field(graph: HUB)" in _directives(f)
    }
    assert set(hub) >= {"node", "nodes", "viewer", "region", "regions", "serviceRequests"}
    assert all("@authenticated" in directives for directives in hub.values()), hub
    assert '@requiresScopes(scopes: [["auditor"]])' in hub["auditLog"]
    # Declared on the hub's fields, not on the Query type: other subgraphs' root fields stay
    # as their owners declared them.
    assert not any("@authenticated" in d for d in _directives(query))
    assert "@authenticated" not in _directives(_field(query, "populationFigures"))


def test_a_composition_error_fails_the_script(node_tooling: None, tmp_path: Path) -> None:
    """PageInfo without @shareable in the second subgraph: the script must fail, naming it."""
    broken = tmp_path / "population.graphql"
    broken.write_text(
        POPULATION_SDL.read_text(encoding="utf-8").replace(
            "type PageInfo @shareable", "type PageInfo"
        ),
        encoding="utf-8",
    )
    result = compose(
        tmp_path / "supergraph.graphql",
        HUB_URL,
        POPULATION_URL,
        ["--population-sdl", str(broken)],
    )
    assert result.returncode == 1
    assert "composition failed" in result.stderr
    assert "PageInfo" in result.stderr and "INVALID_FIELD_SHARING" in result.stderr
    assert not (tmp_path / "supergraph.graphql").exists()
