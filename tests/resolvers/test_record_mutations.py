"""Organizations, participation events and resolutions: written only where the caller edits,
linked only to what the caller can see, and moved only along their workflow."""

import base64
from typing import Any

import asyncpg
import pytest

from db.pool import connect
from db.setup import Database
from tests.conftest import Hub

VILLAGE = "341126101001"
TOWNSHIP = "341126101"
OTHER_TOWNSHIP = "341126102"


def gid(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


def editor(hub: Hub, code: str = VILLAGE) -> str:
    return hub.token(code, roles=("viewer", "editor"), sub="record-clerk")


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


CREATE_ORG = """mutation ($input: OrganizationInput!) { createOrganization(input: $input) {
  id name kind version memberCount partyMemberCount leader { name phone } parent { name }
  region { code } } }"""
UPDATE_ORG = """mutation ($id: ID!, $input: OrganizationInput!, $v: Int) {
  updateOrganization(id: $id, input: $input, expectedVersion: $v) { id name version } }"""
RECORD = """mutation ($input: ParticipationEventInput!) { recordParticipationEvent(input: $input) {
  id title kind participantCount participantsByGroup { key label count } organizer { name }
  resolutions { text } } }"""
ADD = """mutation ($e: ID!, $t: String!) { addResolution(eventId: $e, text: $t) {
  id text status version } }"""
SET = """mutation ($id: ID!, $s: ResolutionStatus!, $on: Date, $v: Int) {
  setResolutionStatus(id: $id, status: $s, on: $on, expectedVersion: $v) {
  status decidedOn implementedOn version } }"""


async def _party_branch(owner: asyncpg.Connection, region: str) -> str:
    key = await owner.fetchval(
        "select id from organization where region_code = $1 and kind in "
        "('PARTY_BRANCH', 'PARTY_GENERAL_BRANCH') order by name limit 1",
        region,
    )
    return gid("Organization", key)


def _org(**overrides: Any) -> dict[str, Any]:
    return {
        "regionCode": VILLAGE,
        "kind": "VOLUNTEER_TEAM",
        "name": "护河志愿服务队",
        "memberCount": 12,
        "partyMemberCount": 0,
        "leaderName": "王五",
        "leaderPhone": "13800001111",
        **overrides,
    }


def _patch(**overrides: Any) -> dict[str, Any]:
    """An update's input: the leader's name and phone, read masked here, left out."""
    given = _org(**overrides)
    del given["leaderName"], given["leaderPhone"]
    return given


async def test_an_editor_creates_an_organization_under_a_visible_parent(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    parent = await _party_branch(owner, VILLAGE)
    body = (await hub.post(CREATE_ORG, {"input": _org(parentId=parent)}, token=editor(hub))).json()
    made = body["data"]["createOrganization"]
    assert made["kind"] == "VOLUNTEER_TEAM" and made["version"] == 1 and made["parent"]
    assert made["leader"] == {"name": "王*", "phone": "138****1111"}
    assert made["region"] == {"code": VILLAGE}
    assert (
        await owner.fetchval(
            "select count(*) from audit_log where operation = 'createOrganization'"
        )
        >= 1
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"regionCode": OTHER_TOWNSHIP}, "NOT_FOUND"),
        ({"regionCode": "341126199"}, "NOT_FOUND"),
        ({"partyMemberCount": 20}, "BAD_USER_INPUT"),
        ({"memberCount": -1}, "BAD_USER_INPUT"),
        ({"name": "  "}, "BAD_USER_INPUT"),
        ({"leaderPhone": "call me"}, "BAD_USER_INPUT"),
    ],
)
async def test_invalid_or_foreign_organizations_are_refused_and_nothing_is_written(
    hub: Hub, owner: asyncpg.Connection, given: dict[str, Any], expected: str
) -> None:
    before = await owner.fetchval("select count(*) from organization")
    body = (await hub.post(CREATE_ORG, {"input": _org(**given)}, token=editor(hub))).json()
    assert code(body) == expected
    assert await owner.fetchval("select count(*) from organization") == before


