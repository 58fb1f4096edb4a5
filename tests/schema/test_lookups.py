"""A request found by the reference a resident quotes: `serviceRequest(reference:)` and the
text filter. Expected rows come from SQL run as the table owner."""

from __future__ import annotations

import asyncpg

from tests.conftest import FOREIGN_COUNTY, Hub

COUNTY = "341126"
LOOKUP = "query ($r: String!) { serviceRequest(reference: $r) { reference region { code } } }"
TEXT = """query ($t: String!) { serviceRequests(filter: {text: $t}) {
  totalCount edges { node { reference } } } }"""


async def _reference(owner: asyncpg.Connection, county: str) -> str:
    ref: str = await owner.fetchval(
        "select reference from service_request where region_code like $1 || '%' "
        "order by reference limit 1",
        county,
    )
    return ref


async def test_service_request_by_reference_finds_a_visible_request(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    ref = await _reference(owner, COUNTY)
    body = await hub.query(LOOKUP, {"r": ref})
    assert "errors" not in body, body
    assert body["data"]["serviceRequest"]["reference"] == ref
    assert body["data"]["serviceRequest"]["region"]["code"].startswith(COUNTY)


async def test_service_request_by_reference_is_null_when_foreign_or_unknown(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    foreign = await _reference(owner, FOREIGN_COUNTY)
    for ref in (foreign, "341126101001-2026-999999", "nonsense"):
        body = await hub.query(LOOKUP, {"r": ref})
        assert body == {"data": {"serviceRequest": None}}


async def test_text_filter_matches_a_whole_reference(hub: Hub, owner: asyncpg.Connection) -> None:
    ref = await _reference(owner, COUNTY)
    body = await hub.query(TEXT, {"t": ref})
    assert "errors" not in body, body
    got = body["data"]["serviceRequests"]
    assert got["totalCount"] == 1
    assert [e["node"]["reference"] for e in got["edges"]] == [ref]


async def test_text_filter_does_not_find_a_foreign_reference(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    body = await hub.query(TEXT, {"t": await _reference(owner, FOREIGN_COUNTY)})
    assert body["data"]["serviceRequests"]["totalCount"] == 0
