"""Breakdown rows add up to the region's figures (the own row 本级 first among CHILD rows,
DESIGN.md §8) for every level and kind, and CHILD rows rank by any figure."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest

from db import clock
from tests.conftest import Hub

NATION, PROVINCE, CITY, COUNTY, TOWNSHIP = "100000", "34", "3411", "341126", "341126101"
KINDS = [
    "CHILD",
    "MONTH",
    "QUARTER",
    "YEAR",
    "SERVICE_CATEGORY",
    "PARTICIPATION_KIND",
    "ORGANIZATION_KIND",
]
FIGURES = """organizations partyMembers
  serviceRequests { total open resolved overdue }
  participation { events participants resolutionsAdopted resolutionsImplemented }"""
ADD_UP = f"""query ($code: String!, $by: Breakdown!, $from: Date, $to: Date) {{
  region(code: $code) {{ stats(from: $from, to: $to) {{ {FIGURES} }}
    breakdown(by: $by, from: $from, to: $to) {{ key label own region {{ code }}
      stats {{ {FIGURES} }} }} }} }}"""
RANKED = """query ($by: Breakdown!, $order: BreakdownOrder, $from: Date, $to: Date) {
  region(code: "341126") { breakdown(by: $by, orderBy: $order, from: $from, to: $to) {
    key own stats { serviceRequests { total responseRate satisfactionRate } } } } }"""

# The figures each kind of row carries: (section, field).
SERVICES = [("serviceRequests", f) for f in ("total", "open", "resolved", "overdue")]
PARTICIPATION = [
    ("participation", f)
    for f in ("events", "participants", "resolutionsAdopted", "resolutionsImplemented")
]
ORGANIZATIONS = [("", "organizations"), ("", "partyMembers")]
CARRIED = {
    "CHILD": SERVICES + PARTICIPATION + ORGANIZATIONS,
    "MONTH": SERVICES + PARTICIPATION,
    "QUARTER": SERVICES + PARTICIPATION,
    "YEAR": SERVICES + PARTICIPATION,
    "SERVICE_CATEGORY": SERVICES,
    "PARTICIPATION_KIND": PARTICIPATION,
    "ORGANIZATION_KIND": ORGANIZATIONS,
}


def _value(stats: dict[str, Any], section: str, field: str) -> int:
    found = stats[section] if section else stats
    return int(found[field])


async def _period(owner: asyncpg.Connection) -> tuple[str, str]:
    """About thirteen months ending ten days before the data's last day: clipped at both ends."""
    last: dt.datetime = await owner.fetchval(
        "select max(submitted_at) from service_request where region_code like '341126%'"
    )
    end = (last + dt.timedelta(hours=8)).date() - dt.timedelta(days=10)
    return str(end - dt.timedelta(days=390)), str(end)


@pytest.mark.parametrize("code", [NATION, PROVINCE, CITY, COUNTY, TOWNSHIP])
async def test_rows_add_up_to_the_total_for_every_kind(
    hub: Hub, owner: asyncpg.Connection, code: str
) -> None:
    start, end = await _period(owner)
    for by in KINDS:
        variables = {"code": code, "by": by, "from": start, "to": end}
        body = await hub.query(ADD_UP, variables, as_=NATION)
        assert "errors" not in body, body
        region = body["data"]["region"]
        rows, total = region["breakdown"], region["stats"]
        if by == "CHILD":
            assert (rows[0]["key"], rows[0]["label"], rows[0]["own"]) == (code, "本级", True)
            assert rows[0]["region"]["code"] == code and not any(r["own"] for r in rows[1:])
        for section, field in CARRIED[by]:
            summed = sum(_value(r["stats"], section, field) for r in rows)
            assert summed == _value(total, section, field), (code, by, section, field)
        assert _value(total, "serviceRequests", "total") > 0