async def test_a_parent_the_caller_cannot_see_is_as_missing_as_none(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    foreign = await _party_branch(owner, OTHER_TOWNSHIP + "001")
    body = (await hub.post(CREATE_ORG, {"input": _org(parentId=foreign)}, token=editor(hub))).json()
    assert code(body) == "NOT_FOUND"


async def test_a_viewer_cannot_create(hub: Hub) -> None:
    body = (await hub.post(CREATE_ORG, {"input": _org()}, token=hub.token(VILLAGE))).json()
    assert code(body) == "FORBIDDEN"


async def test_updates_count_versions_and_refuse_stale_ones(hub: Hub) -> None:
    token = editor(hub)
    made = (await hub.post(CREATE_ORG, {"input": _org(name="老年协会")}, token=token)).json()
    ident = made["data"]["createOrganization"]["id"]
    renamed = (
        await hub.post(
            UPDATE_ORG, {"id": ident, "input": _patch(name="老年人协会"), "v": 1}, token=token
        )
    ).json()
    assert renamed["data"]["updateOrganization"] == {
        "id": ident,
        "name": "老年人协会",
        "version": 2,
    }
    stale = (
        await hub.post(UPDATE_ORG, {"id": ident, "input": _patch(name="x"), "v": 1}, token=token)
    ).json()
    assert code(stale) == "CONFLICT"


async def test_an_organization_cannot_be_moved_out_of_the_editors_jurisdiction(hub: Hub) -> None:
    token = editor(hub)
    made = (await hub.post(CREATE_ORG, {"input": _org(name="搬迁测试")}, token=token)).json()
    ident = made["data"]["createOrganization"]["id"]
    body = (
        await hub.post(
            UPDATE_ORG, {"id": ident, "input": _patch(regionCode=OTHER_TOWNSHIP)}, token=token
        )
    ).json()
    assert code(body) == "NOT_FOUND"


async def test_recording_an_event_with_participants_and_resolutions(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = editor(hub)
    organizer = await _party_branch(owner, VILLAGE)
    given = {
        "regionCode": VILLAGE,
        "kind": "DELIBERATION",
        "title": "村道修缮议事会",
        "startsAt": "2026-11-20T09:30:00+08:00",
        "organizerId": organizer,
        "participants": [
            {"group": "VILLAGERS", "count": 30},
            {"group": "PARTY_MEMBERS", "count": 8},
        ],
    }
    event = (await hub.post(RECORD, {"input": given}, token=token)).json()
    recorded = event["data"]["recordParticipationEvent"]
    assert recorded["participantCount"] == 38 and recorded["organizer"]
    assert {g["key"]: g["label"] for g in recorded["participantsByGroup"]} == {
        "VILLAGERS": "村(居)民",
        "PARTY_MEMBERS": "党员",
    }
    first = (await hub.post(ADD, {"e": recorded["id"], "t": "硬化村道两公里"}, token=token)).json()
    resolution = first["data"]["addResolution"]
    assert resolution["status"] == "PROPOSED" and resolution["version"] == 1
    adopted = (
        await hub.post(
            SET, {"id": resolution["id"], "s": "ADOPTED", "on": "2026-11-20", "v": 1}, token=token
        )
    ).json()["data"]["setResolutionStatus"]
    assert adopted == {
        "status": "ADOPTED",
        "decidedOn": "2026-11-20",
        "implementedOn": None,
        "version": 2,
    }
    done = (
        await hub.post(
            SET, {"id": resolution["id"], "s": "IMPLEMENTED", "on": "2026-11-25"}, token=token
        )
    ).json()["data"]["setResolutionStatus"]
    assert done["implementedOn"] == "2026-11-25" and done["decidedOn"] == "2026-11-20"
    again = (await hub.post(SET, {"id": resolution["id"], "s": "ADOPTED"}, token=token)).json()
    assert code(again) == "BAD_USER_INPUT"


async def test_unknown_participant_groups_and_foreign_organizers_are_refused(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    base = {
        "regionCode": VILLAGE,
        "kind": "HEARING",
        "title": "听证会",
        "startsAt": "2026-11-20T09:30:00+08:00",
    }
    bad_group = (
        await hub.post(
            RECORD,
            {"input": {**base, "participants": [{"group": "ALIENS", "count": 3}]}},
            token=editor(hub),
        )
    ).json()
    assert code(bad_group) == "BAD_USER_INPUT"
    foreign = await _party_branch(owner, OTHER_TOWNSHIP + "001")
    hidden = (
        await hub.post(RECORD, {"input": {**base, "organizerId": foreign}}, token=editor(hub))
    ).json()
    assert code(hidden) == "NOT_FOUND"


async def test_the_database_refuses_a_resolution_skipping_adoption(
    database: Database, owner: asyncpg.Connection
) -> None:
    row = await owner.fetchrow("select id from resolution where status = 'PROPOSED' limit 1")
    assert row is not None
    conn = await connect(database.runtime_dsn)
    try:
        async with conn.transaction():
            await conn.execute(
                "select set_config('hub.read_scope', '{100000}', true), "
                "set_config('hub.editor_scope', '{100000}', true)"
            )
            with pytest.raises(asyncpg.CheckViolationError, match="PROPOSED to IMPLEMENTED"):
                await conn.execute(
                    "update resolution set status = 'IMPLEMENTED', "
                    "version = version + 1 where id = $1",
                    row["id"],
                )
    finally:
        await conn.close()


async def test_writes_are_audited_with_before_and_after_masked_without_pii(hub: Hub) -> None:
    token = editor(hub)
    made = (
        await hub.post(
            CREATE_ORG,
            {"input": _org(name="审计测试队", leaderName="赵六", leaderPhone="13911112222")},
            token=token,
        )
    ).json()["data"]["createOrganization"]
    query = """{ auditLog(first: 50) { edges { node { operation recordId actor before after
        region { code } } } } }"""
    masked = await hub.query(query, as_=VILLAGE, roles=("viewer", "auditor"))
    entry = next(
        e["node"]
        for e in masked["data"]["auditLog"]["edges"]
        if e["node"]["recordId"] == made["id"]
    )
    assert entry["operation"] == "createOrganization" and entry["before"] is None
    assert entry["actor"] == "record-clerk" and entry["region"] == {"code": VILLAGE}
    assert entry["after"]["name"] == "审计测试队"
    assert entry["after"]["leader_name"] == "赵*"
    assert entry["after"]["leader_phone"] == "139****2222"
    clear = await hub.query(query, as_=VILLAGE, roles=("viewer", "auditor", "pii"))
    entry = next(
        e["node"] for e in clear["data"]["auditLog"]["edges"] if e["node"]["recordId"] == made["id"]
    )
    assert entry["after"]["leader_phone"] == "13911112222"


VOTES = """mutation ($id: ID!, $f: Int!, $a: Int!, $v: Int) {
  setResolutionVotes(id: $id, votesFor: $f, votesAgainst: $a, expectedVersion: $v) {
  status votesFor votesAgainst version } }"""


def reason(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["reason"])


async def _voted_event(hub: Hub, token: str) -> tuple[str, str]:
    """A 10-participant event in VILLAGE with one ADOPTED and one PROPOSED resolution."""
    given = {
        "regionCode": VILLAGE,
        "kind": "DELIBERATION",
        "title": "表决测试议事会",
        "startsAt": "2026-11-20T09:30:00+08:00",
        "participants": [{"group": "VILLAGERS", "count": 10}],
    }
    event = (await hub.post(RECORD, {"input": given}, token=token)).json()
    ident = event["data"]["recordParticipationEvent"]["id"]
    ids = []
    for text in ("修建文化广场", "设立护河岗"):
        added = (await hub.post(ADD, {"e": ident, "t": text}, token=token)).json()
        ids.append(added["data"]["addResolution"]["id"])
    await hub.post(SET, {"id": ids[0], "s": "ADOPTED", "on": "2026-11-20"}, token=token)
    return ids[0], ids[1]


async def test_votes_are_set_on_a_decided_resolution_within_its_participants(hub: Hub) -> None:
    token = editor(hub)
    adopted, proposed = await _voted_event(hub, token)
    body = (await hub.post(VOTES, {"id": adopted, "f": 7, "a": 3, "v": 2}, token=token)).json()
    assert body["data"]["setResolutionVotes"] == {
        "status": "ADOPTED",
        "votesFor": 7,
        "votesAgainst": 3,
        "version": 3,
    }
    stale = (await hub.post(VOTES, {"id": adopted, "f": 6, "a": 3, "v": 2}, token=token)).json()
    assert (code(stale), reason(stale)) == ("CONFLICT", "VERSION_MISMATCH")
    refusals = [
        ({"id": adopted, "f": -1, "a": 0}, "VOTES_NEGATIVE"),
        ({"id": adopted, "f": 0, "a": -2}, "VOTES_NEGATIVE"),
        ({"id": adopted, "f": 8, "a": 3}, "VOTES_EXCEED_PARTICIPANTS"),
        ({"id": proposed, "f": 1, "a": 0}, "RESOLUTION_NOT_DECIDED"),
    ]
    for variables, why in refusals:
        refused = (await hub.post(VOTES, variables, token=token)).json()
        assert (code(refused), reason(refused)) == ("BAD_USER_INPUT", why)
        assert refused["data"] == {"setResolutionVotes": None} or refused["data"] is None
    unchanged = (await hub.post(VOTES, {"id": adopted, "f": 7, "a": 3, "v": 3}, token=token)).json()
    assert unchanged["data"]["setResolutionVotes"]["version"] == 4


async def test_votes_outside_the_editors_scope_look_like_an_unknown_id(hub: Hub) -> None:
    adopted, _ = await _voted_event(hub, editor(hub))
    unknown = gid("Resolution", "00000000-0000-0000-0000-000000000000")
    missing = (await hub.post(VOTES, {"id": unknown, "f": 1, "a": 0}, token=editor(hub))).json()
    other = editor(hub, OTHER_TOWNSHIP)
    hidden = (await hub.post(VOTES, {"id": adopted, "f": 1, "a": 0}, token=other)).json()
    assert (code(missing), reason(missing)) == ("NOT_FOUND", "RECORD_NOT_FOUND")
    assert hidden["errors"][0]["message"] == missing["errors"][0]["message"]
    shown = [{**b["errors"][0]["extensions"], "requestId": None} for b in (hidden, missing)]
    assert shown[0] == shown[1]
    viewer = (
        await hub.post(VOTES, {"id": adopted, "f": 1, "a": 0}, token=hub.token(VILLAGE))
    ).json()
    assert code(viewer) == "FORBIDDEN"
