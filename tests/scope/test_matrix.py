"""The scope matrix: callers at every level try every door to what they must not read.

Each case asks for something outside the caller's jurisdiction and asserts that the answer
is exactly what a region or record that does not exist would give.
"""

import base64
import time
import uuid
from dataclasses import dataclass

import asyncpg
import jwt
import pytest

from tests.conftest import SECRET, Hub


@dataclass(frozen=True)
class Caller:
    name: str
    codes: tuple[str, ...]
    foreign: str  # a region outside every code, with records of its own


CALLERS = [
    Caller("village", ("341126101001",), "341126101002"),
    Caller("township", ("341126101",), "341126102"),
    Caller("county", ("341126",), "341125"),
    Caller("two-townships", ("341126101", "341126102"), "341126103"),
    Caller("two-counties-worth", ("341126101", "341125"), "341126102"),
]
IDS = [c.name for c in CALLERS]
TABLES = {
    "Organization": "organization",
    "ServiceRequest": "service_request",
    "ParticipationEvent": "participation_event",
    "Resolution": "resolution",
}
LISTS = ["organizations", "serviceRequests", "participationEvents"]


def gid(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


def inside(code: str, caller: Caller) -> bool:
    return any(code.startswith(c) for c in caller.codes)


async def _foreign_id(owner: asyncpg.Connection, table: str, foreign: str) -> uuid.UUID:
    key = await owner.fetchval(
        f"select id from {table} where region_code like $1 || '%' order by id limit 1", foreign
    )
    assert key is not None, f"no {table} under {foreign} to try"
    return key  # type: ignore[no-any-return]


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
async def test_region_by_code(hub: Hub, caller: Caller) -> None:
    query = "query ($c: String!) { region(code: $c) { code name } }"
    foreign = await hub.query(query, {"c": caller.foreign}, as_=caller.codes)
    assert foreign == await hub.query(query, {"c": "999999"}, as_=caller.codes)
    assert foreign == {"data": {"region": None}}


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
@pytest.mark.parametrize("field", [*LISTS, "regions"])
async def test_root_lists_under_a_foreign_region_are_empty(
    hub: Hub, caller: Caller, field: str
) -> None:
    query = f"query ($u: String) {{ {field}(under: $u) {{ totalCount edges {{ cursor }} }} }}"
    foreign = await hub.query(query, {"u": caller.foreign}, as_=caller.codes)
    assert foreign == await hub.query(query, {"u": "999999"}, as_=caller.codes)
    assert foreign == {"data": {field: {"totalCount": 0, "edges": []}}}


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
@pytest.mark.parametrize("field", LISTS)
async def test_root_lists_hold_and_count_only_the_jurisdiction(
    hub: Hub, owner: asyncpg.Connection, caller: Caller, field: str
) -> None:
    table = {
        "organizations": "organization",
        "serviceRequests": "service_request",
        "participationEvents": "participation_event",
    }[field]
    query = f"{{ {field}(first: 500) {{ totalCount edges {{ node {{ region {{ code }} }} }} }} }}"
    body = await hub.query(query, as_=caller.codes)
    codes = [e["node"]["region"]["code"] for e in body["data"][field]["edges"]]
    assert codes and all(inside(c, caller) for c in codes)
    expected = await owner.fetchval(
        f"select count(*) from {table} where region_code like any($1)",
        [c + "%" for c in caller.codes],
    )
    assert body["data"][field]["totalCount"] == expected


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
@pytest.mark.parametrize("type_name", sorted(TABLES))
async def test_node_with_a_foreign_id(
    hub: Hub, owner: asyncpg.Connection, caller: Caller, type_name: str
) -> None:
    key = await _foreign_id(owner, TABLES[type_name], caller.foreign)
    query = "query ($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }"
    foreign = await hub.query(query, {"id": gid(type_name, key)}, as_=caller.codes)
    missing = await hub.query(query, {"id": gid(type_name, uuid.uuid4())}, as_=caller.codes)
    assert foreign == missing == {"data": {"node": None, "nodes": [None]}}


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
async def test_a_cursor_from_another_callers_list_positions_only_within_scope(
    hub: Hub, caller: Caller
) -> None:
    query = """query ($after: String) { serviceRequests(first: 20, after: $after) {
        edges { cursor node { region { code } } } } }"""
    theirs = await hub.query(query, {"after": None}, as_=caller.foreign)
    cursor = theirs["data"]["serviceRequests"]["edges"][5]["cursor"]
    mine = await hub.query(query, {"after": cursor}, as_=caller.codes)
    codes = [e["node"]["region"]["code"] for e in mine["data"]["serviceRequests"]["edges"]]
    assert codes and all(inside(c, caller) for c in codes)


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
async def test_a_text_filter_matching_only_foreign_rows_finds_nothing(
    hub: Hub, owner: asyncpg.Connection, caller: Caller
) -> None:
    reference = await owner.fetchval(
        "select reference from service_request where region_code like $1 || '%' limit 1",
        caller.foreign,
    )
    title = await owner.fetchval(
        "select title from service_request where reference = $1", reference
    )
    query = """query ($t: String) { serviceRequests(filter: {text: $t}, first: 500) {
        totalCount edges { node { reference region { code } } } } }"""
    body = await hub.query(query, {"t": title}, as_=caller.codes)
    found = body["data"]["serviceRequests"]
    assert reference not in {e["node"]["reference"] for e in found["edges"]}
    assert all(inside(e["node"]["region"]["code"], caller) for e in found["edges"])


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
async def test_entities_with_foreign_representations_resolve_to_null(
    hub: Hub, owner: asyncpg.Connection, caller: Caller
) -> None:
    org = await _foreign_id(owner, "organization", caller.foreign)
    request = await owner.fetchrow(
        "select id, reference from service_request where region_code like $1 || '%' limit 1",
        caller.foreign,
    )
    assert request is not None
    representations = [
        {"__typename": "Region", "code": caller.foreign},
        {"__typename": "Organization", "id": gid("Organization", org)},
        {"__typename": "ServiceRequest", "id": gid("ServiceRequest", request["id"])},
        {"__typename": "ServiceRequest", "reference": request["reference"]},
    ]
    query = """query ($r: [_Any!]!) { _entities(representations: $r) {
        __typename ... on Region { code } ... on Organization { name }
        ... on ServiceRequest { reference } } }"""
    body = await hub.query(query, {"r": representations}, as_=caller.codes)
    assert body == {"data": {"_entities": [None, None, None, None]}}


async def test_a_visible_organizations_parent_above_the_caller_is_null(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    row = await owner.fetchrow(
        "select o.id from organization o join organization p on p.id = o.parent_id "
        "where o.region_code = '341126101001' and p.region_code = '341126101' limit 1"
    )
    assert row is not None
    query = "query ($id: ID!) { node(id: $id) { ... on Organization { name parent { name } } } }"
    body = await hub.query(query, {"id": gid("Organization", row["id"])}, as_="341126101001")
    assert body["data"]["node"]["name"] and body["data"]["node"]["parent"] is None
    assert "errors" not in body


async def test_a_requests_handler_above_the_caller_is_null_and_escalation_a_breadcrumb(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    row = await owner.fetchrow(
        "select id, region_code, handling_region_code from service_request "
        "where handling_region_code <> region_code and handled_by is not null "
        "and length(region_code) = 12 limit 1"
    )
    assert row is not None
    query = """query ($id: ID!) { node(id: $id) { ... on ServiceRequest {
        handledBy { name } escalatedTo { code access serviceRequests { totalCount } } } } }"""
    body = await hub.query(query, {"id": gid("ServiceRequest", row["id"])}, as_=row["region_code"])
    node = body["data"]["node"]
    assert node["handledBy"] is None
    assert node["escalatedTo"] == {
        "code": row["handling_region_code"],
        "access": "BREADCRUMB",
        "serviceRequests": None,
    }
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


BAD_TOKENS = {
    "anonymous": None,
    "expired": jwt.encode(
        {
            "sub": "x",
            "exp": int(time.time()) - 3600,
            "jurisdictions": ["341126"],
            "roles": ["viewer"],
        },
        SECRET,
        algorithm="HS256",
    ),
    "forged": jwt.encode(
        {
            "sub": "x",
            "exp": int(time.time()) + 3600,
            "jurisdictions": ["100000"],
            "roles": ["viewer", "pii"],
        },
        "forged-secret-forged-secret-forged-secret",
        algorithm="HS256",
    ),
}
DOORS = [
    '{ region(code: "341126") { name } }',
    "{ serviceRequests { totalCount } }",
    '{ node(id: "UmVnaW9uOjM0MTEyNg") { id } }',
    '{ _entities(representations: [{__typename: "Region", code: "341126"}]) { __typename } }',
    "{ auditLog { totalCount } }",
    "{ _service { sdl } }",
]


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
@pytest.mark.parametrize("door", DOORS)
async def test_every_door_is_shut_without_a_valid_token(
    hub: Hub, token: str | None, door: str
) -> None:
    response = await hub.post(door, token=token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in response.json()
