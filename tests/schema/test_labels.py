"""Records carry the Chinese labels a page shows, from the one table of labels; history
entries carry their step as an enum with its label, beside the deprecated verb."""

from __future__ import annotations

import asyncpg

from resolvers import labels
from tests.conftest import Hub

QUERY = """{
  serviceRequests(first: 200) { edges { node { status statusLabel category categoryLabel
    channel channelLabel history { action kind label } } } }
  organizations(first: 50) { edges { node { kind kindLabel } } }
  participationEvents(first: 50) { edges { node { kind kindLabel } } } }"""


async def test_records_carry_the_labels_of_their_values(hub: Hub) -> None:
    body = await hub.query(QUERY)
    assert "errors" not in body, body
    requests = [e["node"] for e in body["data"]["serviceRequests"]["edges"]]
    assert len(requests) == 200
    for r in requests:
        assert r["statusLabel"] == labels.SERVICE_STATUS[r["status"]]
        assert r["categoryLabel"] == labels.SERVICE_CATEGORY[r["category"]]
        assert r["channelLabel"] == labels.SERVICE_CHANNEL[r["channel"]]
        for step in r["history"]:
            assert step["kind"] == step["action"].upper()
            assert step["label"] == labels.SERVICE_REQUEST_ACTION[step["kind"]]
    for organization in (e["node"] for e in body["data"]["organizations"]["edges"]):
        assert organization["kindLabel"] == labels.ORGANIZATION_KIND[organization["kind"]]
    for event in (e["node"] for e in body["data"]["participationEvents"]["edges"]):
        assert event["kindLabel"] == labels.PARTICIPATION_KIND[event["kind"]]


async def test_an_imported_request_shows_the_imported_step(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    reference = await owner.fetchval(
        "select reference from service_request where region_code like '341126%' "
        'and history @> \'[{"action": "imported"}]\' limit 1'
    )
    if reference is None:  # the demo imports nothing: make one entry an import
        reference = await owner.fetchval(
            "update service_request set history = jsonb_set(history, '{0,action}', "
            "'\"imported\"') where id = (select id from service_request "
            "where region_code like '341126%' order by reference limit 1) returning reference"
        )
    body = await hub.query(
        "query ($r: String!) { serviceRequest(reference: $r) { history { kind label } } }",
        {"r": reference},
    )
    steps = body["data"]["serviceRequest"]["history"]
    assert {"kind": "IMPORTED", "label": "导入"} in steps
