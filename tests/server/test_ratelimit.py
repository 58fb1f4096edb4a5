"""Per-caller budgets: 429 with Retry-After once a caller has spent theirs, nobody else
slowed down, a budget per jurisdiction level, and callers without a token by address."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from db.setup import Database
from server.app import create_app
from server.limitstore import SweptMemoryStorage
from server.settings import RateLimits, Settings
from tests.conftest import Hub, running

QUERY = "{ viewer { subject } }"
GATEWAY_SECRET = "gateway-credential-for-rate-limit-tests-0123456789"


class LimitedHub(Hub):
    def __init__(self, client: httpx.AsyncClient, settings: Settings, app: Starlette) -> None:
        super().__init__(client, settings)
        self.app = app


@pytest.fixture(scope="module")
async def limited(database: Database, settings: Settings) -> AsyncIterator[LimitedHub]:
    budgets = RateLimits(national=6, county=3, township=5, village=2, anonymous=2)
    tight = dataclasses.replace(settings, rate_limits=budgets, gateway_secret=GATEWAY_SECRET)
    app = create_app(tight, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield LimitedHub(client, tight, app)


async def statuses(hub: Hub, token: str | None, times: int, **headers: str) -> list[int]:
    return [(await hub.post(QUERY, token=token, **headers)).status_code for _ in range(times)]


async def test_a_caller_over_budget_gets_429_with_retry_after(limited: Hub) -> None:
    token = limited.token("341126", sub="county-clerk")
    assert await statuses(limited, token, 3) == [200, 200, 200]
    refused = await limited.post(QUERY, token=token)
    assert refused.status_code == 429
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == retry
    assert error["extensions"]["requestId"] == refused.headers["x-request-id"]
    assert "data" not in refused.json()
    # A fresh token of the same subject and level shares the spent budget.
    assert await statuses(limited, limited.token("341126", sub="county-clerk"), 1) == [429]


async def test_another_subject_is_not_slowed_down(limited: Hub) -> None:
    spent = limited.token("341126", sub="busy")
    await statuses(limited, spent, 4)
    assert await statuses(limited, limited.token("341126", sub="quiet"), 3) == [200] * 3


async def test_each_level_has_its_own_budget(limited: Hub) -> None:
    township = limited.token("341126101", sub="township-clerk")
    assert await statuses(limited, township, 6) == [200] * 5 + [429]
    village = limited.token("341126101001", sub="village-clerk")
    assert await statuses(limited, village, 3) == [200, 200, 429]
    # A caller holding a village and a township is counted at the township.
    both = limited.token("341126101001", "341126102", sub="two-places")
    assert await statuses(limited, both, 6) == [200] * 5 + [429]
    # The same subject at another level has a separate budget.
    assert await statuses(limited, limited.token("341126", sub="village-clerk"), 1) == [200]


async def test_each_operation_of_a_batch_counts(limited: Hub) -> None:
    token = limited.token("341126", sub="batcher")
    batch = json.dumps([{"query": QUERY}] * 2)
    headers = {"authorization": f"Bearer {token}"}
    first = await limited.client.post("/graphql", content=batch, headers=headers)
    second = await limited.client.post("/graphql", content=batch, headers=headers)
    assert (first.status_code, second.status_code) == (200, 429)
    # The one operation left still fits.
    assert await statuses(limited, token, 2) == [200, 429]


async def test_requests_without_a_valid_token_are_limited_by_address(limited: LimitedHub) -> None:
    assert await statuses(limited, None, 3) == [401, 401, 429]
    assert await statuses(limited, "not.a.jwt", 1) == [429]
    # Another address is counted apart, and a valid token is counted by its subject.
    elsewhere = httpx.ASGITransport(app=limited.app, client=("10.0.0.9", 1))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://hub") as other:
        response = await other.post("/graphql", json={"query": QUERY})
        assert response.status_code == 401
    assert await statuses(limited, limited.token("341126", sub="anyone"), 1) == [200]


async def test_behind_a_gateway_the_forwarded_caller_is_counted(limited: Hub) -> None:
    gateway = {"x-gateway-token": GATEWAY_SECRET}
    first = limited.token("341126101001", sub="via-gateway-1")
    second = limited.token("341126101001", sub="via-gateway-2")
    assert await statuses(limited, first, 3, **gateway) == [200, 200, 429]
    assert await statuses(limited, second, 2, **gateway) == [200, 200]


async def test_a_refused_request_runs_nothing(limited: Hub) -> None:
    token = limited.token("341126101001", sub="writer", roles=("viewer", "editor"))
    await statuses(limited, token, 2)
    mutation = """mutation { submitServiceRequest(input: {regionCode: "341126101001",
      category: HEALTH, channel: HOTLINE, title: "不应写入"}) { id } }"""
    refused = await limited.post(mutation, token=token)
    assert refused.status_code == 429 and "x-sql-statements" not in refused.headers
    reader = limited.token("341126", sub="reader-after-429")
    count = await limited.post(
        '{ serviceRequests(under: "341126101001", filter: {text: "不应写入"}) { totalCount } }',
        token=reader,
    )
    assert count.json()["data"]["serviceRequests"]["totalCount"] == 0


async def test_rate_limits_can_be_switched_off(database: Database, settings: Settings) -> None:
    off = dataclasses.replace(settings, rate_limits=RateLimits(enabled=False, county=1))
    async with running(database, off) as hub:
        assert await statuses(hub, hub.token("341126"), 3) == [200] * 3


async def test_refusals_are_counted_in_the_metrics(limited: Hub) -> None:
    token = limited.token("341126", sub="counted")
    await statuses(limited, token, 4)
    metrics = (await limited.client.get("/metrics")).text
    line = next(
        line
        for line in metrics.splitlines()
        if line.startswith('hub_rejected_requests_total{reason="rate_limited"}')
    )
    assert float(line.split()[-1]) >= 1


def test_counting_starts_no_thread_and_sweeps_expired_counters_inline() -> None:
    storage = SweptMemoryStorage()
    storage.timer.join()  # the library's constructor starts one sweep; let it finish
    threads = threading.active_count()
    storage.incr("gone", expiry=0.001)
    time.sleep(0.01)
    for _ in range(50):
        storage.incr("kept", expiry=60)
    assert threading.active_count() == threads
    assert storage.sweeps == 0 and "gone" in storage.storage  # not yet time to sweep
    storage._next_sweep = 0.0
    storage.incr("kept", expiry=60)
    assert storage.sweeps == 1
    assert "gone" not in storage.storage and storage.storage["kept"] == 51
