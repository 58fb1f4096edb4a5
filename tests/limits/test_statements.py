"""Statements are bounded by the query's depth for every field: `nodes` batch by type, and
figures over a list of regions batch per figure kind, whatever the regions' levels."""

from typing import Any

from tests.conftest import Hub

STATS = """stats { organizations serviceRequests { total overdue responseRate }
  participation { events resolutionsAdopted } }"""
CHILDREN = """query ($code: String!) { region(code: $code) {
  children(first: 100) { edges { node { code %s } } } } }"""
REGIONS = "{ regions(first: 100) { edges { node { code level %s } } } }"


async def _run(
    hub: Hub, query: str, code: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], int]:
    response = await hub.post(query, variables, token=hub.token(code))
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"], int(response.headers["x-sql-statements"])


def _nodes(data: dict[str, Any], *path: str) -> list[dict[str, Any]]:
    for name in path:
        data = data[name]
    return [edge["node"] for edge in data["edges"]]


async def test_children_stats_of_a_county_take_one_statement_per_figure_kind(hub: Hub) -> None:
    data, statements = await _run(hub, CHILDREN % STATS, "341126", {"code": "341126"})
    townships = _nodes(data, "region", "children")
    assert len(townships) > 10
    assert sum(t["stats"]["serviceRequests"]["total"] for t in townships) > 1000
    # region, children; organizations, services, events, resolutions for all of them
    assert statements == 6


async def test_children_stats_of_a_township_take_one_statement_per_figure_kind(
    hub: Hub,
) -> None:
    data, statements = await _run(hub, CHILDREN % STATS, "341126", {"code": "341126101"})
    villages = _nodes(data, "region", "children")
    assert len(villages) > 10 and all(v["stats"]["organizations"] > 0 for v in villages)
    assert statements == 6


async def test_a_list_of_regions_of_every_level_batches_roll_ups_and_base_rows(
    hub: Hub,
) -> None:
    data, statements = await _run(hub, REGIONS % STATS, "100000")
    levels = {r["level"] for r in _nodes(data, "regions")}
    assert {"NATION", "PROVINCE", "CITY", "COUNTY", "TOWNSHIP"} <= levels
    # regions; base rows: 4 kinds; roll-ups: organizations, services (+ clock), participation
    assert statements == 1 + 4 + 4


async def test_the_same_figures_come_from_a_list_and_from_one_region(hub: Hub) -> None:
    data, _ = await _run(hub, REGIONS % STATS, "100000")
    for region in _nodes(data, "regions")[:8]:
        query = "query ($c: String!) { region(code: $c) { " + STATS + " } }"
        alone, _ = await _run(hub, query, "100000", {"c": region["code"]})
        assert alone["region"]["stats"] == region["stats"], region["code"]


async def test_breakdowns_of_many_regions_batch_too(hub: Hub) -> None:
    breakdown = "breakdown(by: CHILD) { key stats { serviceRequests { total } } }"
    query = (REGIONS % breakdown).replace("first: 100", "first: 50")
    data, statements = await _run(hub, query, "100000")
    rows = [r for region in _nodes(data, "regions") for r in region["breakdown"] or []]
    assert len(rows) > 50 and sum(r["stats"]["serviceRequests"]["total"] for r in rows) > 0
    # regions, their children; base rows: 4 kinds; roll-ups: 4; the own rows (本级) of the
    # regions with roll-ups, from their own base rows: 4
    assert statements == 2 + 4 + 4 + 4


async def test_nodes_with_two_hundred_ids_take_one_statement_per_type(hub: Hub) -> None:
    data, _ = await _run(hub, "{ regions(first: 200) { edges { node { id } } } }", "341126")
    ids = [r["id"] for r in _nodes(data, "regions")]
    requests, _ = await _run(
        hub, "{ serviceRequests(first: 200) { edges { node { id } } } }", "341126"
    )
    ids += [r["id"] for r in _nodes(requests, "serviceRequests")]
    data, statements = await _run(
        hub,
        "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        "341126",
        {"ids": ids},
    )
    assert len(ids) == 400 and [n["id"] for n in data["nodes"]] == ids
    assert statements == 2


PAGE_FIELDS = """query ($orderBy: ServiceRequestOrder, $last: Int) {
  serviceRequests(orderBy: $orderBy, last: $last,
    filter: {satisfactions: [4, 5], resolvedFrom: "2020-01-01"}) {
    totalCount edges { node { reference statusLabel categoryLabel channelLabel
      availableActions history { kind label } } } } }"""


async def test_labels_actions_orders_and_backward_pages_add_no_statement(hub: Hub) -> None:
    # The page, its count, and the histories of every row: three, for 5 rows or 200, in
    # every order and direction.
    for order in ("SUBMITTED_AT_DESC", "RESOLVED_AT_ASC", "SATISFACTION_DESC"):
        for last in (5, 200):
            variables = {"orderBy": order, "last": last}
            data, statements = await _run(hub, PAGE_FIELDS, "341126", variables)
            assert len(data["serviceRequests"]["edges"]) == last
            assert statements == 3, (order, last)
