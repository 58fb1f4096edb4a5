"""Ingestion under the write rules of updateOrganization, the source rule, the escalation
limit, the audit at each record's region and a timeout that ends with the batch."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from db.pool import create_pool
from db.setup import Database
from resolvers.context import Context
from resolvers.ids import CursorCodec
from resolvers.mutations.ingest import ingest as ingest_batch
from resolvers.regions import RegionDirectory
from resolvers.scope import Caller, Grant
from resolvers.session import RequestSession
from tests.conftest import SECRET, Hub
from tests.resolvers.test_ingest import (
    SOURCE_REFUSED,
    editor,
    ingest,
    jsonl,
    key,
    problems,
    submitted,
)
from tests.server.test_cli import grassroots

COUNTY = "341126"
TOWNSHIP = "341126101"
VILLAGE = "341126101001"
OTHER_VILLAGE = "341126101002"
SOURCE = "rules-township"


@pytest.fixture(scope="module", autouse=True)
async def source(database: Database) -> AsyncIterator[None]:
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        await conn.execute("select register_source($1, $2)", SOURCE, TOWNSHIP)
    finally:
        await conn.close()
    yield


def organization(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "organization",
        "externalId": external_id,
        "regionCode": VILLAGE,
        "kind": "VOLUNTEER_TEAM",
        "name": "护林队",
        **fields,
    }


async def _org(owner: asyncpg.Connection, external_id: str) -> asyncpg.Record:
    row = await owner.fetchrow(
        "select * from organization where source = $1 and external_id = $2", SOURCE, external_id
    )
    assert row is not None
    return row


async def test_fields_left_out_of_a_record_keep_their_values_and_null_clears(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    full = organization(
        f"o-{k}",
        memberCount=8,
        partyMemberCount=2,
        leaderName="赵六",
        leaderPhone="13700001111",
        leaderRole="队长",
        foundedOn="2019-04-01",
    )
    made = await ingest(hub, editor(hub, pii=True), jsonl(full), source=SOURCE)
    assert made["data"]["ingest"]["created"] == 1, made
    again = await ingest(
        hub, editor(hub), jsonl(organization(f"o-{k}", name="护林防火队")), source=SOURCE
    )
    assert again["data"]["ingest"]["updated"] == 1, again
    row = await _org(owner, f"o-{k}")
    assert (row["name"], row["member_count"], row["leader_name"], row["leader_role"]) == (
        "护林防火队",
        8,
        "赵六",
        "队长",
    )
    cleared = await ingest(
        hub, editor(hub), jsonl(organization(f"o-{k}", leaderRole=None)), source=SOURCE
    )
    assert cleared["data"]["ingest"]["updated"] == 1, cleared
    row = await _org(owner, f"o-{k}")
    assert (row["leader_role"], row["leader_name"], row["member_count"]) == (None, "赵六", 8)
    csv = (
        "type,externalId,regionCode,kind,name,foundedOn\n"
        f"organization,o-{k},{VILLAGE},VOLUNTEER_TEAM,护林队,\n"
    )
    by_csv = await ingest(hub, editor(hub), csv, source=SOURCE, format="CSV")
    assert by_csv["data"]["ingest"]["updated"] == 1, by_csv
    row = await _org(owner, f"o-{k}")
    assert (row["founded_on"], row["member_count"], row["leader_phone"]) == (None, 8, "13700001111")
    refused = await ingest(
        hub, editor(hub), jsonl(organization(f"o-{k}", memberCount=None)), source=SOURCE
    )
    assert problems(refused) == [(1, "memberCount", "cannot be cleared; send a number")]


async def test_masked_fields_change_only_with_pii_and_never_to_a_mask(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    made = await ingest(
        hub, editor(hub), jsonl(organization(f"m-{k}", leaderName="孙七")), source=SOURCE
    )
    assert made["data"]["ingest"]["created"] == 1, made
    for fields in ({"leaderName": "孙七"}, {"leaderName": "孙*"}, {"leaderPhone": None}):
        body = await ingest(
            hub, editor(hub), jsonl(organization(f"m-{k}", **fields)), source=SOURCE
        )
        field = next(iter(fields))
        assert problems(body) == [
            (1, field, "needs the pii role: you read it masked; leave it out")
        ]
    body = await ingest(
        hub, editor(hub, pii=True), jsonl(organization(f"m-{k}", leaderName="孙*")), source=SOURCE
    )
    assert problems(body) == [(1, "leaderName", "looks like a masked value; send the real one")]
    assert (await _org(owner, f"m-{k}"))["leader_name"] == "孙七"


async def test_names_and_leader_roles_with_personal_data_refuse_the_batch(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    body = await ingest(
        hub,
        editor(hub, pii=True),
        jsonl(
            organization(f"ok-{k}"),
            organization(f"n-{k}", name="联系人13766667777"),
            organization(f"r-{k}", leaderRole="队长 手机137-6666-7777"),
        ),
        source=SOURCE,
    )
    reason = (
        "holds a phone or ID number (PERSONAL_DATA_IN_NAME); "
        "personal data goes in the leader's fields"
    )
    assert problems(body) == [(2, "name", reason), (3, "leaderRole", reason)]
    assert (
        await owner.fetchval(
            "select count(*) from organization where external_id like $1", f"%-{k}"
        )
        == 0
    )


async def test_escalated_to_lies_at_most_one_level_above_the_source(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    def escalated(external_id: str, to: str) -> dict[str, Any]:
        return submitted(
            external_id,
            status="ESCALATED",
            escalatedTo=to,
            firstRespondedAt="2026-03-02T10:00:00+08:00",
            acceptedAt="2026-03-02T10:00:00+08:00",
        )

    k = key()
    token = editor(hub, pii=True)
    for far in ("100000", "34", "3411"):
        body = await ingest(hub, token, jsonl(escalated(f"far-{k}", far)), source=SOURCE)
        assert problems(body) == [
            (
                1,
                "escalatedTo",
                f"must lie at most one level above the jurisdiction of source {SOURCE}",
            )
        ]
    near = await ingest(hub, token, jsonl(escalated(f"near-{k}", COUNTY)), source=SOURCE)
    assert near["data"]["ingest"]["created"] == 1, near


async def test_created_records_are_audited_at_their_own_regions(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    body = await ingest(
        hub,
        editor(hub, sub=f"auditee-{k}"),
        jsonl(organization(f"a-{k}"), organization(f"b-{k}", regionCode=OTHER_VILLAGE)),
        source=SOURCE,
    )
    assert body["data"]["ingest"]["created"] == 2, body
    entries = await owner.fetch(
        "select region_code, record_ids from audit_log where actor = $1 order by region_code",
        f"auditee-{k}",
    )
    made = {
        r["region_code"]: [r["id"]]
        for r in await owner.fetch(
            "select id, region_code from organization where external_id = any($1)",
            [f"a-{k}", f"b-{k}"],
        )
    }
    assert {e["region_code"]: list(e["record_ids"]) for e in entries} == made
    assert set(made) == {VILLAGE, OTHER_VILLAGE}


async def test_the_cli_gives_the_source_refusal_whatever_the_records(
    hub: Hub, database: Database, tmp_path: Path
) -> None:
    k = key()
    path = tmp_path / f"{SOURCE}.jsonl"
    path.write_text(jsonl(submitted(f"cli-{k}")), encoding="utf-8")
    token = editor(hub, VILLAGE)
    code, out, err = await grassroots("ingest", str(path), "--token", token, database=database)
    assert code == 1, err
    error = json.loads(out)["errors"][0]
    assert [(e["line"], e["field"], e["reason"]) for e in error["extensions"]["errors"]] == [
        SOURCE_REFUSED
    ]


async def test_the_raised_statement_timeout_ends_with_the_batch(database: Database) -> None:
    pool = await create_pool(database.runtime_dsn, min_size=1, max_size=1)
    try:
        caller = Caller.from_grants(
            "timeout-test",
            [Grant(TOWNSHIP, "100000.34.3411.341126.341126101", frozenset({"viewer", "editor"}))],
        )
        session = RequestSession(pool, caller)
        ctx = Context(caller, session, CursorCodec(SECRET), RegionDirectory(pool))
        before = await session.fetchval("select current_setting('statement_timeout')")
        report = await ingest_batch(ctx, SOURCE, "jsonl", jsonl(organization(f"t-{uuid.uuid4()}")))
        assert report.created == 1
        assert await session.fetchval("select current_setting('statement_timeout')") == before
        await session.close(commit=False)
    finally:
        await pool.close()
