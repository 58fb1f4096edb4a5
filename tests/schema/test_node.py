"""node(id:) and nodes(ids:): any visible object by global id; forged and foreign ids are null."""

import base64
import uuid

import asyncpg
import pytest

from tests.conftest import Hub

NODE = """query ($id: ID!) { node(id: $id) { id __typename
  ... on Region { code } ... on Organization { name } ... on ServiceRequest { reference }
  ... on ParticipationEvent { title } ... on Resolution { text } } }"""

TABLES = {
    "Organization": "organization",
    "ServiceRequest": "service_request",
    "ParticipationEvent": "participation_event",
    "Resolution": "resolution",
}


def gid(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("type_name", sorted(TABLES))
async def test_every_type_round_trips_through_node(
    hub: Hub, owner: asyncpg.Connection, type_name: str
) -> None:
    key = await owner.fetchval(
        f"select id from {TABLES[type_name]} where region_code like '341126%' limit 1"
    )
    body = await hub.query(NODE, {"id": gid(type_name, key)})
    assert body["data"]["node"]["__typename"] == type_name
    assert body["data"]["node"]["id"] == gid(type_name, key)


@pytest.mark.parametrize("type_name", sorted(TABLES))
async def test_a_record_outside_the_jurisdiction_is_null_like_a_missing_one(
    hub: Hub, owner: asyncpg.Connection, type_name: str
) -> None:
    township = "341126101"
    key = await owner.fetchval(
        f"select id from {TABLES[type_name]} where region_code like '341126%' "
        f"and region_code not like '{township}%' limit 1"
    )
    foreign = await hub.query(NODE, {"id": gid(type_name, key)}, as_=township)
    missing = await hub.query(NODE, {"id": gid(type_name, uuid.uuid4())}, as_=township)
    assert foreign == missing == {"data": {"node": None}}


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "bm9wZQ",
        gid("Secret", uuid.uuid4()),
        gid("Region", "../etc"),
        gid("Organization", "1"),
        "%%%",
        gid("Region", "341125"),
    ],
)
async def test_forged_ids_are_null(hub: Hub, forged: str) -> None:
    assert await hub.query(NODE, {"id": forged}) == {"data": {"node": None}}


async def test_nodes_keeps_order_and_nulls_what_it_cannot_see(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    visible = await owner.fetchval(
        "select id from organization where region_code = '341126101' limit 1"
    )
    foreign = await owner.fetchval(
        "select id from organization where region_code = '341126102' limit 1"
    )
    body = await hub.query(
        "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {
            "ids": [
                gid("Region", "341126101"),
                gid("Organization", foreign),
                gid("Organization", visible),
                "garbage",
            ]
        },
        as_="341126101",
    )
    assert body["data"]["nodes"] == [
        {"__typename": "Region", "id": gid("Region", "341126101")},
        None,
        {"__typename": "Organization", "id": gid("Organization", visible)},
        None,
    ]


async def test_a_breadcrumb_region_is_reachable_by_id(hub: Hub) -> None:
    body = await hub.query(
        "query ($id: ID!) { node(id: $id) { ... on Region { code access } } }",
        {"id": gid("Region", "3411")},
    )
    assert body["data"]["node"] == {"code": "3411", "access": "BREADCRUMB"}
