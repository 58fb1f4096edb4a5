"""Periods are bounded before any SQL (DESIGN.md §8): a day range spans at most 10 years,
from 2000-01-01 to today + 1 year, and a breakdown gives at most 120 period rows."""

import datetime as dt
from typing import Any

import pytest

from tests.conftest import Hub

BREAKDOWN = """query ($from: Date, $to: Date, $by: Breakdown!) { region(code: "341126101") {
  breakdown(by: $by, from: $from, to: $to) { key } } }"""
STATS = """query ($from: Date, $to: Date) { region(code: "341126101") {
  stats(from: $from, to: $to) { serviceRequests { total } } } }"""
NEXT_YEAR = dt.date.today().replace(year=dt.date.today().year + 2).isoformat()


async def _refusal(hub: Hub, query: str, variables: dict[str, Any]) -> tuple[str, str, int]:
    response = await hub.post(query, variables, token=hub.token("341126101"))
    error = response.json()["errors"][0]
    statements = int(response.headers.get("x-sql-statements", "0"))
    return error["extensions"]["code"], error["extensions"].get("reason"), statements


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"from": "0001-01-01", "to": "9999-12-31"}, "PERIOD_BEFORE_2000"),
        ({"from": "1999-12-31"}, "PERIOD_BEFORE_2000"),
        ({"to": NEXT_YEAR}, "PERIOD_AFTER_NEXT_YEAR"),
        ({"from": "2010-01-01", "to": "2020-01-01"}, "PERIOD_TOO_LONG"),
        ({"from": "2020-02-01", "to": "2020-01-01"}, "PERIOD_REVERSED"),
    ],
)
async def test_a_period_beyond_the_limits_is_refused_naming_the_limit_before_any_sql(
    hub: Hub, variables: dict[str, Any], reason: str
) -> None:
    for query, extra in ((STATS, {}), (BREAKDOWN, {"by": "MONTH"})):
        code, named, statements = await _refusal(hub, query, {**variables, **extra})
        assert (code, named) == ("BAD_USER_INPUT", reason)
        # refused with the cost, before the region itself is read
        assert statements == 0


async def test_a_month_breakdown_of_more_than_120_rows_is_refused(hub: Hub) -> None:
    variables = {"by": "MONTH", "from": "2015-01-15", "to": "2025-01-14"}
    assert (await _refusal(hub, BREAKDOWN, variables))[:2] == (
        "BAD_USER_INPUT",
        "BREAKDOWN_TOO_MANY_ROWS",
    )


async def test_ten_years_of_whole_months_give_120_rows(hub: Hub) -> None:
    variables = {"by": "MONTH", "from": "2016-01-01", "to": "2025-12-31"}
    body = await hub.query(BREAKDOWN, variables, as_="341126101")
    assert "errors" not in body
    rows = body["data"]["region"]["breakdown"]
    assert len(rows) == 120 and rows[0]["key"] == "2016-01" and rows[-1]["key"] == "2025-12"


async def test_stats_and_a_month_breakdown_without_bounds_stay_allowed(hub: Hub) -> None:
    body = await hub.query(STATS, {}, as_="341126101")
    assert body["data"]["region"]["stats"]["serviceRequests"]["total"] > 0
    body = await hub.query(BREAKDOWN, {"by": "MONTH"}, as_="341126101")
    rows = body["data"]["region"]["breakdown"]
    assert 0 < len(rows) <= 120


async def test_a_breakdown_export_obeys_the_same_limits(hub: Hub) -> None:
    response = await hub.client.get(
        "/exports/breakdown.csv",
        params={"by": "MONTH", "from": "0001-01-01", "to": "9999-12-31"},
        headers={"authorization": f"Bearer {hub.token('341126101')}"},
    )
    assert response.status_code == 400
    assert "PERIOD_BEFORE_2000" in response.text
