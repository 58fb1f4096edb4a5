"""`inFigures` on the list filters: a drill-down list holds exactly what its figure counts."""

from __future__ import annotations

import pytest

from tests.conftest import Hub

NATION = "100000"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
QUERY = """query ($code: String!, $from: Date!, $to: Date!, $in: Boolean) { region(code: $code) {
  stats(from: $from, to: $to) { serviceRequests { total } participation { events } }
  serviceRequests(filter: {submittedFrom: $from, submittedTo: $to, inFigures: $in}, first: 0) {
    totalCount }
  participationEvents(filter: {from: $from, to: $to, inFigures: $in}, first: 0) {
    totalCount } } }"""


async def counts(hub: Hub, code: str, in_figures: bool | None) -> tuple[int, int, int, int]:
    body = await hub.query(QUERY, {"code": code, **MARCH, "in": in_figures}, as_=NATION)
    assert "errors" not in body, body
    region = body["data"]["region"]
    return (
        region["stats"]["serviceRequests"]["total"],
        region["serviceRequests"]["totalCount"],
        region["stats"]["participation"]["events"],
        region["participationEvents"]["totalCount"],
    )


@pytest.mark.parametrize("code", ["341126", "34"])  # base rows, roll-ups
async def test_an_in_figures_list_counts_what_its_figure_counts(hub: Hub, code: str) -> None:
    figure, listed, events, events_listed = await counts(hub, code, None)
    assert listed > figure > 0  # March has withdrawn requests: the plain list holds more
    figure, in_figures, events, events_in_figures = await counts(hub, code, True)
    assert in_figures == figure and events_in_figures == events_listed == events > 0
    _, outside, _, events_outside = await counts(hub, code, False)
    assert outside == listed - figure and events_outside == 0
