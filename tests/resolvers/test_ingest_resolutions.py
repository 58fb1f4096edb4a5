"""Resolutions in ingestion batches: keyed by source and externalId, linked to an event of the
same source, votes within the event's participants, and refused whole like the other records."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import Hub
from tests.resolvers.test_ingest import (
    COUNTY_SOURCE,
    SOURCE,
    VILLAGE,
    editor,
    jsonl,
    key,
    problems,
    sources,  # noqa: F401 — registers the sources this module ingests into
)

INGEST = """mutation ($source: String!, $data: String!) {
  ingest(source: $source, format: JSONL, data: $data) {
    records participationEvents { created updated unchanged }
    resolutions { created updated unchanged } } }"""

SET_VOTES = """mutation ($id: ID!, $f: Int!, $a: Int!) {
  setResolutionVotes(id: $id, votesFor: $f, votesAgainst: $a) { version } }"""


def event(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "participationEvent",
        "externalId": external_id,
        "regionCode": VILLAGE,
        "kind": "VILLAGERS_ASSEMBLY",
        "title": "村民代表会议",
        "startsAt": "2026-06-01T19:30:00+08:00",
        "participantsByGroup": {"VILLAGERS": 10},
        **fields,
    }


def resolution(external_id: str, event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "resolution",
        "externalId": external_id,
        "event": event_id,
        "text": "修缮村道",
        "status": "ADOPTED",
        "decidedOn": "2026-06-01",
        "votesFor": 7,
        "votesAgainst": 2,
        **fields,
    }


async def post(hub: Hub, data: str, source: str = SOURCE) -> dict[str, Any]:
    variables = {"source": source, "data": data}
    body: dict[str, Any] = (await hub.post(INGEST, variables, token=editor(hub))).json()
    return body


async def stored(owner: asyncpg.Connection, external_id: str) -> list[dict[str, Any]]:
    rows = await owner.fetch(
        "select r.status::text, r.decided_on::text, r.votes_for, r.votes_against, r.version, "
        "r.position, e.external_id as event from resolution r "
        "join participation_event e on e.id = r.event_id where r.external_id = $1",
        external_id,
    )
    return [dict(r) for r in rows]


async def test_resolutions_are_created_with_votes_then_updated_not_duplicated(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    data = jsonl(
        event(f"e-{k}"),
        resolution(f"r1-{k}", f"e-{k}"),
        resolution(
            f"r2-{k}", f"e-{k}", status="PROPOSED", decidedOn=None, votesFor=None, votesAgainst=None
        ),
    )
    first = await post(hub, data)
    assert first["data"]["ingest"] == {
        "records": 3,
        "participationEvents": {"created": 1, "updated": 0, "unchanged": 0},
        "resolutions": {"created": 2, "updated": 0, "unchanged": 0},
    }
    assert await stored(owner, f"r1-{k}") == [
        {
            "status": "ADOPTED",
            "decided_on": "2026-06-01",
            "votes_for": 7,
            "votes_against": 2,
            "version": 1,
            "position": 1,
            "event": f"e-{k}",
        }
    ]
    # The event sent before links a later batch's resolution; a resent one is updated in place.
    again = await post(hub, jsonl(resolution(f"r1-{k}", f"e-{k}", votesFor=8)))
    assert again["data"]["ingest"]["resolutions"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert [(r["votes_for"], r["version"]) for r in await stored(owner, f"r1-{k}")] == [(8, 2)]
    same = await post(hub, jsonl(resolution(f"r1-{k}", f"e-{k}", votesFor=8)))
    assert same["data"]["ingest"]["resolutions"] == {"created": 0, "updated": 0, "unchanged": 1}
    audited = await owner.fetch(
        "select (a.after ->> 'votes_for')::int as votes from audit_log a join resolution r "
        "on r.id = a.record_id or r.id = any (a.record_ids) where r.external_id = $1 "
        "and a.record_type = 'Resolution' and a.operation = 'ingest' "
        "order by a.record_id nulls first",
        f"r1-{k}",
    )
    assert [a["votes"] for a in audited] == [None, 8]  # created (a count), then updated


async def test_bad_resolutions_refuse_the_whole_batch_and_write_nothing(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    await post(hub, jsonl(event(f"other-{k}")), source=COUNTY_SOURCE)
    before = await owner.fetchval("select count(*) from participation_event")
    before_res = await owner.fetchval("select count(*) from resolution")
    data = jsonl(
        event(f"e-{k}"),
        resolution(f"a-{k}", f"missing-{k}"),
        resolution(f"b-{k}", f"other-{k}"),
        resolution(f"c-{k}", f"e-{k}", votesFor=9, votesAgainst=2),
        resolution(f"d-{k}", f"e-{k}", status="PROPOSED", decidedOn=None),
        resolution(f"e-{k}", f"e-{k}", decidedOn=None),
        resolution(f"f-{k}", f"e-{k}", votesFor=-1),
    )
    body = await post(hub, data)
    reason = f"names no participation event of source {SOURCE} (sent in this batch or before)"
    assert problems(body) == [(7, "votesFor", "must be from 0 to 10000000")]
    body = await post(hub, data.rsplit("\n", 2)[0] + "\n")
    assert problems(body) == [
        (2, "event", reason),
        (3, "event", reason),
        (4, "votesFor", "votesFor + votesAgainst exceed the event's 10 participants"),
        (5, "votesFor", "votes are given only on a decided resolution"),
        (6, "decidedOn", "is required when the status is not PROPOSED, and only then"),
    ]
    assert await owner.fetchval("select count(*) from participation_event") == before
    assert await owner.fetchval("select count(*) from resolution") == before_res


async def test_a_resolution_changed_in_the_hub_since_its_import_is_a_conflict(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    await post(hub, jsonl(event(f"e-{k}"), resolution(f"r-{k}", f"e-{k}")))
    ident = await owner.fetchval("select id from resolution where external_id = $1", f"r-{k}")
    gid = __import__("base64").urlsafe_b64encode(f"Resolution:{ident}".encode()).rstrip(b"=")
    voted = (
        await hub.post(SET_VOTES, {"id": gid.decode(), "f": 5, "a": 5}, token=editor(hub, VILLAGE))
    ).json()
    assert voted["data"]["setResolutionVotes"] == {"version": 2}
    body = await post(hub, jsonl(resolution(f"r-{k}", f"e-{k}", votesFor=1)))
    assert problems(body) == [
        (1, "externalId", "changed in the hub since its last import (a conflict)")
    ]
    assert [(r["votes_for"], r["version"]) for r in await stored(owner, f"r-{k}")] == [(5, 2)]