async def test_the_own_row_holds_the_regions_own_records(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    """A province's own row comes from roll-ups: its subtree less its children."""
    await owner.execute(
        """insert into service_request (reference, region_code, handling_region_code,
             category, channel, status, title, submitted_at, due_at)
           values ('34-OWN-ROW-1', '34', '34', 'OTHER', 'ONLINE', 'SUBMITTED', '省级诉求',
             $1::timestamptz - interval '3 days', $1::timestamptz - interval '1 day')""",
        clock.now(),  # the hub's one clock, pinned in tests
    )
    body = await hub.query(ADD_UP, {"code": PROVINCE, "by": "CHILD"}, as_=NATION)
    own = body["data"]["region"]["breakdown"][0]["stats"]["serviceRequests"]
    direct = await owner.fetchrow(
        """select count(*) as total, count(*) filter (where due_at < $1
             and status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED')) as overdue
           from service_request where region_code = '34' and status <> 'WITHDRAWN'""",
        clock.now(),
    )
    assert direct is not None and direct["overdue"] > 0
    assert (own["total"], own["overdue"]) == (direct["total"], direct["overdue"])


# A recent day on which some children of the county have rated requests and some have none.
SOME_RATED = """select d from (
    select (submitted_at at time zone 'Asia/Shanghai')::date as d,
        count(distinct left(region_code, 9)) as n
    from service_request
    where region_code like '341126_%' and status <> 'WITHDRAWN' and satisfaction is not null
    group by 1) x
where n between 1 and (select count(*) - 1 from region where parent_code = '341126')
order by d desc limit 1"""


def _place(rate: float | None, key: str, descending: bool) -> tuple[bool, float, str]:
    if rate is None:
        return (True, 0.0, key)
    return (False, -rate if descending else rate, key)


@pytest.mark.parametrize("direction", ["DESC", "ASC"])
async def test_children_rank_by_a_rate_ties_by_code_nulls_last_own_row_first(
    hub: Hub, owner: asyncpg.Connection, direction: str
) -> None:
    day = await owner.fetchval(SOME_RATED)  # some children have a rate that day, some none
    week = {"from": str(day), "to": str(day)}
    order = f"SATISFACTION_RATE_{direction}"
    body = await hub.query(RANKED, {"by": "CHILD", "order": order, **week})
    assert "errors" not in body, body
    rows = body["data"]["region"]["breakdown"]
    assert rows[0]["own"] and rows[0]["key"] == COUNTY
    ranked = rows[1:]
    rates = [(r["stats"]["serviceRequests"]["satisfactionRate"], r["key"]) for r in ranked]
    assert any(rate is None for rate, _ in rates) and any(rate is not None for rate, _ in rates)
    want = sorted(rates, key=lambda p: _place(p[0], p[1], direction == "DESC"))
    assert rates == want
    default = await hub.query(RANKED, {"by": "CHILD", **week})
    by_key = await hub.query(RANKED, {"by": "CHILD", "order": "KEY_ASC", **week})
    assert by_key == default
    assert [r["key"] for r in default["data"]["region"]["breakdown"][1:]] == sorted(
        r["key"] for r in ranked
    )


async def test_ties_rank_by_code(hub: Hub, owner: asyncpg.Connection) -> None:
    _start, end = await _period(owner)
    week = {"from": str(dt.date.fromisoformat(end) - dt.timedelta(days=6)), "to": end}
    body = await hub.query(RANKED, {"by": "CHILD", "order": "TOTAL_DESC", **week})
    rows = body["data"]["region"]["breakdown"][1:]
    totals = [(r["stats"]["serviceRequests"]["total"], r["key"]) for r in rows]
    assert totals == sorted(totals, key=lambda p: (-p[0], p[1]))
    assert len({t for t, _ in totals}) < len(totals)  # there is a tie to break


@pytest.mark.parametrize("by", ["MONTH", "SERVICE_CATEGORY"])
async def test_an_order_without_child_rows_is_refused(hub: Hub, by: str) -> None:
    response = await hub.post(RANKED, {"by": by, "order": "TOTAL_DESC"}, token=hub.token(COUNTY))
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["region"]["breakdown"] is None
    extensions = body["errors"][0]["extensions"]
    assert (extensions["code"], extensions["reason"]) == ("BAD_USER_INPUT", "ORDER_NEEDS_CHILD")


async def test_an_unknown_order_is_bad_user_input(hub: Hub) -> None:
    response = await hub.post(
        RANKED, {"by": "CHILD", "order": "NAME_DESC"}, token=hub.token(COUNTY)
    )
    assert response.status_code < 500
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
