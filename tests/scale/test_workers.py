"""`grassroots serve --workers 2`: one port, start-up once, both workers answer, each enforces
its part of the budget (÷ 2, rate limits kept in memory), the connection rule refuses with
the numbers, and SIGTERM drains every worker.

One supervisor and its two workers serve the module, over the module's copy of the test
database (as an external PostgreSQL, so start-up has nothing to migrate); the last test
stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from db.setup import Database
from server.auth import issue
from server.settings import Settings, SettingsError, load_settings
from server.startup import StartupRefused, check_connections
from tests.scale.processes import (
    HubProcess,
    clear_of_the_minute_edge,
    hub_env,
    running_hub,
)
from tests.server.test_lifecycle import slow_post

QUERY = '{ region(code: "341126") { name } }'
COUNTY_BUDGET = 10  # a minute, for the whole hub: 5 per worker


@pytest.fixture(scope="module")
async def workers(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HubProcess]:
    folder = tmp_path_factory.mktemp("workers")
    env = hub_env(folder, database, HUB_RATE_LIMIT_COUNTY=str(COUNTY_BUDGET))
    async with running_hub(env, folder / "hub.log", "--workers", "2") as hub:
        yield hub


def bearer(settings: Settings, subject: str) -> str:
    return issue(settings, subject, ["341126"], ["viewer"])


async def test_readyz_counts_both_workers_and_start_up_ran_once(workers: HubProcess) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(workers.url + "/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["workers"] == "2/2 ready"
    assert response.json()["checks"]["startup"] == "ready"
    assert workers.output().count("start-up done; 2 workers connecting") == 1


async def test_both_workers_answer_and_each_enforces_half_the_budget(
    workers: HubProcess, settings: Settings
) -> None:
    headers = {"authorization": f"Bearer {bearer(settings, 'flood')}"}
    statuses: list[int] = []
    retry_after: list[str] = []

    async def one() -> None:
        # A connection per request, so the kernel hands them to either worker.
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                workers.url + "/graphql", json={"query": QUERY}, headers=headers
            )
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_after.append(response.headers["retry-after"])

    await clear_of_the_minute_edge(10)
    for _ in range(3):  # 24 requests, 8 at a time
        await asyncio.gather(*(one() for _ in range(8)))
    admitted = statuses.count(200)
    # One worker alone admits 5; more proves the other answered too; never above the budget.
    assert COUNTY_BUDGET // 2 < admitted <= COUNTY_BUDGET, statuses
    assert statuses.count(429) == len(statuses) - admitted
    assert all(int(value) >= 1 for value in retry_after)


async def test_start_up_refuses_more_connections_than_the_server_has(database: Database) -> None:
    # What the supervisor runs once start-up has a database (its failure ends `serve` with
    # exit 1 and this line); checked here without spawning workers, against the real server.
    with pytest.raises(StartupRefused) as refused:
        await check_connections(database.owner_dsn, workers=2, pool_max=500)
    failure = str(refused.value)
    assert failure.startswith("2 workers × (HUB_POOL_MAX_SIZE 500 + 3) = 1006 connections")
    assert re.search(r"max_connections \d+ − \d+ reserved − 10 kept", failure), failure
    await check_connections(database.owner_dsn, workers=2, pool_max=10)  # the default fits


def worker_pids(supervisor: int) -> set[int]:
    """The supervisor's spawned workers (not multiprocessing's resource tracker), from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
            if parent == supervisor and b"spawn_main" in command:
                found.add(int(stat.parent.name))
    return found


async def test_a_worker_that_dies_is_replaced(workers: HubProcess) -> None:
    before = worker_pids(workers.process.pid)
    assert len(before) == 2
    victim = max(before)
    os.kill(victim, signal.SIGKILL)
    for _ in range(100):  # the supervisor notices within 0.2 s and spawns another
        await asyncio.sleep(0.1)
        after = worker_pids(workers.process.pid)
        if len(after - before) == 1:
            break
    assert victim not in after and len(after) == 2
    # The newcomer's flag is down until it has connected: /readyz waits for it.
    async with httpx.AsyncClient() as client:
        response = await client.get(workers.url + "/readyz")
        assert response.json()["checks"]["workers"] == "1/2 ready", response.json()
        for _ in range(300):
            await asyncio.sleep(0.1)
            response = await client.get(workers.url + "/readyz")
            if response.status_code == 200:
                break
    assert response.json()["checks"]["workers"] == "2/2 ready", response.json()
    assert "exited (-9); starting another" in workers.output()


async def test_sigterm_drains_every_worker_then_the_supervisor_exits_0(
    workers: HubProcess, settings: Settings
) -> None:
    token = bearer(settings, "drain")
    body = json.dumps({"query": QUERY}).encode()
    reader, writer = await slow_post(workers.port, body, token)
    await asyncio.sleep(0.3)
    workers.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    writer.write(body[len(body) // 2 :])
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), timeout=20)
    writer.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert json.loads(payload)["data"]["region"]["name"] == "凤阳县"
    assert await asyncio.wait_for(workers.process.wait(), timeout=40) == 0
    assert workers.output().count("Finished server process") == 2
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", workers.port)


def test_workers_and_the_limit_storage_are_checked_when_a_command_starts() -> None:
    base = {"HUB_JWT_SECRET": "x" * 32, "HUB_DATA_DIR": "/nonexistent-hub-data"}
    assert load_settings(base).workers == 1
    assert load_settings(base | {"HUB_WORKERS": "auto"}).workers == len(os.sched_getaffinity(0))
    assert load_settings(base | {"HUB_WORKERS": "3"}).workers == 3
    for bad in ("0", "two", "-1", "1000"):
        with pytest.raises(SettingsError, match="HUB_WORKERS must be a whole number"):
            load_settings(base | {"HUB_WORKERS": bad})
    url = "redis://127.0.0.1:6379/0"
    assert load_settings(base | {"HUB_RATE_LIMIT_STORAGE": url}).rate_limit_storage == url
    with pytest.raises(SettingsError, match="HUB_RATE_LIMIT_STORAGE must be a redis://"):
        load_settings(base | {"HUB_RATE_LIMIT_STORAGE": "http://127.0.0.1:6379"})
