"""The lists a page shows: request filters by handling organization, escalation target,
resolution period and satisfaction; request orders by resolution and satisfaction;
organization orders by name and member count; event orders by start. Expected rows come
from SQL run as the table owner."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest

from resolvers.ids import global_id
from tests.conftest import Hub

COUNTY = "341126"
SUBTREE = "region_code like '341126%'"
REQUESTS = """query ($filter: ServiceRequestFilter, $orderBy: ServiceRequestOrder, $first: Int,
  $after: String) {
  serviceRequests(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { reference } } } }"""


async def _refs(hub: Hub, **args: Any) -> tuple[list[str], int]:
    body = await hub.query(REQUESTS, args)
    assert "errors" not in body, body
    got = body["data"]["serviceRequests"]
    return [e["node"]["reference"] for e in got["edges"]], got["totalCount"]


async def _sql(owner: asyncpg.Connection, where: str, order: str, *params: Any) -> list[str]:
    rows = await owner.fetch(
        f"select reference from service_request where {SUBTREE} and ({where}) order by {order}",
        *params,
    )
    return [r["reference"] for r in rows]


async def test_filter_by_handling_organization(hub: Hub, owner: asyncpg.Connection) -> None:
    organization = await owner.fetchval(
        f"select handled_by from service_request where {SUBTREE} and handled_by is not null "
        "group by 1 order by count(*) desc limit 1"
    )
    expected = await _sql(owner, "handled_by = $1", "submitted_at desc, id desc", organization)
    refs, total = await _refs(
        hub, filter={"handledBy": global_id("Organization", organization)}, first=500
    )
    assert (refs, total) == (expected[:500], len(expected))
    assert total > 0
    foreign = await owner.fetchval(
        "select id from organization where region_code like '341125%' limit 1"
    )
    refs, total = await _refs(hub, filter={"handledBy": global_id("Organization", foreign)})
    assert (refs, total) == ([], 0)


async def test_filter_by_escalation_target(hub: Hub, owner: asyncpg.Connection) -> None:
    target = await owner.fetchval(
        f"select handling_region_code from service_request where {SUBTREE} "
        "and handling_region_code <> region_code and handling_region_code like '341126%' "
        "group by 1 order by count(*) desc limit 1"
    )
    expected = await _sql(
        owner,
        "handling_region_code = $1 and region_code <> $1",
        "submitted_at desc, id desc",
        target,
    )
    refs, total = await _refs(hub, filter={"escalatedTo": target}, first=500)
    assert (refs, total) == (expected, len(expected)) and total > 0
    body = await hub.query(REQUESTS, {"filter": {"escalatedTo": "12x"}})
    assert body["errors"][0]["extensions"]["reason"] == "REGION_CODE_MALFORMED"


async def test_filter_by_resolution_period_and_satisfaction(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    day: dt.date = await owner.fetchval(
        f"select (max(resolved_at) at time zone 'Asia/Shanghai')::date from service_request "
        f"where {SUBTREE}"
    )
    start = day - dt.timedelta(days=30)
    where = (
        "(resolved_at at time zone 'Asia/Shanghai')::date between $1 and $2 "
        "and satisfaction = any($3::smallint[])"
    )
    expected = await _sql(owner, where, "submitted_at desc, id desc", start, day, [4, 5])
    refs, total = await _refs(
        hub,
        filter={
            "resolvedFrom": start.isoformat(),
            "resolvedTo": day.isoformat(),
            "satisfactions": [4, 5],
        },
        first=500,
    )
    assert (refs, total) == (expected[:500], len(expected)) and total > 0
    unrated = await _sql(owner, "satisfaction is null and status = 'CLOSED'", "id")
    _, total = await _refs(hub, filter={"rated": False, "statuses": ["CLOSED"]})
    assert total == len(unrated)
    body = await hub.query(REQUESTS, {"filter": {"satisfactions": [0]}})
    assert body["errors"][0]["extensions"]["reason"] == "SATISFACTION_RANGE"


SQL_ORDER = {
    "RESOLVED_AT_DESC": "resolved_at desc nulls last, id desc",
    "RESOLVED_AT_ASC": "resolved_at asc nulls last, id asc",
    "SATISFACTION_DESC": "satisfaction desc nulls last, id desc",
    "SATISFACTION_ASC": "satisfaction asc nulls last, id asc",
}


@pytest.mark.parametrize("order", list(SQL_ORDER))
async def test_request_orders_walk_pages_in_the_sql_order(
    hub: Hub, owner: asyncpg.Connection, order: str
) -> None:
    # One village's requests, in pages of 40, so that nulls and ties are crossed.
    village = await owner.fetchval(
        f"select region_code from service_request where {SUBTREE} and length(region_code) = 12 "
        "group by 1 having count(*) between 80 and 400 order by 1 limit 1"
    )
    expected = await _sql(owner, "region_code = $1", SQL_ORDER[order], village)
    query = """query ($under: String, $orderBy: ServiceRequestOrder, $after: String) {
      serviceRequests(under: $under, orderBy: $orderBy, first: 40, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { reference } } } }"""
    refs: list[str] = []
    after = None
    for _ in range(50):
        body = await hub.query(query, {"under": village, "orderBy": order, "after": after})
        got = body["data"]["serviceRequests"]
        refs += [e["node"]["reference"] for e in got["edges"]]
        if not got["pageInfo"]["hasNextPage"]:
            break
        after = got["pageInfo"]["endCursor"]
    assert refs == expected


ORGANIZATIONS = """query ($orderBy: OrganizationOrder, $after: String) {
  region(code: "341126") { organizations(orderBy: $orderBy, first: 200, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { name memberCount } } } } }"""
ORGANIZATION_SQL = {
    "NAME_ASC": "name, id",
    "NAME_DESC": "name desc, id desc",
    "MEMBER_COUNT_DESC": "member_count desc, id desc",
    "MEMBER_COUNT_ASC": "member_count, id",
}


@pytest.mark.parametrize("order", list(ORGANIZATION_SQL))
async def test_organization_orders(hub: Hub, owner: asyncpg.Connection, order: str) -> None:
    rows = await owner.fetch(
        f"select name, member_count from organization where {SUBTREE} "
        f"order by {ORGANIZATION_SQL[order]}"
    )
    got: list[tuple[str, int]] = []
    after = None
    for _ in range(100):
        body = await hub.query(ORGANIZATIONS, {"orderBy": order, "after": after})
        assert "errors" not in body, body
        page = body["data"]["region"]["organizations"]
        got += [(e["node"]["name"], e["node"]["memberCount"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert got == [(r["name"], r["member_count"]) for r in rows]


@pytest.mark.parametrize(
    ("order", "sql"),
    [("STARTS_AT_ASC", "starts_at, id"), ("STARTS_AT_DESC", "starts_at desc, id desc")],
)
async def test_event_orders(hub: Hub, owner: asyncpg.Connection, order: str, sql: str) -> None:
    rows = await owner.fetch(
        f"select id from participation_event where {SUBTREE} order by {sql} limit 120"
    )
    body = await hub.query(
        """query ($orderBy: ParticipationEventOrder) {
          participationEvents(orderBy: $orderBy, first: 120) { edges { node { id } } } }""",
        {"orderBy": order},
    )
    assert "errors" not in body, body
    got = [e["node"]["id"] for e in body["data"]["participationEvents"]["edges"]]
    assert got == [global_id("ParticipationEvent", r["id"]) for r in rows]
