"""Who has reported: `Region.lastRecordAt` and `Region.childrenReporting`, scope-safe."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from tests.conftest import Hub

NATION = "100000"
COUNTY = "341126"
TOWNSHIP = "341126101"
TIMES = """query ($code: String!) { region(code: $code) { code
  lastRecordAt { serviceRequest participationEvent organization } } }"""
REPORTING = """query ($code: String!, $from: Date, $to: Date) { region(code: $code) {
  childrenReporting(from: $from, to: $to) { children
    serviceRequests { neverReported silentInPeriod }
    participation { neverReported silentInPeriod } } } }"""
NEWEST = """select
  (select max(created_at) from service_request where path <@ r.path and status <> 'WITHDRAWN'),
  (select max(created_at) from participation_event where path <@ r.path),
  (select max(created_at) from organization where path <@ r.path)
from region r where r.code = $1"""


def at(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


async def times(hub: Hub, code: str, as_: str) -> dict[str, Any]:
    body = await hub.query(TIMES, {"code": code}, as_=as_)
    return body


async def test_last_record_times_are_the_subtrees_newest_records(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    for code, caller in ((COUNTY, COUNTY), (TOWNSHIP, TOWNSHIP), ("34", NATION)):
        body = await times(hub, code, caller)
        assert "errors" not in body, body
        found = body["data"]["region"]["lastRecordAt"]
        newest = await owner.fetchrow(NEWEST, code)
        assert newest is not None
        want = tuple(newest)
        got = (
            at(found["serviceRequest"]),
            at(found["participationEvent"]),
            at(found["organization"]),
        )
        assert got == want and None not in got, code
    empty = (await times(hub, "110107", NATION))["data"]["region"]["lastRecordAt"]
    assert empty == {"serviceRequest": None, "participationEvent": None, "organization": None}


async def test_no_caller_learns_when_a_region_outside_its_scope_last_reported(hub: Hub) -> None:
    foreign = await times(hub, "341125", COUNTY)  # a sibling county: as if it did not exist
    assert foreign["data"]["region"] is None and "errors" not in foreign
    above = await times(hub, "3411", TOWNSHIP)  # the city above: a breadcrumb
    assert above["data"]["region"] == {"code": "3411", "lastRecordAt": None}
    assert above["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await hub.query(REPORTING, {"code": "3411"}, as_=COUNTY)
    assert body["data"]["region"] == {"childrenReporting": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_children_that_never_reported_and_those_silent_in_the_period_are_apart(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    async def reporting(**period: str) -> dict[str, Any]:
        body = await hub.query(REPORTING, {"code": NATION, **period}, as_=NATION)
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["region"]["childrenReporting"]
        return found

    march = {"from": "2026-03-01", "to": "2026-03-31"}
    gap = {"neverReported": 1, "silentInPeriod": 0}  # 北京 (11) has no records; 安徽 (34) has
    assert await reporting(**march) == {
        "children": 2, "serviceRequests": gap, "participation": gap
    }  # fmt: skip
    before = await reporting(**{"from": "2001-01-01", "to": "2001-12-31"})
    assert before["serviceRequests"] == {"neverReported": 2, "silentInPeriod": 0}
    village = await owner.fetchval(
        "select code from region where code like '110107%' and level = 'VILLAGE' limit 1"
    )
    await owner.execute(
        """insert into service_request (reference, region_code, handling_region_code, category,
             channel, status, title, submitted_at)
           values ($1, $2, $2, 'HEALTH', 'HOTLINE', 'SUBMITTED', '旧的请求', $3)""",
        f"{village}-2020-000001",
        village,
        dt.datetime(2020, 5, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )
    after = await reporting(**march)
    assert after["serviceRequests"] == {"neverReported": 0, "silentInPeriod": 1}
    assert after["participation"] == gap
