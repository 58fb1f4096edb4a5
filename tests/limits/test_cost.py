"""The cost limit counts what will run: variable defaults, fragments, aliases, and every
list, whatever its type; refusals name the cost and the limit, and run no SQL; heavy
operations take turns."""

import asyncio
from typing import Any

import pytest
from graphql import parse

from schema.build import build_schema
from schema.limits import HEAVY_COST, MAX_COST, heavy_gate, measure
from tests.conftest import Hub


async def _refused(hub: Hub, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await hub.post(query, variables, token=hub.token("341126"))
    assert response.status_code == 400
    assert "x-sql-statements" not in response.headers or response.headers["x-sql-statements"] == "0"
    extensions: dict[str, Any] = response.json()["errors"][0]["extensions"]
    assert extensions["code"] == "QUERY_TOO_COMPLEX"
    return extensions


async def test_a_variables_default_counts_as_its_value(hub: Hub) -> None:
    query = """query ($f: Int = 500) { regions(first: $f) { edges { node {
        serviceRequests(first: $f) { edges { node { id } } } } } } }"""
    extensions = await _refused(hub, query)
    assert extensions["cost"] == 500 + 500 * 500 and extensions["limit"] == MAX_COST
    assert str(MAX_COST) in (await hub.post(query, token=hub.token("341126"))).text


async def test_nodes_multiply_what_is_selected_below_them_by_their_ids(hub: Hub) -> None:
    ids = [f"id{i}" for i in range(269)]
    query = """query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Region {
        serviceRequests(first: 500) { edges { node { id } } } } } }"""
    extensions = await _refused(hub, query, {"ids": ids})
    assert extensions["cost"] == 269 + 269 * 500


async def test_plain_lists_multiply_by_their_bound(hub: Hub) -> None:
    # ancestors × 6 × a page of 500 × 20 history entries
    query = """{ region(code: "341126") { ancestors { serviceRequests(first: 500) {
        edges { node { history { at } } } } } } }"""
    extensions = await _refused(hub, query)
    assert extensions["cost"] == 6 + 6 * 500 + 6 * 500 * 20


async def test_figures_weigh_ten_per_row(hub: Hub) -> None:
    query = """{ regions(first: 500) { edges { node {
        breakdown(by: SERVICE_CATEGORY) { stats { organizations } } } } } }"""
    extensions = await _refused(hub, query)
    assert extensions["cost"] == 500 + 500 * 12 * 10


@pytest.mark.parametrize("text", ["a\u0000b", "\u0000"])
async def test_a_nul_byte_in_any_text_argument_is_bad_user_input(hub: Hub, text: str) -> None:
    token = hub.token("341126", roles=("editor",))
    cases: list[tuple[str, dict[str, Any]]] = [
        ("query ($t: String) { regions(nameContains: $t) { totalCount } }", {"t": text}),
        (
            'mutation ($k: String) { closeServiceRequest(id: "x", idempotencyKey: $k) { id } }',
            {"k": text},
        ),
        ('{ regions(nameContains: "a\\u0000b") { totalCount } }', {}),
        (
            "query ($f: OrganizationFilter) { organizations(filter: $f) { totalCount } }",
            {"f": {"nameContains": text}},
        ),
    ]
    for query, variables in cases:
        response = await hub.post(query, variables, token=token)
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", query
        assert error["extensions"]["reason"] == "NUL_BYTE"


# Heavy operations (cost from HEAVY_COST) execute one at a time per process; small ones
# never wait behind them.
HEAVY = """{ region(code: "341126") { children(first: 20) { edges { node { code
    children(first: 500) { edges { node { code } } } } } } } }"""
SMALL = '{ region(code: "341126101") { code name } }'


def test_the_heavy_query_here_is_heavy_and_the_small_one_is_not() -> None:
    schema = build_schema()._schema
    heavy, small = (measure(schema, parse(q), None, None) for q in (HEAVY, SMALL))
    assert heavy is not None and heavy.cost >= HEAVY_COST
    assert small is not None and small.cost < HEAVY_COST


async def test_a_heavy_operation_waits_for_the_one_running_and_a_small_one_does_not(
    hub: Hub,
) -> None:
    token = hub.token("341126")
    gate = heavy_gate()
    async with gate:  # a heavy operation is running
        waiting = asyncio.create_task(hub.post(HEAVY, token=token))
        small = await hub.post(SMALL, token=token)
        assert small.status_code == 200 and small.json()["data"]["region"]["code"]
        # ungated, this request ends in well under a second; the gate holds it until released
        done, _ = await asyncio.wait({waiting}, timeout=1.0)
        assert not done
    heavy = await waiting
    assert heavy.status_code == 200 and "errors" not in heavy.json()
    assert len(heavy.json()["data"]["region"]["children"]["edges"]) == 18
