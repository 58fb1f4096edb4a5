"""The service request workflow over HTTP: every action; every refusal leaves data as it was."""

import base64
import uuid
from typing import Any

import asyncpg
import pytest

from db import clock
from db.pool import connect
from db.setup import Database
from tests.conftest import Hub

VILLAGE = "341126101001"
TOWNSHIP = "341126101"
OTHER_TOWNSHIP = "341126102"
FIELDS = """id reference status version dueAt submittedAt firstRespondedAt acceptedAt
  resolvedAt closedAt satisfaction escalatedTo { code access } handledBy { name }
  history { action fromStatus toStatus actor note }"""
SUBMIT = f"""mutation ($input: SubmitServiceRequestInput!, $key: String) {{
  submitServiceRequest(input: $input, idempotencyKey: $key) {{ {FIELDS} }} }}"""
ACTIONS: dict[str, str] = {
    "accept": "acceptServiceRequest(id: $id, expectedVersion: $v)",
    "start": "startServiceRequest(id: $id, expectedVersion: $v)",
    "escalate": 'escalateServiceRequest(id: $id, reason: "需要上级协调", expectedVersion: $v)',
    "reject": 'rejectServiceRequest(id: $id, reason: "不属于受理范围", expectedVersion: $v)',
    "resolve": 'resolveServiceRequest(id: $id, note: "已办结", expectedVersion: $v)',
    "close": "closeServiceRequest(id: $id, expectedVersion: $v)",
    "reopen": 'reopenServiceRequest(id: $id, reason: "群众反映未解决", expectedVersion: $v)',
    "withdraw": 'withdrawServiceRequest(id: $id, reason: "本人撤回", expectedVersion: $v)',
    "rate": "rateServiceRequest(id: $id, satisfaction: 5, expectedVersion: $v)",
}
ALLOWED = {
    "SUBMITTED": {"accept", "reject", "withdraw"},
    "ACCEPTED": {"start", "escalate", "resolve", "withdraw"},
    "IN_PROGRESS": {"start", "escalate", "resolve"},
    "ESCALATED": {"accept", "reject"},
    "RESOLVED": {"close", "reopen", "rate"},
    "CLOSED": {"rate"},
    "REJECTED": set(),
    "WITHDRAWN": set(),
}


