"""updateOrganization changes only what it names; names hold no personal data; parent links
never close a cycle, even when two updates race."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg

from resolvers.ids import global_id
from tests.conftest import Hub

VILLAGE = "341126101001"
TOWNSHIP = "341126101"

CREATE = """mutation ($input: OrganizationInput!) { createOrganization(input: $input) {
  id version } }"""
UPDATE = """mutation ($id: ID!, $input: OrganizationInput!) {
  updateOrganization(id: $id, input: $input) { id name memberCount leader { name phone }
  version } }"""
LIST = """query ($text: String!) { organizations(under: "341126", filter: {nameContains: $text})
  { totalCount } }"""
AUDIT = """query { auditLog(first: 50) { edges { node { actor operation recordId before } } } }"""


def _editor(hub: Hub, code: str = VILLAGE, *, pii: bool = False) -> str:
    roles = ("viewer", "editor", "pii") if pii else ("viewer", "editor")
    return hub.token(code, roles=roles, sub="org-clerk")


def _error(body: dict[str, Any]) -> tuple[str, str | None]:
    ext = body["errors"][0]["extensions"]
    return ext["code"], ext.get("reason")


async def _create(hub: Hub, name: str, **fields: Any) -> str:
    given = {"regionCode": VILLAGE, "kind": "VOLUNTEER_TEAM", "name": name, **fields}
    body = (await hub.post(CREATE, {"input": given}, token=_editor(hub, pii=True))).json()
    ident: str = body["data"]["createOrganization"]["id"]
    return ident


async def _update(hub: Hub, ident: str, token: str, name: str, **fields: Any) -> dict[str, Any]:
    given = {"regionCode": VILLAGE, "kind": "VOLUNTEER_TEAM", "name": name, **fields}
    body: dict[str, Any] = (
        await hub.post(UPDATE, {"id": ident, "input": given}, token=token)
    ).json()
    return body


async def _stored(owner: asyncpg.Connection, ident: str) -> asyncpg.Record:
    from resolvers.ids import parse_global_id

    parsed = parse_global_id(ident)
    assert parsed is not None
    row = await owner.fetchrow("select * from organization where id = $1::uuid", parsed[1])
    assert row is not None
    return row


async def test_fields_left_out_keep_their_values(hub: Hub, owner: asyncpg.Connection) -> None:
    ident = await _create(
        hub,
        "巡河队",
        memberCount=9,
        partyMemberCount=3,
        leaderName="张三",
        leaderPhone="13812345678",
        leaderRole="队长",
        foundedOn="2020-05-01",
    )
    body = await _update(hub, ident, _editor(hub), "巡河护河队", memberCount=10)
    assert body["data"]["updateOrganization"]["leader"] == {"name": "张*", "phone": "138****5678"}
    row = await _stored(owner, ident)
    assert (row["name"], row["member_count"], row["party_member_count"]) == ("巡河护河队", 10, 3)
    assert (row["leader_name"], row["leader_phone"], row["leader_role"]) == (
        "张三",
        "13812345678",
        "队长",
    )
    assert str(row["founded_on"]) == "2020-05-01"


async def test_an_explicit_null_clears_and_counts_refuse_it(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    ident = await _create(hub, "读书会", memberCount=5, leaderRole="会长", foundedOn="2021-01-01")
    cleared = await _update(hub, ident, _editor(hub), "读书会", leaderRole=None, foundedOn=None)
    assert "errors" not in cleared, cleared
    row = await _stored(owner, ident)
    assert (row["leader_role"], row["founded_on"], row["member_count"]) == (None, None, 5)
    refused = await _update(hub, ident, _editor(hub), "读书会", memberCount=None)
    assert _error(refused)[0] == "BAD_USER_INPUT"


async def test_masked_fields_change_only_with_pii_and_never_to_a_mask(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    ident = await _create(hub, "文艺队", leaderName="李四", leaderPhone="13900001111")
    for fields in ({"leaderName": "张*"}, {"leaderPhone": None}, {"leaderName": "李四"}):
        body = await _update(hub, ident, _editor(hub), "文艺队", **fields)
        assert _error(body) == ("FORBIDDEN", "PII_REQUIRED"), fields
    for fields in ({"leaderName": "李*"}, {"leaderPhone": "139****1111"}):
        body = await _update(hub, ident, _editor(hub, pii=True), "文艺队", **fields)
        assert _error(body)[0] == "BAD_USER_INPUT", fields
    row = await _stored(owner, ident)
    assert (row["leader_name"], row["leader_phone"]) == ("李四", "13900001111")
    body = await _update(
        hub, ident, _editor(hub, pii=True), "文艺队", leaderName="王五", leaderPhone=None
    )
    assert body["data"]["updateOrganization"]["leader"] == {"name": "王五", "phone": None}


async def test_a_parent_the_editor_cannot_see_is_kept(hub: Hub, owner: asyncpg.Connection) -> None:
    child, parent = await owner.fetchrow(
        "select c.id, c.parent_id from organization c join organization p on p.id = c.parent_id "
        "where c.region_code = $1 and p.region_code = '341126' limit 1",
        TOWNSHIP,
    ) or (None, None)
    assert child is not None, "the demo holds a township organization under a county one"
    row = await owner.fetchrow("select name, kind::text from organization where id = $1", child)
    assert row is not None
    body = (
        await hub.post(
            UPDATE,
            {
                "id": global_id("Organization", child),
                "input": {
                    "regionCode": TOWNSHIP,
                    "kind": row["kind"],
                    "name": row["name"],
                    "memberCount": 99,
                },
            },
            token=_editor(hub, TOWNSHIP),
        )
    ).json()
    assert "errors" not in body, body
    assert await owner.fetchval("select parent_id from organization where id = $1", child) == parent


async def test_names_and_leader_roles_refuse_personal_data(hub: Hub) -> None:
    token = _editor(hub, pii=True)
    for fields in (
        {"name": "联系人13766667777"},
        {"name": "服务队 138-1234-5678"},
        {"name": "志愿队", "leaderRole": "队长 手机13766667777"},
        {"name": "志愿队", "leaderRole": "身份证341126199001011234"},
    ):
        given = {"regionCode": VILLAGE, "kind": "VOLUNTEER_TEAM", **fields}
        body = (await hub.post(CREATE, {"input": given}, token=token)).json()
        assert _error(body) == ("BAD_USER_INPUT", "PERSONAL_DATA_IN_NAME"), fields
    ident = await _create(hub, "环保队")
    body = await _update(hub, ident, token, "环保队0550-6712345")
    assert _error(body) == ("BAD_USER_INPUT", "PERSONAL_DATA_IN_NAME")


async def test_cycles_of_any_length_are_refused(hub: Hub) -> None:
    a = await _create(hub, "甲队")
    b = await _create(hub, "乙队", parentId=a)
    c = await _create(hub, "丙队", parentId=b)
    body = await _update(hub, a, _editor(hub), "甲队", parentId=c)
    assert _error(body) == ("BAD_USER_INPUT", "PARENT_CYCLE")
    body = await _update(hub, a, _editor(hub), "甲队", parentId=b)
    assert _error(body) == ("BAD_USER_INPUT", "PARENT_CYCLE")


async def test_two_racing_updates_cannot_each_close_half_a_cycle(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    a = await _create(hub, "东队")
    b = await _create(hub, "西队")
    first, second = await asyncio.gather(
        _update(hub, a, _editor(hub), "东队", parentId=b),
        _update(hub, b, _editor(hub), "西队", parentId=a),
    )
    outcomes = sorted(["errors" in first, "errors" in second])
    assert outcomes == [False, True], (first, second)
    refused = first if "errors" in first else second
    assert _error(refused) == ("BAD_USER_INPUT", "PARENT_CYCLE")


async def test_stored_names_are_masked_after_their_originals_are_audited(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    ident = await owner.fetchval(
        "insert into organization (region_code, kind, name, leader_role) values "
        "($1, 'VOLUNTEER_TEAM', '联系人13766667777', '队长 手机13766667777') returning id",
        VILLAGE,
    )
    assert await owner.fetchval("select mask_stored_names()") == 1
    row = await owner.fetchrow("select name, leader_role from organization where id = $1", ident)
    assert row is not None and tuple(row) == ("联系人137****7777", "队长 手机137****7777")
    assert (await hub.query(LIST, {"text": "6666"}))["data"]["organizations"]["totalCount"] == 0

    def before(body: dict[str, Any]) -> dict[str, Any]:
        node = next(
            e["node"]
            for e in body["data"]["auditLog"]["edges"]
            if e["node"]["recordId"] == global_id("Organization", ident)
        )
        assert node["operation"] == "update"
        doc = node["before"]
        return doc if isinstance(doc, dict) else dict(json.loads(doc))

    clear = await hub.query(AUDIT, as_=VILLAGE, roles=("viewer", "auditor", "pii"))
    assert before(clear)["name"] == "联系人13766667777"
    masked = await hub.query(AUDIT, as_=VILLAGE, roles=("viewer", "auditor"))
    assert before(masked)["name"] == "联系人137****7777"
