"""Region figures: breakdown rows, labels and refusals. That every figure equals a direct count
over the base rows, at every level and for many periods, is tests/resolvers/test_rollups.py."""

from typing import Any

import asyncpg
import pytest

from tests.conftest import Hub

STATS = """query ($code: String!, $from: Date, $to: Date) { region(code: $code) {
  stats(from: $from, to: $to) { organizations partyMembers organizationsByKind { key count }
    serviceRequests { total open resolved overdue responseRate resolutionRate satisfactionRate
      averageHoursToResolve byStatus { key label count } byCategory { key count } }
    participation { events participants byKind { key count } resolutionsAdopted
      resolutionsImplemented } } } }"""

BREAKDOWN = """query ($code: String!, $by: Breakdown!, $from: Date, $to: Date) {
  region(code: $code) {
  breakdown(by: $by, from: $from, to: $to) { key label month from to region { code name }
    stats { organizations serviceRequests { total resolved } participation { events } } } } }"""


async def test_child_rows_start_with_the_own_row_and_add_up(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    body = await hub.query(BREAKDOWN, {"code": "341126", "by": "CHILD"})
    rows = body["data"]["region"]["breakdown"]
    children = await owner.fetch(
        "select code, name from region where parent_code = '341126' order by code"
    )
    assert [(r["key"], r["label"]) for r in rows] == [("341126", "本级")] + [
        (c["code"], c["name"]) for c in children
    ]
    assert all(r["region"]["code"] == r["key"] for r in rows)
    at_county = await owner.fetchval(
        "select count(*) from service_request where region_code = '341126' "
        "and status <> 'WITHDRAWN'"
    )
    assert at_county > 0 and rows[0]["stats"]["serviceRequests"]["total"] == at_county
    whole = await hub.query(STATS, {"code": "341126"})
    total = whole["data"]["region"]["stats"]["serviceRequests"]["total"]
    assert sum(r["stats"]["serviceRequests"]["total"] for r in rows) == total


async def test_a_province_office_sees_every_city_even_without_records(hub: Hub) -> None:
    body = await hub.query(BREAKDOWN, {"code": "34", "by": "CHILD"}, as_="34")
    rows = body["data"]["region"]["breakdown"]
    by_code = {r["key"]: r["stats"] for r in rows}
    assert set(by_code) == {"34", "3411"}
    assert by_code["3411"]["serviceRequests"]["total"] > 0


async def test_month_rows_are_clipped_to_the_period(hub: Hub, owner: asyncpg.Connection) -> None:
    body = await hub.query(
        BREAKDOWN, {"code": "341126", "by": "MONTH", "from": "2026-02-15", "to": "2026-04-10"}
    )
    rows = body["data"]["region"]["breakdown"]
    assert [(r["key"], r["label"], r["month"], r["from"], r["to"]) for r in rows] == [
        ("2026-02", "2026年2月", "2026-02-01", "2026-02-15", "2026-02-28"),
        ("2026-03", "2026年3月", "2026-03-01", "2026-03-01", "2026-03-31"),
        ("2026-04", "2026年4月", "2026-04-01", "2026-04-01", "2026-04-10"),
    ]
    february = await owner.fetchval(
        "select count(*) from service_request where region_code like '341126%' and status <> "
        "'WITHDRAWN' and (submitted_at at time zone 'Asia/Shanghai')::date "
        "between '2026-02-15' and '2026-02-28'"
    )
    assert rows[0]["stats"]["serviceRequests"]["total"] == february
    assert all(r["stats"]["organizations"] is None for r in rows)


@pytest.mark.parametrize(
    ("by", "count", "section"),
    [
        ("SERVICE_CATEGORY", 12, "serviceRequests"),
        ("ORGANIZATION_KIND", 10, "organizations"),
        ("PARTICIPATION_KIND", 7, "participation"),
    ],
)
async def test_value_rows_list_every_value_with_a_chinese_label(
    hub: Hub, by: str, count: int, section: str
) -> None:
    rows = (await hub.query(BREAKDOWN, {"code": "341126", "by": by}))["data"]["region"]["breakdown"]
    assert len(rows) == count and all(r["label"] and r["label"] != r["key"] for r in rows)
    assert all(r["stats"][section] is not None for r in rows)
    others = {"serviceRequests", "organizations", "participation"} - {section}
    assert all(r["stats"][o] is None for r in rows for o in others)


async def test_figures_are_refused_on_a_breadcrumb(hub: Hub) -> None:
    body = await hub.query(STATS, {"code": "3411"})
    assert body["data"]["region"] is not None and body["data"]["region"]["stats"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_period_ending_before_it_starts_is_bad_user_input(hub: Hub) -> None:
    body = await hub.query(STATS, {"code": "341126", "from": "2026-05-01", "to": "2026-04-01"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_figures_follow_writes_at_once(hub: Hub) -> None:
    def totals(body: dict[str, Any]) -> tuple[int, int]:
        s = body["data"]["region"]["stats"]["serviceRequests"]
        return s["total"], s["open"]

    before = totals(await hub.query(STATS, {"code": "341126"}))
    token = hub.token("341126101001", roles=("viewer", "editor"))
    made = (
        await hub.post(
            """mutation { submitServiceRequest(input: {regionCode: "341126101001",
           category: OTHER, channel: ONLINE, title: "统计测试"}) { id } }""",
            token=token,
        )
    ).json()
    assert made["data"]["submitServiceRequest"]["id"]
    after = totals(await hub.query(STATS, {"code": "341126"}))
    assert after == (before[0] + 1, before[1] + 1)
    withdrawn = (
        await hub.post(
            'mutation ($id: ID!) { withdrawServiceRequest(id: $id, reason: "撤回") { status } }',
            {"id": made["data"]["submitServiceRequest"]["id"]},
            token=token,
        )
    ).json()
    assert withdrawn["data"]["withdrawServiceRequest"]["status"] == "WITHDRAWN"
    assert totals(await hub.query(STATS, {"code": "341126"})) == before
