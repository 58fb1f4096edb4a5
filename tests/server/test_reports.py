"""Named reports run by name over HTTP as their caller, and allow-list clients may run
nothing else (gateway entity fetches excepted)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from db import allowlist
from db.setup import Database
from schema.reports import BEFORE_OWN_ROW, REPORTS_DIR, Reports
from server.auth import issue
from server.settings import Settings
from tests.conftest import Hub, running

COUNTY = "341126"
TOWNSHIP = "341126101"
PERIOD = {"region": COUNTY, "from": "2026-03-01", "to": "2026-03-31"}
LISTED = "bi-dashboard"
GATEWAY_SECRET = "gateway-secret-that-is-long-enough-for-the-hub"
FREE = '{ region(code: "341126") { name } }'
ENTITIES = """query ($r: [_Any!]!) { _entities(representations: $r) {
    ... on Region { code name } } }"""


@pytest.fixture(scope="module")
async def hub(database: Database, settings: Settings) -> AsyncIterator[Hub]:
    owner = await asyncpg.connect(database.owner_dsn)
    try:
        await allowlist.add(owner, LISTED)
    finally:
        await owner.close()
    with_gateway = dataclasses.replace(settings, gateway_secret=GATEWAY_SECRET)
    async with running(database, with_gateway) as started:
        yield started


def token(hub: Hub, code: str = COUNTY, client: str | None = None) -> str:
    return issue(hub.settings, "analyst", [code], ["viewer"], client=client)


async def run(
    hub: Hub,
    name: str,
    version: int | None = None,
    variables: dict[str, Any] | None = None,
    *,
    as_: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    report: dict[str, Any] = {"name": name}
    if version is not None:
        report["version"] = version
    return await hub.client.post(
        "/graphql",
        json={
            "extensions": {"report": report},
            "variables": PERIOD if variables is None else variables,
        },
        headers={"authorization": f"Bearer {as_ or token(hub)}", **(headers or {})},
    )


def registered() -> list[tuple[str, int]]:
    from schema.build import build_schema

    return [(r["name"], r["version"]) for r in Reports.load(build_schema()._schema).listing()]


@pytest.mark.parametrize(("name", "version"), registered())
async def test_every_registered_report_runs_and_answers_as_its_document_would(
    hub: Hub, name: str, version: int
) -> None:
    response = await run(hub, name, version)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    assert body["data"]["region"]["code"] == COUNTY
    document = (REPORTS_DIR / f"{name}.v{version}.graphql").read_text(encoding="utf-8")
    direct = (await hub.post(document, PERIOD, token=token(hub))).json()
    if (name, version) in BEFORE_OWN_ROW:  # sent as a document, the own row comes first
        rows = direct["data"]["region"]["breakdown"]
        assert rows[0]["key"] == COUNTY and rows[0]["label"] == "本级"
        direct["data"]["region"]["breakdown"] = rows[1:]
    assert direct == body


async def test_reports_before_the_own_row_keep_their_rows_and_v3_adds_it_first(
    hub: Hub,
) -> None:
    for version in (1, 2):
        rows = (await run(hub, "monthly-rates-by-child", version)).json()["data"]["region"][
            "breakdown"
        ]
        assert len(rows) == 18 and all(len(r["key"]) == 9 for r in rows)
    body = (await run(hub, "monthly-rates-by-child", 3)).json()["data"]["region"]
    rows = body["breakdown"]
    assert (rows[0]["key"], rows[0]["label"], rows[0]["own"]) == (COUNTY, "本级", True)
    assert not any(r["own"] for r in rows[1:]) and len(rows) == 19
    total = body["stats"]["serviceRequests"]["total"]
    assert sum(r["stats"]["serviceRequests"]["total"] for r in rows) == total


async def test_the_monthly_rates_report_gives_a_row_per_child_with_its_rates(hub: Hub) -> None:
    body = (await run(hub, "monthly-rates-by-child", 1)).json()
    rows = body["data"]["region"]["breakdown"]
    assert len(rows) == 18 and all(r["key"].startswith(COUNTY) for r in rows)
    services = [r["stats"]["serviceRequests"] for r in rows]
    assert sum(s["total"] for s in services) > 0
    assert all(s["responseRate"] is None or 0 <= s["responseRate"] <= 1 for s in services)
    assert set(services[0]) == {
        "total",
        "resolved",
        "responseRate",
        "resolutionRate",
        "satisfactionRate",
    }


async def test_without_a_version_the_latest_runs_and_old_versions_stay_runnable(
    hub: Hub,
) -> None:
    latest = (await run(hub, "monthly-rates-by-child")).json()
    v3 = (await run(hub, "monthly-rates-by-child", 3)).json()
    v2 = (await run(hub, "monthly-rates-by-child", 2)).json()
    v1 = (await run(hub, "monthly-rates-by-child", 1)).json()
    assert latest == v3 and "stats" in v2["data"]["region"]
    assert "stats" not in v1["data"]["region"]


async def test_a_report_runs_with_the_callers_scope(hub: Hub) -> None:
    township = await run(hub, "monthly-rates-by-child", 1, as_=token(hub, TOWNSHIP))
    body = township.json()
    assert body["data"]["region"]["breakdown"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    foreign = await run(
        hub, "monthly-rates-by-child", 1, {**PERIOD, "region": "341125"}, as_=token(hub)
    )
    assert foreign.json()["data"] == {"region": None}


@pytest.mark.parametrize(
    ("report", "code", "reason"),
    [
        ({"name": "no-such-report"}, "NOT_FOUND", "REPORT_NOT_FOUND"),
        ({"name": "monthly-rates-by-child", "version": 99}, "NOT_FOUND", "REPORT_NOT_FOUND"),
        ({"name": "monthly-rates-by-child", "version": "1"}, "BAD_USER_INPUT", "REPORT_MALFORMED"),
        ({"name": "monthly-rates-by-child", "version": True}, "BAD_USER_INPUT", "REPORT_MALFORMED"),
        ({"version": 1}, "BAD_USER_INPUT", "REPORT_MALFORMED"),
        ("monthly-rates-by-child", "BAD_USER_INPUT", "REPORT_MALFORMED"),
    ],
)
async def test_unknown_or_malformed_report_requests_get_a_clear_error(
    hub: Hub, report: Any, code: str, reason: str | None
) -> None:
    response = await hub.client.post(
        "/graphql",
        json={"extensions": {"report": report}, "variables": PERIOD},
        headers={"authorization": f"Bearer {token(hub)}"},
    )
    error = response.json()["errors"][0]
    assert response.status_code == 400
    assert error["extensions"]["code"] == code
    assert error["extensions"].get("reason") == reason


async def test_missing_variables_and_a_query_beside_a_report_are_refused(hub: Hub) -> None:
    missing = await run(hub, "monthly-rates-by-child", 1, {"region": COUNTY})
    assert missing.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    both = await hub.client.post(
        "/graphql",
        json={"query": FREE, "extensions": {"report": {"name": "monthly-rates-by-child"}}},
        headers={"authorization": f"Bearer {token(hub)}"},
    )
    assert both.status_code == 400
    assert both.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_reports_are_listed_with_versions_descriptions_and_variables(hub: Hub) -> None:
    assert (await hub.client.get("/reports")).status_code == 401
    response = await hub.client.get("/reports", headers={"authorization": f"Bearer {token(hub)}"})
    listed = {(r["name"], r["version"]): r for r in response.json()["reports"]}
    v1 = listed[("monthly-rates-by-child", 1)]
    assert not v1["latest"] and not listed[("monthly-rates-by-child", 2)]["latest"]
    assert listed[("monthly-rates-by-child", 3)]["latest"]
    assert "three rates" in v1["description"]
    assert v1["variables"] == [
        {"name": "region", "type": "String!", "default": None},
        {"name": "from", "type": "Date!", "default": None},
        {"name": "to", "type": "Date!", "default": None},
    ]


async def test_an_allowlist_client_cannot_send_free_query_text(hub: Hub) -> None:
    listed = token(hub, client=LISTED)
    response = await hub.post(FREE, token=listed)
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert error["extensions"] | {"requestId": None} == {
        "code": "FORBIDDEN",
        "reason": "REPORT_REQUIRED",
        "requestId": None,
    }
    assert "data" not in response.json()
    batch = await hub.client.post(
        "/graphql",
        json=[
            {"extensions": {"report": {"name": "monthly-rates-by-child"}}, "variables": PERIOD},
            {"query": FREE},
        ],
        headers={"authorization": f"Bearer {listed}"},
    )
    assert batch.status_code == 403


async def test_an_allowlist_client_runs_registered_reports(hub: Hub) -> None:
    response = await run(hub, "monthly-rates-by-child", 1, as_=token(hub, client=LISTED))
    assert response.status_code == 200
    assert response.json()["data"]["region"]["code"] == COUNTY


async def test_other_clients_and_tokens_without_a_client_send_any_query(hub: Hub) -> None:
    for sent in (token(hub, client="field-app"), token(hub)):
        response = await hub.post(FREE, token=sent)
        assert response.json() == {"data": {"region": {"name": "凤阳县"}}}


async def test_gateway_entity_fetches_for_an_allowlist_client_are_not_affected(
    hub: Hub,
) -> None:
    listed = token(hub, client=LISTED)
    fetched = await hub.post(
        ENTITIES,
        {"r": [{"__typename": "Region", "code": COUNTY}]},
        token=listed,
        **{"x-gateway-token": GATEWAY_SECRET},
    )
    assert fetched.status_code == 200
    assert fetched.json()["data"]["_entities"] == [{"code": COUNTY, "name": "凤阳县"}]
    # The credential exempts entity fetches only, and only when it is the right one.
    root = await hub.post(FREE, token=listed, **{"x-gateway-token": GATEWAY_SECRET})
    assert root.status_code == 403
    forged = await hub.post(
        ENTITIES,
        {"r": [{"__typename": "Region", "code": COUNTY}]},
        token=listed,
        **{"x-gateway-token": "not-the-gateway-secret-but-long-enough-anyway"},
    )
    assert forged.status_code == 401
    direct = await hub.post(
        ENTITIES, {"r": [{"__typename": "Region", "code": COUNTY}]}, token=listed
    )
    assert direct.status_code == 403


async def test_an_allowlist_client_cannot_subscribe(
    hub: Hub, database: Database, settings: Settings
) -> None:
    from server.app import create_app
    from tests.server.test_subscriptions import Socket

    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        socket = await Socket(app).__aenter__()
        try:
            await socket.init({"Authorization": f"Bearer {token(hub, client=LISTED)}"})
            assert await socket.receive() == {"type": "connection_ack"}
            await socket.subscribe("1")
            refused = await socket.receive()
        finally:
            await socket.__aexit__()
    assert refused["type"] == "error" and refused["id"] == "1"
    assert refused["payload"][0]["extensions"] == {"code": "FORBIDDEN", "reason": "REPORT_REQUIRED"}
