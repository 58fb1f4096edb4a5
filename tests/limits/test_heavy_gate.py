"""Heavy operations (cost from HEAVY_COST) execute one at a time per process; small ones
never wait behind them."""

import asyncio

from graphql import parse

from schema.build import build_schema
from schema.limits import HEAVY_COST, heavy_gate, measure
from tests.conftest import Hub

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
