"""Unmasked personal data is read only with `pii`, and every such read is audited."""

import asyncpg
import pytest

from db.pool import connect
from db.setup import Database
from tests.conftest import Hub

REQUESTS = """query ($under: String) { serviceRequests(under: $under, first: 20) {
  edges { node { id requester { name phone } } } } }"""
AUDIT = """query ($under: String) { auditLog(under: $under, first: 50) { totalCount
  edges { node { actor operation region { code } recordIds } } } }"""


async def _reads(owner: asyncpg.Connection, actor: str) -> list[asyncpg.Record]:
    return await owner.fetch(
        "select region_code, record_type, record_ids from audit_log "
        "where actor = $1 and operation = 'read_personal_data'",
        actor,
    )


async def test_reading_with_pii_records_who_read_which_records(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = hub.token("341126101", roles=("viewer", "pii"), sub="reader-1")
    body = (await hub.post(REQUESTS, {"under": "341126101"}, token=token)).json()
    ids = {e["node"]["id"] for e in body["data"]["serviceRequests"]["edges"]}
    entries = await _reads(owner, "reader-1")
    from resolvers.ids import global_id

    # One entry at the grant with every record, and one at each village that held some.
    grant = [e for e in entries if e["region_code"] == "341126101"]
    assert [e["record_type"] for e in grant] == ["ServiceRequest"]
    assert {global_id("ServiceRequest", i) for i in grant[0]["record_ids"]} == ids
    villages = [e for e in entries if e["region_code"] != "341126101"]
    assert villages and all(e["region_code"].startswith("341126101") for e in villages)
    assert {i for e in villages for i in e["record_ids"]} <= set(grant[0]["record_ids"])


async def test_reading_masked_data_records_nothing(hub: Hub, owner: asyncpg.Connection) -> None:
    token = hub.token("341126101", roles=("viewer",), sub="reader-2")
    body = (await hub.post(REQUESTS, {"under": "341126101"}, token=token)).json()
    phones = [
        e["node"]["requester"]["phone"]
        for e in body["data"]["serviceRequests"]["edges"]
        if e["node"]["requester"] and e["node"]["requester"]["phone"]
    ]
    assert phones and all("****" in p for p in phones)
    assert await _reads(owner, "reader-2") == []


async def test_auditors_read_entries_of_their_regions_only(hub: Hub) -> None:
    await hub.post(
        REQUESTS,
        {"under": "341126101"},
        token=hub.token("341126101", roles=("viewer", "pii"), sub="reader-3"),
    )
    mine = await hub.query(AUDIT, {}, as_="341126101", roles=("viewer", "auditor"))
    actors = {e["node"]["actor"] for e in mine["data"]["auditLog"]["edges"]}
    assert "reader-3" in actors
    other = await hub.query(AUDIT, {}, as_="341126102", roles=("viewer", "auditor"))
    assert "reader-3" not in {e["node"]["actor"] for e in other["data"]["auditLog"]["edges"]}


async def test_the_audit_log_needs_the_auditor_role(hub: Hub) -> None:
    body = await hub.query(AUDIT, {}, as_="341126", roles=("viewer", "editor", "pii"))
    assert body["data"]["auditLog"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("statement", ["update audit_log set actor = 'x'", "delete from audit_log"])
async def test_the_runtime_role_cannot_rewrite_the_audit_log(
    database: Database, statement: str
) -> None:
    conn = await connect(database.runtime_dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()
