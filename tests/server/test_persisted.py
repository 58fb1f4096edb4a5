"""Persisted queries: trusted documents by hash, and the automatic persisted query protocol
(miss, registration, hit), admitted through the one door."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from db import allowlist
from db.setup import Database
from schema.documents import DOCUMENTS_DIR, Documents, Manifest, sha256
from server.auth import issue
from server.persisted import Registered
from server.settings import RateLimits, Settings
from tests.conftest import Hub, running

LISTED = "listed-persisted-tool"
QUERY = '{ region(code: "341126") { code name } }'
TOOL_QUERY = "query Tool { viewer { subject } }"
BUDGET = 7


def _ext(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@pytest.fixture(scope="module")
async def hub(database: Database, settings: Settings) -> AsyncIterator[Hub]:
    limited = dataclasses.replace(settings, rate_limits=RateLimits(county=BUDGET))
    owner = await asyncpg.connect(database.owner_dsn)
    await allowlist.add(owner, LISTED)
    await owner.close()
    async with running(database, limited) as started:
        services = started.client._transport.app.state.services  # type: ignore[attr-defined]
        tool = Manifest(LISTED, False, {sha256(TOOL_QUERY): TOOL_QUERY})
        committed = Documents.load(services.schema._schema)
        services.documents = Documents([tool, *committed._by_client.values()])
        yield started


def _bearer(hub: Hub, sub: str, client: str | None = None) -> dict[str, str]:
    token = issue(hub.settings, sub, ["341126"], ("viewer",), client=client)
    return {"authorization": f"Bearer {token}"}


async def _get(hub: Hub, headers: dict[str, str], **params: Any) -> httpx.Response:
    sent = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await hub.client.get("/graphql", params=sent, headers=headers)


def _reason(response: httpx.Response) -> tuple[int, str, str]:
    extensions = response.json()["errors"][0]["extensions"]
    return response.status_code, extensions["code"], extensions.get("reason", "")


async def test_an_open_trusted_document_runs_by_hash_over_get(hub: Hub) -> None:
    digest = next(iter(json.loads((DOCUMENTS_DIR / "dashboard.json").read_text())["documents"]))
    response = await _get(hub, _bearer(hub, "open"), extensions=_ext(digest))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["subject"] == "open"


async def test_a_miss_then_a_registration_then_a_hit_over_get(hub: Hub) -> None:
    headers = _bearer(hub, "apq", client="web")
    miss = await _get(hub, headers, extensions=_ext(sha256(QUERY)))
    assert _reason(miss) == (200, "PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_FOUND")
    registered = await hub.client.post(
        "/graphql", json={"query": QUERY, "extensions": _ext(sha256(QUERY))}, headers=headers
    )
    assert registered.json()["data"]["region"]["code"] == "341126"
    hit = await _get(hub, headers, extensions=_ext(sha256(QUERY)))
    assert hit.json()["data"] == registered.json()["data"]
    # Kept per client: another application's callers do not find it.
    other = await _get(hub, _bearer(hub, "apq", client="other"), extensions=_ext(sha256(QUERY)))
    assert _reason(other)[1] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_forged_hash_is_refused(hub: Hub) -> None:
    forged = {"query": QUERY, "extensions": _ext(sha256(QUERY + " "))}
    response = await hub.client.post("/graphql", json=forged, headers=_bearer(hub, "forger"))
    assert _reason(response) == (400, "BAD_USER_INPUT", "PERSISTED_QUERY_HASH_MISMATCH")
    malformed = await _get(hub, _bearer(hub, "forger"), extensions=_ext("not-a-hash"))
    assert _reason(malformed)[2] == "PERSISTED_QUERY_MALFORMED"


async def test_an_allow_listed_client_may_not_register(hub: Hub) -> None:
    registration = {"query": QUERY, "extensions": _ext(sha256(QUERY))}
    response = await hub.client.post(
        "/graphql", json=registration, headers=_bearer(hub, "tool", client=LISTED)
    )
    assert _reason(response) == (403, "FORBIDDEN", "REGISTRATION_REFUSED")


async def test_an_allow_listed_client_runs_its_own_manifest_only(hub: Hub) -> None:
    headers = _bearer(hub, "tool-runs", client=LISTED)
    own = await _get(hub, headers, extensions=_ext(sha256(TOOL_QUERY)))
    assert own.json()["data"]["viewer"]["subject"] == "tool-runs"
    unknown = await _get(hub, headers, extensions=_ext(sha256(QUERY)))
    assert _reason(unknown) == (403, "FORBIDDEN", "REPORT_REQUIRED")
    # Another client's closed manifest is not this one's.
    elsewhere = await _get(
        hub, _bearer(hub, "web-runs", client="web"), extensions=_ext(sha256(TOOL_QUERY))
    )
    assert _reason(elsewhere)[1] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_persisted_mutation_is_refused_over_get(hub: Hub) -> None:
    mutation = 'mutation M { closeServiceRequest(id: "x") { id } }'
    headers = _bearer(hub, "mutator", client="web")
    await hub.client.post(
        "/graphql", json={"query": mutation, "extensions": _ext(sha256(mutation))}, headers=headers
    )
    response = await _get(hub, headers, extensions=_ext(sha256(mutation)))
    assert _reason(response) == (405, "BAD_USER_INPUT", "METHOD_NOT_ALLOWED")


async def test_registrations_count_against_the_rate_limit(hub: Hub) -> None:
    headers = _bearer(hub, "registrar", client="web")
    statuses = []
    for n in range(4):  # each registration costs its operation and its registration: 2
        query = f"query R{n} {{ viewer {{ subject }} }}"
        answer = await hub.client.post(
            "/graphql", json={"query": query, "extensions": _ext(sha256(query))}, headers=headers
        )
        statuses.append(answer.status_code)
    assert statuses == [200, 200, 200, 429]


def test_registered_documents_are_capped_per_document_and_in_total() -> None:
    kept = Registered(max_document_bytes=10, max_total_bytes=25)
    assert not kept.put("web", "a" * 64, "x" * 11)
    for n in range(3):
        assert kept.put("web", str(n) * 64, "y" * 10)
    assert kept.get("web", "0" * 64) is None  # least recently used, evicted
    assert kept.get("web", "2" * 64) == "y" * 10 and kept.size == 20 and len(kept) == 2
    assert kept.get("other", "2" * 64) is None
