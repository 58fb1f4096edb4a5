"""The hub as a Federation v2 subgraph, called as a gateway calls it: `_entities` batches load
through the DataLoaders (one statement per type and key), scope holds for representations,
the authorization directives are declared, and `_service` gives the committed SDL."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import asyncpg
import pytest
from graphql import FieldDefinitionNode, ObjectTypeDefinitionNode, parse, print_ast

from db.setup import Database
from schema.build import SDL_PATH
from server.settings import Settings
from tests.conftest import Hub, running
from tests.federation.stack import GATEWAY_SECRET
from tests.scope.test_matrix import gid

TOWNSHIP = "341126101"
ENTITIES = """query ($r: [_Any!]!) { _entities(representations: $r) {
    __typename ... on Region { code name } ... on Organization { id name }
    ... on ServiceRequest { id reference } ... on ParticipationEvent { id title } } }"""


async def _entities(
    hub: Hub, representations: list[dict[str, Any]], as_: str = TOWNSHIP
) -> tuple[dict[str, Any], int]:
    response = await hub.post(ENTITIES, {"r": representations}, token=hub.token(as_))
    assert response.status_code == 200, response.text
    return response.json(), int(response.headers["x-sql-statements"])


async def _ids(owner: asyncpg.Connection, table: str, under: str, n: int) -> list[Any]:
    rows = await owner.fetch(
        f"select id from {table} where region_code like $1 || '%' order by id limit $2", under, n
    )
    assert len(rows) == n, f"fewer than {n} rows of {table} under {under}"
    return [r["id"] for r in rows]


def _fields(type_name: str) -> dict[str, FieldDefinitionNode]:
    document = parse(SDL_PATH.read_text(encoding="utf-8"))
    found = next(
        d
        for d in document.definitions
        if isinstance(d, ObjectTypeDefinitionNode) and d.name.value == type_name
    )
    return {f.name.value: f for f in found.fields or ()}


def test_the_sdl_imports_the_authorization_directives() -> None:
    head = SDL_PATH.read_text(encoding="utf-8").split("\n", 1)[0]
    assert 'url: "https://specs.apollo.dev/federation/v2.7"' in head
    assert '"@authenticated"' in head and '"@requiresScopes"' in head


def test_every_root_field_needs_a_caller_and_the_audit_log_the_auditor_scope() -> None:
    fields = _fields("Query")
    for name, field in fields.items():
        directives = [print_ast(d) for d in field.directives or ()]
        if name in ("_entities", "_service"):
            # Not in the supergraph: a router never exposes them; the hub guards them.
            assert directives == [], name
            continue
        assert "@authenticated" in directives, name
        scopes = [d for d in directives if d.startswith("@requiresScopes")]
        # Only operations that need a role carry scopes; masked personal fields do not.
        assert scopes == (['@requiresScopes(scopes: [["auditor"]])'] if name == "auditLog" else [])


def test_every_mutation_needs_the_editor_scope() -> None:
    fields = _fields("Mutation")
    assert fields
    for name, field in fields.items():
        directives = [print_ast(d) for d in field.directives or ()]
        assert "@authenticated" in directives, name
        assert '@requiresScopes(scopes: [["editor"]])' in directives, name


@pytest.mark.parametrize(
    ("typename", "table", "key"),
    [
        ("Organization", "organization", "id"),
        ("ServiceRequest", "service_request", "id"),
        ("ServiceRequest", "service_request", "reference"),
        ("ParticipationEvent", "participation_event", "id"),
    ],
)
async def test_a_batch_of_one_type_costs_one_statement(
    hub: Hub, owner: asyncpg.Connection, typename: str, table: str, key: str
) -> None:
    rows = await owner.fetch(
        f"select id, {'reference' if key == 'reference' else 'id'} as key from {table} "
        "where region_code like $1 || '%' order by id limit 40",
        TOWNSHIP,
    )
    assert len(rows) == 40
    values = [r["key"] if key == "reference" else gid(typename, r["key"]) for r in rows]
    body, statements = await _entities(hub, [{"__typename": typename, key: v} for v in values])
    found = body["data"]["_entities"]
    assert [e[key] for e in found] == values  # every one, in the order asked
    assert statements == 1


async def test_a_batch_of_regions_costs_one_statement(hub: Hub, owner: asyncpg.Connection) -> None:
    codes = [
        r["code"]
        for r in await owner.fetch(
            "select code from region where code like $1 || '%' order by code limit 40", TOWNSHIP
        )
    ]
    body, statements = await _entities(hub, [{"__typename": "Region", "code": c} for c in codes])
    assert [e["code"] for e in body["data"]["_entities"]] == codes
    assert statements == 1


async def test_a_mixed_batch_costs_one_statement_per_type_and_key(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    organizations = await _ids(owner, "organization", TOWNSHIP, 20)
    requests = await owner.fetch(
        "select id, reference from service_request where region_code like $1 || '%' "
        "order by id limit 20",
        TOWNSHIP,
    )
    events = await _ids(owner, "participation_event", TOWNSHIP, 20)
    representations: list[dict[str, Any]] = []
    for i in range(20):  # interleaved, as a gateway may send them
        representations += [
            {"__typename": "Organization", "id": gid("Organization", organizations[i])},
            {"__typename": "ServiceRequest", "id": gid("ServiceRequest", requests[i]["id"])},
            {"__typename": "ServiceRequest", "reference": requests[i]["reference"]},
            {"__typename": "ParticipationEvent", "id": gid("ParticipationEvent", events[i])},
        ]
    body, statements = await _entities(hub, representations)
    found = body["data"]["_entities"]
    assert "errors" not in body and len(found) == 80 and all(found)
    assert statements == 4


async def test_foreign_and_unknown_representations_are_indistinguishable(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    """A sibling township's records and records that do not exist: the same nulls, through
    the same statements, and a batch mixing them with visible ones keeps its order."""
    foreign_orgs = await _ids(owner, "organization", "341126102", 5)
    foreign_requests = await owner.fetch(
        "select id, reference from service_request where region_code like '341126102%' limit 5"
    )
    foreign = [
        {"__typename": "Region", "code": "341126102"},
        *({"__typename": "Organization", "id": gid("Organization", k)} for k in foreign_orgs),
        *(
            {"__typename": "ServiceRequest", "id": gid("ServiceRequest", r["id"])}
            for r in foreign_requests
        ),
        *({"__typename": "ServiceRequest", "reference": r["reference"]} for r in foreign_requests),
    ]
    unknown = [
        {"__typename": "Region", "code": "341126199"},
        *(
            {"__typename": "Organization", "id": gid("Organization", uuid.uuid4())}
            for _ in range(5)
        ),
        *(
            {"__typename": "ServiceRequest", "id": gid("ServiceRequest", uuid.uuid4())}
            for _ in range(5)
        ),
        *(
            {"__typename": "ServiceRequest", "reference": f"341126102001-2026-{i:06d}"}
            for i in range(900000, 900005)
        ),
    ]
    seen_foreign, foreign_statements = await _entities(hub, foreign)
    seen_unknown, unknown_statements = await _entities(hub, unknown)
    assert seen_foreign == seen_unknown == {"data": {"_entities": [None] * len(foreign)}}
    assert foreign_statements == unknown_statements

    own = await _ids(owner, "organization", TOWNSHIP, 1)
    mixed = [foreign[1], {"__typename": "Organization", "id": gid("Organization", own[0])}]
    body, _ = await _entities(hub, mixed)
    assert body["data"]["_entities"][0] is None
    assert body["data"]["_entities"][1]["id"] == gid("Organization", own[0])


async def test_the_gateway_credential_reads_the_committed_sdl(
    database: Database, settings: Settings
) -> None:
    with_gateway = dataclasses.replace(settings, gateway_secret=GATEWAY_SECRET)
    async with running(database, with_gateway) as hub:
        response = await hub.post("{ _service { sdl } }", **{"x-gateway-token": GATEWAY_SECRET})
        assert response.status_code == 200
        sdl = response.json()["data"]["_service"]["sdl"]
        assert sdl + "\n" == SDL_PATH.read_text(encoding="utf-8")
        refused = await hub.post(ENTITIES, {"r": []}, **{"x-gateway-token": GATEWAY_SECRET})
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
