"""Heavy queries run in the heavy lane (server/lane.py): a worker process answers exactly
what the serving process would, keeps error codes and the caller's scope, and a worker that
dies answers 503 HUB_BUSY and is replaced."""

import asyncio
import contextlib
import dataclasses
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from db.setup import Database
from server.app import create_app
from server.lane import HeavyLane
from server.settings import Settings, SettingsError, load_settings
from tests.conftest import FOREIGN_COUNTY, SECRET, Hub
from tests.resolvers.test_audit import _reads
from tests.resolvers.test_loaders import FIVE_LEVELS

# 250 villages' requests: cost about 15,000, so heavy (schema/limits.py HEAVY_COST).
HEAVY = (FIVE_LEVELS, {"first": 50})
# A heavy query that fails in execution: a cursor that was never issued.
BAD_CURSOR = """query ($first: Int) { region(code: "341126") {
  children(first: $first, after: "not-a-cursor") { edges { node { code
    children(first: 50) { edges { node { serviceRequests(first: 5) {
      edges { node { reference } } } } } } } } } } }"""
REGION_IDS = """query ($code: String!) { region(code: $code) {
  children(first: 5) { edges { node { id children(first: 10) { edges { node { id } } } } } } } }"""
# 500 + 500 × 20 history entries: heavy, and personal data for a `pii` caller.
PERSONAL = """{ serviceRequests(under: "341126", first: 500) { edges { node { id
  requester { name phone } history { at } } } } }"""
# nodes × (1 + 200 requests): heavy from 50 ids.
NODES = """query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Region { code
  serviceRequests(first: 200) { edges { node { reference region { code } } } } } } }"""


@dataclasses.dataclass
class LaneHub:
    hub: Hub
    lane: HeavyLane


@contextlib.asynccontextmanager
async def running_lane(database: Database, settings: Settings) -> AsyncIterator[LaneHub]:
    app = create_app(dataclasses.replace(settings, heavy_workers=1), database=database)
    async with app.router.lifespan_context(app):
        lane = app.state.services.lane
        assert lane is not None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield LaneHub(Hub(client, settings), lane)


@pytest.fixture(scope="module")
async def laned(database: Database, settings: Settings) -> AsyncIterator[LaneHub]:
    async with running_lane(database, settings) as started:
        yield started


def _without_request_ids(body: dict[str, Any]) -> dict[str, Any]:
    for error in body.get("errors", ()):
        assert error["extensions"].pop("requestId")
    return body


async def test_the_lane_answers_what_the_serving_process_answers(hub: Hub, laned: LaneHub) -> None:
    token = hub.token("341126")
    here = await hub.post(*HEAVY, token=token)
    ran = laned.lane.ran
    there = await laned.hub.post(*HEAVY, token=token)
    assert laned.lane.ran == ran + 1  # it did run in the lane
    assert there.status_code == here.status_code == 200
    assert there.json() == here.json() and "errors" not in here.json()
    assert there.headers["x-sql-statements"] == here.headers["x-sql-statements"] == "5"


async def test_errors_in_the_lane_keep_their_codes(hub: Hub, laned: LaneHub) -> None:
    token = hub.token("341126")
    here = await hub.post(BAD_CURSOR, {"first": 50}, token=token)
    ran = laned.lane.ran
    there = await laned.hub.post(BAD_CURSOR, {"first": 50}, token=token)
    assert laned.lane.ran == ran + 1
    assert there.status_code == here.status_code
    assert there.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert _without_request_ids(there.json()) == _without_request_ids(here.json())


async def test_scope_holds_in_the_lane(hub: Hub, laned: LaneHub) -> None:
    own = await hub.query(REGION_IDS, {"code": "341126"})
    foreign = await hub.query(REGION_IDS, {"code": FOREIGN_COUNTY}, as_=FOREIGN_COUNTY)
    ids = [
        region["node"]["id"]
        for body in (own, foreign)
        for edge in body["data"]["region"]["children"]["edges"]
        for region in (edge, *edge["node"]["children"]["edges"])
    ]
    assert len(ids) >= 50
    ran = laned.lane.ran
    body = (await laned.hub.post(NODES, {"ids": ids}, token=hub.token("341126"))).json()
    assert laned.lane.ran == ran + 1
    assert "errors" not in body
    found = [node for node in body["data"]["nodes"] if node is not None]
    assert found and all(node["code"].startswith("341126") for node in found)
    regions = {
        edge["node"]["region"]["code"][:6]
        for node in found
        for edge in node["serviceRequests"]["edges"]
    }
    assert regions == {"341126"}  # nothing of the foreign county, read through the lane


async def test_reads_in_the_lane_are_audited_as_in_the_serving_process(
    hub: Hub, laned: LaneHub, owner: asyncpg.Connection
) -> None:
    here = await hub.post(PERSONAL, token=hub.token("341126", roles=("viewer", "pii"), sub="here"))
    ran = laned.lane.ran
    lane_token = hub.token("341126", roles=("viewer", "pii"), sub="in-lane")
    there = await laned.hub.post(PERSONAL, token=lane_token)
    assert laned.lane.ran == ran + 1
    assert there.json() == here.json() and "errors" not in there.json()
    audited = await _reads(owner, "in-lane")
    assert audited and audited == await _reads(owner, "here")


async def test_a_killed_worker_answers_hub_busy_and_the_lane_recovers(laned: LaneHub) -> None:
    token = laned.hub.token("341126")
    assert (await laned.hub.post(*HEAVY, token=token)).status_code == 200  # started
    worker = laned.lane.workers[0]
    first = worker.pid
    assert first is not None
    sent = asyncio.create_task(laned.hub.post(*HEAVY, token=token))
    while not worker.load:  # noqa: ASYNC110 - until the worker has the query in hand
        await asyncio.sleep(0.005)
    os.kill(first, signal.SIGKILL)
    killed = await sent
    assert killed.status_code == 503 and killed.headers["retry-after"]
    error = killed.json()["errors"][0]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["reason"] == "HUB_BUSY" and error["extensions"]["requestId"]
    again = await laned.hub.post(*HEAVY, token=token)
    assert again.status_code == 200 and "errors" not in again.json()
    assert worker.pid not in (None, first)


async def test_light_queries_stay_in_the_serving_process(laned: LaneHub) -> None:
    ran = laned.lane.ran
    body = await laned.hub.query(REGION_IDS, {"code": "341126"})
    assert "errors" not in body and laned.lane.ran == ran


async def test_shutdown_stops_the_workers(database: Database, settings: Settings) -> None:
    async with running_lane(database, settings) as started:
        token = started.hub.token("341126")
        assert (await started.hub.post(*HEAVY, token=token)).status_code == 200
        process = started.lane.workers[0].process
        assert process is not None
    assert process.returncode == 0


def test_the_lane_settings_are_read_and_checked(tmp_path: Path) -> None:
    base = {"HUB_JWT_SECRET": SECRET, "HUB_DATA_DIR": str(tmp_path)}
    default = load_settings(base)
    assert (default.heavy_workers, default.heavy_niceness) == (1, 10)
    chosen = load_settings({**base, "HUB_HEAVY_WORKERS": "0", "HUB_HEAVY_NICENESS": "19"})
    assert (chosen.heavy_workers, chosen.heavy_niceness) == (0, 19)
    for name, value in (("HUB_HEAVY_WORKERS", "-1"), ("HUB_HEAVY_NICENESS", "20")):
        with pytest.raises(SettingsError, match=name):
            load_settings({**base, name: value})
