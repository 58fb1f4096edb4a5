"""`availableActions` lists exactly what the mutations let through: states × roles, each
listed action succeeds and each unlisted one is refused with a reason."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from resolvers.workflow import ACTIONS
from tests.conftest import Hub

STATUSES = [
    "SUBMITTED",
    "ACCEPTED",
    "IN_PROGRESS",
    "ESCALATED",
    "RESOLVED",
    "CLOSED",
    "REJECTED",
    "WITHDRAWN",
]
COUNTY = "341126"
ARGS = {
    "accept": "",
    "start": "",
    "close": "",
    "reject": ', reason: "不属实"',
    "escalate": ', reason: "需上级协调"',
    "reopen": ', reason: "群众不满意"',
    "withdraw": ', reason: "已自行解决"',
    "resolve": ', note: "已办结"',
    "rate": ", satisfaction: 4",
}
READ = """query ($r: String!) { serviceRequest(reference: $r) {
  id status availableActions } }"""


def _mutation(action: str) -> str:
    return f"mutation ($id: ID!) {{ {action}ServiceRequest(id: $id{ARGS[action]}) {{ status }} }}"


async def _pool(owner: asyncpg.Connection, under: str, status: str) -> Iterator[str]:
    """Requests of `status` under `under`, those handled elsewhere (escalated) first."""
    rows = await owner.fetch(
        "select reference from service_request where region_code like $1 || '%' "
        "and status = $2::service_status "
        "order by handling_region_code = region_code, reference",
        under,
        status,
    )
    return iter([r["reference"] for r in rows])


async def _callers(owner: asyncpg.Connection, status: str) -> list[tuple[str, tuple[str, ...]]]:
    """A reader and an editor of the county, and an editor of a township with such requests
    (for escalated ones: a township whose request the county now handles), the most of them."""
    township: str = await owner.fetchval(
        "select left(region_code, 9) from service_request where region_code like $1 || '%' "
        "and length(region_code) = 12 and status = $2::service_status group by 1 "
        "order by bool_and(handling_region_code = region_code), count(*) desc, 1 limit 1",
        COUNTY,
        status,
    )
    return [(COUNTY, ("viewer",)), (COUNTY, ("editor",)), (township, ("editor",))]


@pytest.mark.parametrize("status", STATUSES)
async def test_each_listed_action_succeeds_and_each_unlisted_one_is_refused(
    hub: Hub, owner: asyncpg.Connection, status: str
) -> None:
    for code, roles in await _callers(owner, status):
        token = hub.token(code, roles=roles)
        pool = await _pool(owner, code, status)
        reference: str | None = None
        for action in ACTIONS:
            reference = reference or next(pool)
            read = (await hub.post(READ, {"r": reference}, token=token)).json()
            request = read["data"]["serviceRequest"]
            assert request is not None and request["status"] == status, (reference, read)
            listed = {a.lower() for a in request["availableActions"]}
            assert listed <= set(ACTIONS)
            body = (await hub.post(_mutation(action), {"id": request["id"]}, token=token)).json()
            where = (status, code, roles, action, reference, sorted(listed))
            if action in listed:
                assert "errors" not in body, (where, body)
                reference = None  # the request moved on: take a fresh one
            else:
                assert body.get("errors"), (where, body)
                extensions = body["errors"][0]["extensions"]
                assert extensions["code"] in ("FORBIDDEN", "BAD_USER_INPUT"), (where, body)
                assert extensions.get("reason"), (where, body)
                if (
                    extensions["reason"] == "INVALID_TRANSITION"
                ):  # "cannot be closed", not "closeed"
                    assert f"cannot be {ACTIONS[action].past} " in body["errors"][0]["message"]


async def test_a_county_editor_may_accept_or_reject_a_submitted_request(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    reference = next(await _pool(owner, COUNTY, "SUBMITTED"))
    token = hub.token("341126", roles=("editor",))
    body = (await hub.post(READ, {"r": reference}, token=token)).json()
    assert body["data"]["serviceRequest"]["availableActions"] == ["ACCEPT", "REJECT", "WITHDRAW"]
    viewer = await hub.query(READ, {"r": reference})
    assert viewer["data"]["serviceRequest"]["availableActions"] == []
