"""Audited reads are placed by one rule at every door; reading audit documents unmasked is
itself audited; documents carry no id of a record the auditor cannot read."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import asyncpg
from starlette.datastructures import QueryParams

from db.pool import create_pool
from db.setup import Database
from resolvers.audit import place
from resolvers.exports import RECORD_KINDS, audit_export, record_chunks
from resolvers.ids import global_id
from resolvers.scope import Caller, Grant
from server.exports import LISTS
from tests.conftest import Hub

COUNTY = "341126"
TOWNSHIP = "341126101"
OTHER_TOWNSHIP = "341126102"
COUNTY_PATH = "100000.34.3411.341126"
TOWNSHIP_PATH = f"{COUNTY_PATH}.{TOWNSHIP}"
OTHER_PATH = f"{COUNTY_PATH}.{OTHER_TOWNSHIP}"

REQUESTS = """query ($under: String!) { serviceRequests(under: $under, first: 30) {
  edges { node { id } } } }"""


def test_place_puts_an_entry_at_the_grant_and_at_each_child_that_held_rows() -> None:
    rows = {f"{TOWNSHIP_PATH}.341126101001": 3, f"{OTHER_PATH}.341126102001": 2, COUNTY_PATH: 1}
    assert place([COUNTY_PATH], rows) == {COUNTY_PATH: 6, TOWNSHIP_PATH: 3, OTHER_PATH: 2}
    assert place([TOWNSHIP_PATH, OTHER_PATH], rows) == {
        TOWNSHIP_PATH: 3,
        f"{TOWNSHIP_PATH}.341126101001": 3,
        OTHER_PATH: 2,
        f"{OTHER_PATH}.341126102001": 2,
    }
    assert place([TOWNSHIP_PATH], {OTHER_PATH: 4}) == {}


async def _reads(owner: asyncpg.Connection, actor: str) -> dict[str, set[str]]:
    rows = await owner.fetch(
        "select region_code, record_type, record_ids from audit_log "
        "where actor = $1 and operation = 'read_personal_data'",
        actor,
    )
    found: dict[str, set[str]] = {}
    for r in rows:
        found.setdefault(f"{r['region_code']}:{r['record_type']}", set()).update(
            map(str, r["record_ids"])
        )
    return found


async def test_a_county_read_is_audited_at_the_county_and_each_township_read(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = hub.token(COUNTY, roles=("viewer", "pii"), sub="county-reader")
    for under in (TOWNSHIP, OTHER_TOWNSHIP):
        body = (await hub.post(REQUESTS, {"under": under}, token=token)).json()
        assert body["data"]["serviceRequests"]["edges"]
    reads = await _reads(owner, "county-reader")
    assert set(reads) == {
        f"{COUNTY}:ServiceRequest",
        f"{TOWNSHIP}:ServiceRequest",
        f"{OTHER_TOWNSHIP}:ServiceRequest",
    }
    assert reads[f"{COUNTY}:ServiceRequest"] == (
        reads[f"{TOWNSHIP}:ServiceRequest"] | reads[f"{OTHER_TOWNSHIP}:ServiceRequest"]
    )


async def test_two_township_grants_get_one_entry_each(hub: Hub, owner: asyncpg.Connection) -> None:
    token = hub.token(TOWNSHIP, OTHER_TOWNSHIP, roles=("viewer", "pii"), sub="two-grants")
    body = (await hub.post(REQUESTS, {"under": COUNTY}, token=token)).json()
    ids = {e["node"]["id"] for e in body["data"]["serviceRequests"]["edges"]}
    reads = await _reads(owner, "two-grants")
    grants = {k: v for k, v in reads.items() if k.split(":")[0] in (TOWNSHIP, OTHER_TOWNSHIP)}
    assert set(grants) == {f"{TOWNSHIP}:ServiceRequest", f"{OTHER_TOWNSHIP}:ServiceRequest"}
    audited = grants[f"{TOWNSHIP}:ServiceRequest"] | grants[f"{OTHER_TOWNSHIP}:ServiceRequest"]
    assert {global_id("ServiceRequest", i) for i in audited} == ids
    assert COUNTY not in {k.split(":")[0] for k in reads}


AUDIT = """query { auditLog(first: 20) { edges { node { id actor operation before after } } } }"""


async def test_reading_audit_documents_unmasked_is_audited(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = hub.token(TOWNSHIP, roles=("viewer", "auditor", "pii"), sub="pii-auditor")
    body = (await hub.post(AUDIT, token=token)).json()
    shown = {e["node"]["id"] for e in body["data"]["auditLog"]["edges"]}
    assert shown
    reads = await _reads(owner, "pii-auditor")
    assert {global_id("AuditEntry", i) for i in reads[f"{TOWNSHIP}:AuditEntry"]} == shown
    masked = hub.token(TOWNSHIP, roles=("viewer", "auditor"), sub="plain-auditor")
    await hub.post(AUDIT, token=masked)
    assert await _reads(owner, "plain-auditor") == {}


def _doc(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else dict(json.loads(value))


async def test_documents_carry_no_id_of_a_record_the_auditor_cannot_read(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    child, parent = await owner.fetchrow(
        "select c.id, c.parent_id from organization c join organization p on p.id = c.parent_id "
        "where c.region_code = $1 and p.region_code = $2 limit 1",
        TOWNSHIP,
        COUNTY,
    ) or (None, None)
    assert child is not None
    await owner.execute(
        "insert into audit_log (actor, operation, region_code, record_type, record_id, before,"
        " after) select 'doc-writer', 'updateOrganization', region_code, 'Organization', id,"
        " to_jsonb(t) - 'path', to_jsonb(t) - 'path' from organization t where id = $1",
        child,
    )
    query = """query { auditLog(first: 50) { edges { node { actor before after } } } }"""
    for code, seen in ((TOWNSHIP, None), (COUNTY, str(parent))):
        body = await hub.query(query, as_=code, roles=("viewer", "auditor"))
        node = next(
            e["node"]
            for e in body["data"]["auditLog"]["edges"]
            if e["node"]["actor"] == "doc-writer"
        )
        assert _doc(node["before"])["parent_id"] == seen
        assert _doc(node["after"])["parent_id"] == seen
        assert _doc(node["after"])["id"] == str(child)


async def test_an_export_of_two_townships_is_audited_at_the_county_and_each(
    database: Database, owner: asyncpg.Connection
) -> None:
    pool = await create_pool(database.runtime_dsn, min_size=1, max_size=2)
    try:
        caller = Caller.from_grants("exporter", [Grant(COUNTY, COUNTY_PATH, frozenset({"viewer"}))])
        kind = RECORD_KINDS["organizations"]
        now = dt.datetime.now(dt.UTC)
        filters = LISTS[kind.name].filters(QueryParams(), now)
        reads: Counter[str] = Counter()
        rows = 0
        chunks = record_chunks(
            pool,
            caller,
            kind,
            (TOWNSHIP_PATH, OTHER_PATH),
            filters,
            None,
            30_000,
            now,
            reads=reads,
        )
        async for chunk in chunks:
            rows += len(chunk)
        await audit_export(pool, caller, TOWNSHIP, kind.record_type, {"export": kind.name}, reads)
    finally:
        await pool.close()
    entries = await owner.fetch(
        "select region_code, after from audit_log where actor = 'exporter' and operation = 'export'"
    )
    counts = {e["region_code"]: _doc(e["after"])["rows"] for e in entries}
    assert counts[COUNTY] == rows == counts[TOWNSHIP] + counts[OTHER_TOWNSHIP]
    assert set(counts) == {COUNTY, TOWNSHIP, OTHER_TOWNSHIP}


async def test_a_pii_text_filter_audits_what_it_matched_but_never_the_text(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    planted = await owner.fetchval(
        "update service_request set description = '回电 13911112222' where id = (select id "
        "from service_request where region_code like $1 order by submitted_at limit 1) "
        "returning id",
        TOWNSHIP + "%",
    )
    query = """query ($text: String!) { serviceRequests(under: "341126101", first: 0,
      filter: {text: $text}) { totalCount } }"""
    token = hub.token(TOWNSHIP, roles=("viewer", "pii"), sub="text-prober")
    body = (await hub.post(query, {"text": "13911112222"}, token=token)).json()
    assert body["data"]["serviceRequests"]["totalCount"] == 1
    reads = await _reads(owner, "text-prober")
    assert reads[f"{TOWNSHIP}:ServiceRequest"] == {str(planted)}
    assert not await owner.fetchval(
        "select count(*) from audit_log where actor = 'text-prober' and "
        "(coalesce(before::text, '') || coalesce(after::text, '')) like '%13911112222%'"
    )
    blind = hub.token(TOWNSHIP, sub="blind-prober")
    body = (await hub.post(query, {"text": "13911112222"}, token=blind)).json()
    assert body["data"]["serviceRequests"]["totalCount"] == 0
    assert await _reads(owner, "blind-prober") == {}
