"""Budgets shared through a real Redis (`HUB_RATE_LIMIT_STORAGE`): a flood spread over two
hub processes is refused at the budget, not at twice it; Redis stopped mid-load leaves the
hub serving (fail open, counted, `/readyz` 200 with the storage check degraded) until it is
back; `HUB_RATE_LIMIT_FAIL_CLOSED=true` refuses instead.

Two hub processes and one redis-server serve the module.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from db.setup import Database
from server.auth import issue
from server.settings import Settings
from tests.conftest import running
from tests.scale.processes import (
    HubProcess,
    Redis,
    clear_of_the_minute_edge,
    free_port,
    hub_env,
    readyz,
    redis,
    running_hub,
)

__all__ = ["redis"]  # the fixture

QUERY = '{ region(code: "341126") { name } }'
COUNTY_BUDGET = 6  # a minute, shared by both hubs
SOCKET_CAP = 2  # open sockets per subject, shared by both hubs
SUBPROTOCOL = Subprotocol("graphql-transport-ws")


@pytest.fixture(scope="module")
async def pair(
    database: Database, redis: Redis, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[HubProcess, HubProcess]]:
    folder = tmp_path_factory.mktemp("pair")
    env = hub_env(
        folder,
        database,
        HUB_RATE_LIMIT_STORAGE=redis.url,
        HUB_RATE_LIMIT_COUNTY=str(COUNTY_BUDGET),
        HUB_WS_MAX_SOCKETS_PER_SUBJECT=str(SOCKET_CAP),
    )
    async with contextlib.AsyncExitStack() as stack:
        hubs = await asyncio.gather(
            stack.enter_async_context(running_hub(env, folder / "a.log")),
            stack.enter_async_context(running_hub(env, folder / "b.log")),
        )
        yield hubs[0], hubs[1]


def bearer(settings: Settings, subject: str, code: str = "341126") -> str:
    return issue(settings, subject, [code], ["viewer"])


async def post(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            url + "/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
        )


async def test_a_flood_over_two_hubs_is_refused_at_the_budget_not_twice_it(
    pair: tuple[HubProcess, HubProcess], settings: Settings
) -> None:
    token = bearer(settings, "flood")
    await clear_of_the_minute_edge(10)
    responses = await asyncio.gather(*(post(pair[i % 2].url, token) for i in range(16)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == COUNTY_BUDGET, statuses
    assert statuses.count(429) == 16 - COUNTY_BUDGET
    # Both hubs refused some: the one budget is spent wherever the caller goes.
    assert {429} <= {r.status_code for r in responses[0::2]}
    assert {429} <= {r.status_code for r in responses[1::2]}
    answer = await readyz(pair[0])
    assert answer is not None and answer[1]["checks"]["rateLimitStorage"] == "ok"


async def opened(hub: HubProcess, token: str) -> tuple[ClientConnection, dict[str, Any]]:
    """A socket after `connection_init`, and the first answer (an ack, or a close)."""
    socket_ = await connect(hub.url.replace("http", "ws") + "/graphql", subprotocols=[SUBPROTOCOL])
    await socket_.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    try:
        return socket_, json.loads(await asyncio.wait_for(socket_.recv(), timeout=10))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return socket_, {"closed": closed.rcvd.code, "reason": closed.rcvd.reason}


async def test_the_socket_cap_is_one_for_both_hubs(
    pair: tuple[HubProcess, HubProcess], settings: Settings
) -> None:
    token = bearer(settings, "sockets")
    first, ack_a = await opened(pair[0], token)
    second, ack_b = await opened(pair[1], token)
    assert ack_a["type"] == ack_b["type"] == "connection_ack"
    third, refused = await opened(pair[0], token)
    assert refused["closed"] == 4430, refused
    assert refused["reason"].startswith(f"Too many sockets: at most {SOCKET_CAP} open")
    await first.close()
    await asyncio.sleep(0.3)  # the hub notices the close and releases the claim
    fourth, again = await opened(pair[1], token)
    assert again["type"] == "connection_ack"
    for socket_ in (second, third, fourth):
        await socket_.close()


async def storage_errors(hub: HubProcess) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(hub.url + "/metrics")).text
    lines = [
        line for line in text.splitlines() if line.startswith("hub_rate_limit_storage_errors_total")
    ]
    return float(lines[0].split()[-1])


async def test_redis_stopped_mid_load_keeps_the_hub_serving_and_says_so(
    pair: tuple[HubProcess, HubProcess], redis: Redis, settings: Settings
) -> None:
    hub = pair[0]
    token = bearer(settings, "steady", "341126101")  # a township: 300 a minute
    before = await storage_errors(hub)
    statuses: list[int] = []
    for round_ in range(6):
        if round_ == 2:
            await asyncio.to_thread(redis.stop)
        statuses += [
            r.status_code for r in await asyncio.gather(*(post(hub.url, token) for _ in range(4)))
        ]
    assert statuses == [200] * 24
    answer = await readyz(hub)
    assert answer is not None
    status, body = answer
    assert status == 200 and body["ready"] is True
    assert body["checks"]["rateLimitStorage"].startswith("unreachable (")
    assert body["checks"]["rateLimitStorage"].endswith("; failing open")
    assert await storage_errors(hub) >= before + 16  # every request decided without Redis
    await asyncio.to_thread(redis.start)
    for _ in range(50):  # back within a couple of seconds
        await asyncio.sleep(0.2)
        answer = await readyz(hub)
        if answer is not None and answer[1]["checks"]["rateLimitStorage"] == "ok":
            break
    else:
        raise AssertionError(f"the storage never came back: {answer}")


async def test_fail_closed_refuses_while_redis_cannot_be_reached(
    database: Database, settings: Settings
) -> None:
    closed = dataclasses.replace(
        settings,
        rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        rate_limit_fail_closed=True,
    )
    async with running(database, closed) as hub:
        response = await hub.post(QUERY, token=hub.token("341126", sub="closed"))
        ready = await hub.client.get("/readyz")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert "rate-limit storage cannot be reached" in error["message"]
    assert ready.json()["checks"]["rateLimitStorage"].endswith("; failing closed")