def gid(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


def editor(hub: Hub, code: str = VILLAGE, sub: str = "clerk") -> str:
    return hub.token(code, roles=("viewer", "editor"), sub=sub)


async def run(
    hub: Hub, token: str, action: str, ident: str, version: int | None = None, fields: str = FIELDS
) -> dict[str, Any]:
    query = f"mutation ($id: ID!, $v: Int) {{ result: {ACTIONS[action]} {{ {fields} }} }}"
    body: dict[str, Any] = (await hub.post(query, {"id": ident, "v": version}, token=token)).json()
    return body


async def submit(hub: Hub, token: str, **overrides: Any) -> dict[str, Any]:
    given = {
        "regionCode": VILLAGE,
        "category": "HEALTH",
        "channel": "HOTLINE",
        "title": "村卫生室缺少常用药",
        "requesterName": "李四",
        "requesterPhone": "13912345678",
        **overrides,
    }
    body = (await hub.post(SUBMIT, {"input": given}, token=token)).json()
    assert "errors" not in body, body
    return body["data"]["submitServiceRequest"]  # type: ignore[no-any-return]


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def unstamped(body: dict[str, Any]) -> dict[str, Any]:
    """The body without the request ids its errors carry (one per request, by design)."""
    for error in body.get("errors", ()):
        error["extensions"].pop("requestId", None)
    return body


async def test_submit_starts_a_request_with_reference_deadline_and_history(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    made = await submit(hub, editor(hub))
    assert made["status"] == "SUBMITTED" and made["version"] == 1
    assert made["reference"].startswith(f"{VILLAGE}-2026-")
    assert len(made["reference"].rsplit("-", 1)[1]) == 6
    row = await owner.fetchrow(
        "select submitted_at, due_at from service_request where reference = $1", made["reference"]
    )
    assert row is not None
    assert (row["due_at"] - row["submitted_at"]).days == 7  # HEALTH
    assert made["history"] == [
        {
            "action": "submit",
            "fromStatus": None,
            "toStatus": "SUBMITTED",
            "actor": "clerk",
            "note": None,
        }
    ]
    audited = await owner.fetchval(
        "select count(*) from audit_log where operation = 'submitServiceRequest' "
        "and record_id = (select id from service_request where reference = $1)",
        made["reference"],
    )
    assert audited == 1


async def test_references_count_up_per_region_and_year(hub: Hub) -> None:
    first = await submit(hub, editor(hub))
    second = await submit(hub, editor(hub))

    def number(request: dict[str, Any]) -> int:
        return int(request["reference"].rsplit("-", 1)[1])

    assert number(second) == number(first) + 1


async def test_a_request_goes_through_the_whole_workflow(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = editor(hub)
    made = await submit(hub, token)
    org = await owner.fetchval(
        "select id from organization where region_code = $1 "
        "and kind in ('VILLAGE_COMMITTEE', 'RESIDENTS_COMMITTEE')",
        VILLAGE,
    )
    query = """mutation ($id: ID!, $org: ID) { acceptServiceRequest(id: $id, handledBy: $org,
        expectedVersion: 1) { status version acceptedAt firstRespondedAt handledBy { name } } }"""
    response = (
        await hub.post(query, {"id": made["id"], "org": gid("Organization", org)}, token=token)
    ).json()
    accepted = response["data"]["acceptServiceRequest"]
    assert accepted is not None, response
    assert accepted["status"] == "ACCEPTED" and accepted["version"] == 2
    assert accepted["acceptedAt"] and accepted["firstRespondedAt"] and accepted["handledBy"]
    for action, status, version in [
        ("start", "IN_PROGRESS", 3),
        ("resolve", "RESOLVED", 4),
        ("close", "CLOSED", 5),
        ("rate", "CLOSED", 6),
    ]:
        body = await run(hub, token, action, made["id"], version - 1)
        assert body["data"]["result"]["status"] == status, body
        assert body["data"]["result"]["version"] == version
    final = body["data"]["result"]
    assert final["satisfaction"] == 5 and final["resolvedAt"] and final["closedAt"]
    assert [h["action"] for h in final["history"]] == [
        "submit",
        "accept",
        "start",
        "resolve",
        "close",
        "rate",
    ]


async def test_escalation_hands_the_request_to_the_region_above(hub: Hub) -> None:
    village, township = editor(hub), editor(hub, TOWNSHIP, sub="township-clerk")
    made = await submit(hub, village)
    await run(hub, village, "accept", made["id"])
    escalated = (await run(hub, village, "escalate", made["id"]))["data"]["result"]
    assert escalated["status"] == "ESCALATED" and escalated["handledBy"] is None
    assert escalated["escalatedTo"] == {"code": TOWNSHIP, "access": "BREADCRUMB"}
    refused = await run(hub, village, "accept", made["id"])
    assert code(refused) == "FORBIDDEN"
    accepted = (await run(hub, township, "accept", made["id"]))["data"]["result"]
    assert accepted["status"] == "ACCEPTED"
    assert accepted["escalatedTo"] == {"code": TOWNSHIP, "access": "FULL"}


async def _one_in(owner: asyncpg.Connection, status: str) -> tuple[str, str, int]:
    row = await owner.fetchrow(
        "select id, handling_region_code, version from service_request "
        "where status = $1 and region_code like '341126%' and resolved_at is null "
        "or (status = $1 and $1 in ('RESOLVED', 'CLOSED') and satisfaction is null "
        "and region_code like '341126%') order by id limit 1",
        status,
    )
    assert row is not None
    return gid("ServiceRequest", row["id"]), row["handling_region_code"], row["version"]


@pytest.mark.parametrize("status", sorted(ALLOWED))
async def test_every_refused_transition_is_bad_user_input_and_changes_nothing(
    hub: Hub, owner: asyncpg.Connection, status: str
) -> None:
    ident, handling, version = await _one_in(owner, status)
    token = editor(hub, handling)
    for action in sorted(set(ACTIONS) - ALLOWED[status]):
        body = await run(hub, token, action, ident)
        assert code(body) == "BAD_USER_INPUT", (status, action, body)
    key = uuid.UUID(base64.urlsafe_b64decode(ident + "==").decode().split(":")[1])
    assert await owner.fetchval("select version from service_request where id = $1", key) == version


async def test_the_database_refuses_a_transition_the_code_would_refuse(
    database: Database, owner: asyncpg.Connection
) -> None:
    row = await owner.fetchrow("select id from service_request where status = 'SUBMITTED' limit 1")
    assert row is not None
    conn = await connect(database.runtime_dsn)
    try:
        async with conn.transaction():
            await conn.execute(
                "select set_config('hub.read_scope', '{100000}', true), "
                "set_config('hub.editor_scope', '{100000}', true)"
            )
            with pytest.raises(asyncpg.CheckViolationError, match="SUBMITTED to CLOSED"):
                await conn.execute(
                    "update service_request set status = 'CLOSED', "
                    "version = version + 1 where id = $1",
                    row["id"],
                )
    finally:
        await conn.close()


async def test_a_stale_version_is_a_conflict_and_changes_nothing(hub: Hub) -> None:
    token = editor(hub)
    made = await submit(hub, token)
    body = await run(hub, token, "accept", made["id"], version=7)
    assert code(body) == "CONFLICT"
    again = await run(hub, token, "accept", made["id"], version=1)
    assert again["data"]["result"]["version"] == 2


async def test_the_same_idempotency_key_writes_once(hub: Hub, owner: asyncpg.Connection) -> None:
    token = editor(hub, sub="retrying-clerk")
    given = {"regionCode": VILLAGE, "category": "OTHER", "channel": "ONLINE", "title": "重复提交"}
    first = (await hub.post(SUBMIT, {"input": given, "key": "k-1"}, token=token)).json()
    second = (await hub.post(SUBMIT, {"input": given, "key": "k-1"}, token=token)).json()
    assert first == second
    assert (
        await owner.fetchval("select count(*) from service_request where title = '重复提交'") == 1
    )
    changed = (
        await hub.post(SUBMIT, {"input": {**given, "title": "别的"}, "key": "k-1"}, token=token)
    ).json()
    assert code(changed) == "CONFLICT"
    other_caller = (
        await hub.post(
            SUBMIT, {"input": given, "key": "k-1"}, token=editor(hub, sub="someone-else")
        )
    ).json()
    assert (
        other_caller["data"]["submitServiceRequest"]["id"]
        != first["data"]["submitServiceRequest"]["id"]
    )


async def test_writes_outside_the_jurisdiction_are_as_if_the_record_did_not_exist(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    foreign = await owner.fetchval(
        "select id from service_request where status = 'SUBMITTED' and region_code like $1 || '%' "
        "limit 1",
        OTHER_TOWNSHIP,
    )
    token = editor(hub, TOWNSHIP)
    foreign_body = await run(hub, token, "accept", gid("ServiceRequest", foreign))
    missing_body = await run(hub, token, "accept", gid("ServiceRequest", uuid.uuid4()))
    assert unstamped(foreign_body) == unstamped(missing_body) and code(foreign_body) == "NOT_FOUND"
    submit_foreign = (
        await hub.post(
            SUBMIT,
            {
                "input": {
                    "regionCode": OTHER_TOWNSHIP,
                    "category": "OTHER",
                    "channel": "ONLINE",
                    "title": "x",
                }
            },
            token=token,
        )
    ).json()
    submit_unknown = (
        await hub.post(
            SUBMIT,
            {
                "input": {
                    "regionCode": "341126199",
                    "category": "OTHER",
                    "channel": "ONLINE",
                    "title": "x",
                }
            },
            token=token,
        )
    ).json()
    assert code(submit_foreign) == code(submit_unknown) == "NOT_FOUND"
    assert submit_foreign["errors"][0]["message"].replace(OTHER_TOWNSHIP, "X") == submit_unknown[
        "errors"
    ][0]["message"].replace("341126199", "X")


async def test_a_viewer_cannot_write(hub: Hub) -> None:
    body = (
        await hub.post(
            SUBMIT,
            {
                "input": {
                    "regionCode": VILLAGE,
                    "category": "OTHER",
                    "channel": "ONLINE",
                    "title": "x",
                }
            },
            token=hub.token(VILLAGE),
        )
    ).json()
    assert code(body) == "FORBIDDEN"


async def test_accepting_with_an_invisible_handler_is_refused(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = editor(hub)
    made = await submit(hub, token)
    foreign_org = await owner.fetchval(
        "select id from organization where region_code like $1 || '%' limit 1", OTHER_TOWNSHIP
    )
    body = (
        await hub.post(
            "mutation ($id: ID!, $org: ID) { "
            "acceptServiceRequest(id: $id, handledBy: $org) { id } }",
            {"id": made["id"], "org": gid("Organization", foreign_org)},
            token=token,
        )
    ).json()
    assert code(body) == "NOT_FOUND"
    unchanged = await run(hub, token, "start", made["id"])
    assert code(unchanged) == "BAD_USER_INPUT"  # still SUBMITTED: the accept left nothing


async def test_reopening_after_fifteen_days_is_refused(hub: Hub, owner: asyncpg.Connection) -> None:
    row = await owner.fetchrow(
        "select id, handling_region_code from service_request where status = 'RESOLVED' "
        "and resolved_at < $1::timestamptz - interval '20 days' limit 1",
        clock.now(),
    )
    assert row is not None
    body = await run(
        hub, editor(hub, row["handling_region_code"]), "reopen", gid("ServiceRequest", row["id"])
    )
    assert code(body) == "BAD_USER_INPUT" and "15 days" in body["errors"][0]["message"]


async def test_a_rating_is_given_once_and_between_one_and_five(hub: Hub) -> None:
    token = editor(hub)
    made = await submit(hub, token)
    for action in ("accept", "resolve"):
        await run(hub, token, action, made["id"])
    out_of_range = (
        await hub.post(
            "mutation ($id: ID!) { rateServiceRequest(id: $id, satisfaction: 6) { id } }",
            {"id": made["id"]},
            token=token,
        )
    ).json()
    assert code(out_of_range) == "BAD_USER_INPUT"
    assert (await run(hub, token, "rate", made["id"]))["data"]["result"]["satisfaction"] == 5
    assert code(await run(hub, token, "rate", made["id"])) == "BAD_USER_INPUT"
