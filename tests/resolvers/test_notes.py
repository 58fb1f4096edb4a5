"""`NO_DATA` notes (DESIGN.md §8): a figure of a subtree that has never reported a record of
its kind up to the period's end is 0 with a note; figures with records carry none."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from db import clock
from db.pool import create_pool
from db.setup import Database
from resolvers.export_figures import WHOLE, breakdown_figures
from resolvers.figures import Period
from resolvers.scope import Caller, Grant
from tests.conftest import Hub

NATION = "100000"
STATS = """query ($code: String!, $from: Date, $to: Date) { region(code: $code) {
  stats(from: $from, to: $to) { organizations serviceRequests { total }
    participation { events } notes { path kind } } } }"""
BREAKDOWN = """query ($code: String!, $by: Breakdown!, $from: Date, $to: Date) {
  region(code: $code) { breakdown(by: $by, from: $from, to: $to) { key
    stats { serviceRequests { total } participation { events } notes { path kind } } } } }"""
EMPTY_SECTIONS = {"organizations", "serviceRequests.total", "participation.events"}


async def stats(hub: Hub, code: str, **period: str) -> dict[str, Any]:
    body = await hub.query(STATS, {"code": code, **period}, as_=NATION)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["region"]["stats"]
    return found


def no_data(notes: list[dict[str, str]]) -> set[str]:
    assert all(n["kind"] == "NO_DATA" for n in notes)
    return {n["path"] for n in notes}


@pytest.mark.parametrize("code", ["110107", "11"])  # a county (base rows), a province (roll-ups)
async def test_a_region_without_records_has_zeros_with_no_data_notes(hub: Hub, code: str) -> None:
    found = await stats(hub, code)
    assert found["organizations"] == 0
    assert found["serviceRequests"]["total"] == 0 and found["participation"]["events"] == 0
    paths = no_data(found["notes"])
    assert paths >= EMPTY_SECTIONS
    assert {"serviceRequests.byCategory.HEALTH", "participation.byKind.HEARING"} <= paths


@pytest.mark.parametrize("code", ["341126", "34"])
async def test_a_region_with_records_has_no_notes(hub: Hub, code: str) -> None:
    found = await stats(hub, code, **{"from": "2026-03-01", "to": "2026-03-31"})
    assert found["serviceRequests"]["total"] > 0
    assert found["notes"] == []


@pytest.mark.parametrize("code", ["341126", "34"])
async def test_a_period_before_the_first_record_is_no_data_not_zero(hub: Hub, code: str) -> None:
    found = await stats(hub, code, **{"from": "2010-01-01", "to": "2010-12-31"})
    assert found["serviceRequests"]["total"] == 0
    assert {"serviceRequests.total", "participation.events"} <= no_data(found["notes"])
    assert "organizations" not in no_data(found["notes"])  # a stock, not of the period


async def test_child_and_month_rows_carry_their_own_notes(hub: Hub) -> None:
    body = await hub.query(BREAKDOWN, {"code": NATION, "by": "CHILD"}, as_=NATION)
    rows = {r["key"]: r["stats"] for r in body["data"]["region"]["breakdown"]}
    assert "serviceRequests.total" in no_data(rows["11"]["notes"])
    assert "serviceRequests.total" not in no_data(rows["34"]["notes"])
    period = {"code": "341126", "by": "MONTH", "from": "2017-12-01", "to": "2026-03-31"}
    body = await hub.query(BREAKDOWN, period, as_=NATION)
    months = {r["key"]: r["stats"] for r in body["data"]["region"]["breakdown"]}
    assert "serviceRequests.total" in no_data(months["2017-12"]["notes"])
    assert months["2026-03"]["notes"] == []


async def test_a_breakdown_export_carries_the_notes_of_each_row_and_the_total(
    database: Database,
) -> None:
    pool = await create_pool(database.runtime_dsn, min_size=1, max_size=2)
    try:
        caller = Caller.from_grants("exporter", [Grant(NATION, NATION, frozenset({"viewer"}))])
        period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        found = await breakdown_figures(pool, caller, NATION, "CHILD", period, clock.now(), 60_000)
    finally:
        await pool.close()
    assert found is not None
    assert "serviceRequests.total" in {n.path for n in found.notes["11"]}
    assert found.notes["34"] == [] and found.notes[WHOLE] == []
