"""`Query.ingestSources` and `grassroots source list`: each source's last import and counts,
to callers whose editor scope covers its jurisdiction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from db.setup import Database
from tests.conftest import Hub
from tests.resolvers.test_ingest import editor, ingest, jsonl, key, submitted
from tests.server.test_cli import grassroots

TOWNSHIP = "341126101"
OTHER_TOWNSHIP = "341126102"
SOURCE = "figures-township"
IDLE = "figures-idle"
SOURCES = """{ ingestSources { totalCount edges { node { name jurisdiction registeredAt
  lastImportAt batches records { organizations serviceRequests participationEvents
  resolutions } } } } }"""


@pytest.fixture(scope="module", autouse=True)
async def registered(database: Database) -> AsyncIterator[None]:
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        await conn.execute("select register_source($1, $2)", SOURCE, TOWNSHIP)
        await conn.execute("select register_source($1, $2)", IDLE, OTHER_TOWNSHIP)
    finally:
        await conn.close()
    yield


async def listed(hub: Hub, token: str) -> dict[str, Any]:
    body = await hub.post(SOURCES, token=token)
    found = body.json()
    assert "errors" not in found, found
    sources: dict[str, Any] = found["data"]["ingestSources"]
    return sources


async def test_a_source_shows_its_last_import_and_counts_to_its_editors(
    hub: Hub, database: Database
) -> None:
    token = editor(hub, TOWNSHIP)
    before = await listed(hub, token)
    assert [e["node"]["name"] for e in before["edges"]] == [SOURCE]
    assert before["edges"][0]["node"]["lastImportAt"] is None
    assert before["edges"][0]["node"]["batches"] == 0
    for n in (2, 1):
        body = await ingest(hub, token, jsonl(*(submitted(key()) for _ in range(n))), source=SOURCE)
        assert "errors" not in body, body
    node = (await listed(hub, token))["edges"][0]["node"]
    assert node["batches"] == 2 and node["jurisdiction"] == TOWNSHIP
    assert node["records"] == {
        "organizations": 0, "serviceRequests": 3, "participationEvents": 0, "resolutions": 0
    }  # fmt: skip
    last = dt.datetime.fromisoformat(node["lastImportAt"])
    assert last >= dt.datetime.fromisoformat(node["registeredAt"])
    code, out, err = await grassroots("source", "list", database=database)
    assert code == 0, err
    cli = {s["source"]: s for s in json.loads(out)}
    assert cli[SOURCE]["batches"] == 2 and cli[SOURCE]["records"]["serviceRequests"] == 3
    from_cli = dt.datetime.fromisoformat(cli[SOURCE]["lastImport"])
    assert abs(from_cli - last) < dt.timedelta(seconds=1)  # GraphQL gives whole seconds
    assert cli[IDLE]["batches"] == 0 and cli[IDLE]["lastImport"] is None


async def test_a_source_is_hidden_from_callers_whose_editor_scope_does_not_cover_it(
    hub: Hub,
) -> None:
    county = await listed(hub, editor(hub, "341126"))
    assert {e["node"]["name"] for e in county["edges"]} >= {SOURCE, IDLE}
    other = await listed(hub, editor(hub, OTHER_TOWNSHIP))
    assert [e["node"]["name"] for e in other["edges"]] == [IDLE] and other["totalCount"] == 1
    village = await listed(hub, editor(hub, TOWNSHIP + "001"))  # inside, not covering it
    viewer = await listed(hub, hub.token("341126", roles=("viewer",)))  # reads, edits nothing
    for nothing in (village, viewer):
        assert nothing == {"totalCount": 0, "edges": []}
