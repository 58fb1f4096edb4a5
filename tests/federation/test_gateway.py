"""Through a real gateway: GraphQL Hive Gateway over the hub (a real `grassroots serve` process
on this module's database) and the population subgraph, all on loopback, started once.

The gateway forwards the caller's Authorization header to the hub with its own credential,
checks @authenticated and @requiresScopes itself, and the hub checks everything again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from db.setup import Database
from server.auth import issue
from server.settings import Settings
from tests.conftest import SECRET
from tests.federation.stack import Supergraph, supergraph

TOWNSHIP = "341126101"
SIBLING = "341126102"  # a township of the same county: foreign to the township's caller
FOREIGN_COUNTY = "341125"
UNKNOWN = "341126199"  # no such township; the population subgraph has a figure for it

JOINED = """query ($code: String!) {
  region(code: $code) { code name fullName access population }
}"""
FIGURES = """{ populationFigures(first: 50) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { population region { code name population } } } } }"""


@pytest.fixture(scope="module")
def graph(
    node_tooling: None, database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Supergraph]:
    logs = tmp_path_factory.mktemp("supergraph")
    hub_env = {
        "HUB_DATABASE_URL": database.owner_dsn,
        "HUB_RUNTIME_DATABASE_URL": database.runtime_dsn,
        "HUB_DATA_DIR": str(logs / "hub-data"),
        "HUB_ENV": "development",
    }
    with supergraph(Path(logs), hub_env, SECRET) as started:
        yield started


@pytest.fixture(scope="module")
async def client(graph: Supergraph) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield http


def token(settings: Settings, *codes: str, roles: tuple[str, ...] = ("viewer",)) -> str:
    return issue(settings, "federated", codes, roles)


async def ask(
    client: httpx.AsyncClient,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    bearer: str | None = None,
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    response = await client.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


def codes(errors: list[dict[str, Any]]) -> set[str]:
    return {e.get("extensions", {}).get("code") for e in errors}


async def test_a_query_joins_the_hub_and_the_population_subgraph(
    graph: Supergraph, client: httpx.AsyncClient, settings: Settings
) -> None:
    body = await ask(
        client, graph.gateway_url, JOINED, {"code": TOWNSHIP}, token(settings, TOWNSHIP)
    )
    assert body == {
        "data": {
            "region": {
                "code": TOWNSHIP,
                "name": "临淮关镇",
                "fullName": "安徽省滁州市凤阳县临淮关镇",
                "access": "FULL",
                "population": 47912,
            }
        }
    }


async def test_the_callers_token_reaches_the_hub(
    graph: Supergraph, client: httpx.AsyncClient, settings: Settings
) -> None:
    bearer = token(settings, TOWNSHIP, roles=("viewer", "pii"))
    body = await ask(client, graph.gateway_url, "{ viewer { subject roles } }", bearer=bearer)
    assert body == {"data": {"viewer": {"subject": "federated", "roles": ["pii", "viewer"]}}}


async def test_a_foreign_region_is_null_through_the_gateway_as_an_unknown_one(
    graph: Supergraph, client: httpx.AsyncClient, settings: Settings
) -> None:
    bearer = token(settings, TOWNSHIP)
    answers = [
        await ask(client, graph.gateway_url, JOINED, {"code": code}, bearer)
        for code in (SIBLING, FOREIGN_COUNTY, UNKNOWN)
    ]
    assert answers == [{"data": {"region": None}}] * 3


async def test_hub_entities_reached_from_the_other_subgraph_keep_the_scope(
    graph: Supergraph, client: httpx.AsyncClient, settings: Settings
) -> None:
    body = await ask(client, graph.gateway_url, FIGURES, bearer=token(settings, TOWNSHIP))
    figures = body["data"]["populationFigures"]
    regions = {
        e["node"]["region"]["code"]: e["node"]["region"]
        for e in figures["edges"]
        if e["node"]["region"]
    }
    # Its own township, and the county above it as a breadcrumb; nothing else.
    assert regions == {
        "341126": {"code": "341126", "name": "凤阳县", "population": 668472},
        TOWNSHIP: {"code": TOWNSHIP, "name": "临淮关镇", "population": 47912},
    }
    hidden = {e["cursor"]: i for i, e in enumerate(figures["edges"]) if e["node"]["region"] is None}
    assert len(hidden) == figures["totalCount"] - 2  # siblings, the other county, the unknown
    # The hub resolved each to null; the gateway reports the same error for every one of
    # them, whether the region is foreign or does not exist.
    errors = body["errors"]
    assert sorted(e["path"][2] for e in errors) == sorted(hidden.values())
    assert len({(e["message"], str(e.get("extensions"))) for e in errors}) == 1


async def test_without_a_token_hub_fields_are_unauthenticated(
    graph: Supergraph, client: httpx.AsyncClient
) -> None:
    body = await ask(client, graph.gateway_url, JOINED, {"code": TOWNSHIP})
    assert body["data"] == {"region": None}
    assert codes(body["errors"]) == {"UNAUTHENTICATED"}
    # Reached through the other subgraph, the hub itself refuses.
    body = await ask(client, graph.gateway_url, FIGURES)
    figures = body["data"]["populationFigures"]
    assert figures["totalCount"] == len(figures["edges"]) > 0  # public figures still answer
    assert all(e["node"]["region"] is None for e in figures["edges"])
    assert codes(body["errors"]) == {"UNAUTHENTICATED"}
    assert {e["extensions"].get("serviceName") for e in body["errors"]} == {"hub"}
    # The hub saw the gateway's own credential (x-gateway-token) and no caller's token.
    assert all("gateway credential alone" in e["message"] for e in body["errors"])


async def test_a_token_the_gateway_accepts_is_still_checked_by_the_hub(
    graph: Supergraph, client: httpx.AsyncClient
) -> None:
    """Well signed, so the gateway lets it through, but naming a jurisdiction that does not
    exist: the hub refuses it."""
    claims = {
        "sub": "x",
        "exp": int(time.time()) + 600,
        "jti": "no-such-region",
        "jurisdictions": ["341126999"],
        "roles": ["viewer"],
        "scope": "viewer",
    }
    bearer = jwt.encode(claims, SECRET, algorithm="HS256")
    body = await ask(client, graph.gateway_url, JOINED, {"code": TOWNSHIP}, bearer)
    assert body["data"] == {"region": None}
    assert codes(body["errors"]) == {"UNAUTHENTICATED"}
    assert "do not exist" in body["errors"][0]["message"]


@pytest.mark.parametrize("kind", ["expired", "forged", "garbage"])
async def test_a_bad_token_is_no_caller(
    graph: Supergraph, client: httpx.AsyncClient, kind: str
) -> None:
    claims = {"sub": "x", "jurisdictions": ["100000"], "roles": ["viewer"], "scope": "viewer"}
    bearer = {
        "expired": jwt.encode({**claims, "exp": int(time.time()) - 3600}, SECRET, "HS256"),
        "forged": jwt.encode({**claims, "exp": int(time.time()) + 600}, "x" * 40, "HS256"),
        "garbage": "not-a-jwt",
    }[kind]
    body = await ask(client, graph.gateway_url, JOINED, {"code": TOWNSHIP}, bearer)
    assert body["data"] == {"region": None}
    assert codes(body["errors"]) == {"UNAUTHENTICATED"}


async def test_the_audit_log_needs_the_auditor_scope_at_the_gateway(
    graph: Supergraph, client: httpx.AsyncClient, settings: Settings
) -> None:
    query = "{ viewer { subject } auditLog(first: 1) { totalCount } }"
    refused = await ask(client, graph.gateway_url, query, bearer=token(settings, TOWNSHIP))
    assert refused["data"] == {"viewer": {"subject": "federated"}, "auditLog": None}
    assert codes(refused["errors"]) == {"FORBIDDEN"}
    auditor = token(settings, TOWNSHIP, roles=("viewer", "auditor"))
    allowed = await ask(client, graph.gateway_url, query, bearer=auditor)
    assert "errors" not in allowed
    assert isinstance(allowed["data"]["auditLog"]["totalCount"], int)


async def test_the_gateway_answers_as_the_hub_does_for_hub_only_queries(
    graph: Supergraph, client: httpx.AsyncClient, settings: Settings
) -> None:
    query = """{ region(code: "341126") { code name children(first: 5) {
        totalCount edges { node { code name level access } } } } }"""
    bearer = token(settings, "341126")
    direct = await ask(client, graph.hub_url, query, bearer=bearer)
    through = await ask(client, graph.gateway_url, query, bearer=bearer)
    assert "errors" not in direct
    assert through == direct
