"""Ingestion over HTTP (and once through the CLI): batches land whole or not at all."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from db.pool import connect
from db.setup import Database
from tests.conftest import Hub
from tests.server.test_cli import grassroots

COUNTY = "341126"
TOWNSHIP = "341126101"
VILLAGE = "341126101001"
OTHER_VILLAGE = "341126101002"
OTHER_TOWNSHIP_VILLAGE = "341126102001"
TOWNSHIP_PATH = "100000.34.3411.341126.341126101"
SOURCE = "township-101"  # registered to TOWNSHIP
COUNTY_SOURCE = "county-system"  # registered to COUNTY
FOREIGN_SOURCE = "foreign-county"  # registered to 341125, beside the demo county

INGEST = """mutation ($source: String!, $format: IngestFormat!, $data: String!) {
  ingest(source: $source, format: $format, data: $data) {
    source records created updated unchanged
    organizations { created updated unchanged }
    serviceRequests { created updated unchanged }
    participationEvents { created updated unchanged }
  } }"""


def gid(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


def editor(hub: Hub, code: str = TOWNSHIP, sub: str = "importer", *, pii: bool = False) -> str:
    roles = ("viewer", "editor", "pii") if pii else ("viewer", "editor")
    return hub.token(code, roles=roles, sub=sub)


SOURCE_REFUSED = (
    0,
    "source",
    "is not a registered source whose whole jurisdiction lies within your editor scope",
)


def key() -> str:
    return uuid.uuid4().hex[:12]


def request(external_id: str, **fields: Any) -> dict[str, Any]:
    """A consistent CLOSED request, rated, in VILLAGE."""
    return {
        "type": "serviceRequest",
        "externalId": external_id,
        "regionCode": VILLAGE,
        "category": "INFRASTRUCTURE",
        "channel": "GRID_WORKER",
        "status": "CLOSED",
        "title": "路灯不亮",
        "description": "村口主干道路灯损坏，联系电话13812345678",
        "requesterName": "王五",
        "requesterPhone": "13812345678",
        "submittedAt": "2026-03-02T09:15:00+08:00",
        "firstRespondedAt": "2026-03-02T11:00:00+08:00",
        "acceptedAt": "2026-03-02T11:00:00+08:00",
        "resolvedAt": "2026-03-10T16:30:00+08:00",
        "closedAt": "2026-03-15T10:00:00+08:00",
        "satisfaction": 5,
        **fields,
    }


def submitted(external_id: str, **fields: Any) -> dict[str, Any]:
    """A consistent SUBMITTED request (or, with `fields`, whatever they make of it)."""
    base = request(external_id, **{"status": "SUBMITTED", **fields})
    for name in ("firstRespondedAt", "acceptedAt", "resolvedAt", "closedAt", "satisfaction"):
        if name not in fields:
            base.pop(name)
    return base


def jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


async def ingest(
    hub: Hub, token: str, data: str, *, source: str = SOURCE, format: str = "JSONL"
) -> dict[str, Any]:
    variables = {"source": source, "format": format, "data": data}
    body: dict[str, Any] = (await hub.post(INGEST, variables, token=token)).json()
    return body


def problems(body: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    assert body["data"]["ingest"] is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return [(e["line"], e["field"], e["reason"]) for e in error["extensions"]["errors"]]


COUNTS = """
select (select count(*) from organization) as organizations,
       (select count(*) from service_request) as requests,
       (select count(*) from participation_event) as events,
       (select count(*) from audit_log) as audit,
       (select coalesce(sum(last), 0) from reference_counter) as references,
       (select coalesce(sum(version), 0) from service_request where source is not null)
           as versions
"""


async def counts(owner: asyncpg.Connection) -> dict[str, int]:
    row = await owner.fetchrow(COUNTS)
    assert row is not None
    return dict(row)


@pytest.fixture(scope="module", autouse=True)
async def sources(database: Database) -> AsyncIterator[None]:
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        for name, code in ((SOURCE, TOWNSHIP), (COUNTY_SOURCE, COUNTY), (FOREIGN_SOURCE, "341125")):
            await conn.execute("select register_source($1, $2)", name, code)
    finally:
        await conn.close()
    yield


async def test_a_jsonl_batch_creates_organizations_requests_and_events(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    data = jsonl(
        {
            "type": "organization",
            "externalId": f"party-{k}",
            "regionCode": VILLAGE,
            "kind": "PARTY_BRANCH",
            "name": f"测试村党支部{k}",
            "memberCount": 30,
            "partyMemberCount": 30,
            "leaderName": "李书记",
            "leaderPhone": "13900001111",
            "foundedOn": "1998-07-01",
        },
        {
            "type": "organization",
            "externalId": f"committee-{k}",
            "regionCode": VILLAGE,
            "kind": "VILLAGE_COMMITTEE",
            "name": f"测试村村民委员会{k}",
            "parent": f"party-{k}",
            "memberCount": 5,
        },
        request(f"req-{k}", handledBy=f"committee-{k}"),
        submitted(f"new-{k}"),
        {
            "type": "participationEvent",
            "externalId": f"event-{k}",
            "regionCode": VILLAGE,
            "kind": "DELIBERATION",
            "title": "村道硬化议事协商会",
            "startsAt": "2026-04-01T19:00:00+08:00",
            "organizer": f"party-{k}",
            "participantsByGroup": {"VILLAGERS": 20, "PARTY_MEMBERS": 6},
        },
    )
    body = await ingest(hub, editor(hub), data)
    assert "errors" not in body, body
    assert body["data"]["ingest"] == {
        "source": SOURCE,
        "records": 5,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "organizations": {"created": 2, "updated": 0, "unchanged": 0},
        "serviceRequests": {"created": 2, "updated": 0, "unchanged": 0},
        "participationEvents": {"created": 1, "updated": 0, "unchanged": 0},
    }
    committee = await owner.fetchrow(
        "select o.id, p.external_id as parent from organization o "
        "join organization p on p.id = o.parent_id where o.source = $1 and o.external_id = $2",
        SOURCE,
        f"committee-{k}",
    )
    assert committee is not None
    assert committee["parent"] == f"party-{k}"
    row = await owner.fetchrow(
        "select * from service_request where source = $1 and external_id = $2", SOURCE, f"req-{k}"
    )
    assert row is not None
    assert row["status"] == "CLOSED" and row["version"] == 1 and row["imported_version"] == 1
    assert row["handled_by"] == committee["id"] and row["handling_region_code"] == VILLAGE
    assert row["reference"].startswith(f"{VILLAGE}-2026-")
    assert (row["due_at"] - row["submitted_at"]).days == 30  # INFRASTRUCTURE
    event = await owner.fetchrow(
        "select participant_count, organizer_id is not null as organized from participation_event "
        "where source = $1 and external_id = $2",
        SOURCE,
        f"event-{k}",
    )
    assert event is not None
    assert event["participant_count"] == 26 and event["organized"]
    batches = await owner.fetch(
        "select record_type, cardinality(record_ids) as n, actor from audit_log "
        "where operation = 'ingest' and after ->> 'source' = $1 and record_id is null "
        "and $2 = any(record_ids) order by record_type",
        SOURCE,
        row["id"],
    )
    assert [(b["record_type"], b["n"], b["actor"]) for b in batches] == [
        ("ServiceRequest", 2, "importer")
    ]


async def test_a_csv_batch_creates_requests(hub: Hub, owner: asyncpg.Connection) -> None:
    k = key()
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["type", "externalId", "regionCode", "category", "channel", "status", "title"]
    columns += ["description", "submittedAt", "firstRespondedAt", "acceptedAt", "escalatedTo"]
    writer.writerow(columns)
    writer.writerow(
        [
            "serviceRequest",
            f"csv-1-{k}",
            VILLAGE,
            "HEALTH",
            "HOTLINE",
            "ESCALATED",
            "卫生室缺药",
            "多行\n说明",
            "2026-05-01T08:00:00+08:00",
            "2026-05-01T09:00:00+08:00",
            "2026-05-01T09:00:00+08:00",
            TOWNSHIP,
        ]
    )
    writer.writerow(
        [
            *("serviceRequest", f"csv-2-{k}", VILLAGE, "OTHER", "WALK_IN", "SUBMITTED", "咨询"),
            *("", "2026-05-02T08:00:00+08:00", "", "", ""),
        ]
    )
    body = await ingest(hub, editor(hub), out.getvalue(), format="CSV")
    assert body["data"]["ingest"]["serviceRequests"] == {"created": 2, "updated": 0, "unchanged": 0}
    rows = await owner.fetch(
        "select external_id, status::text, handling_region_code, description from service_request"
        " where source = $1 and external_id like $2 order by external_id",
        SOURCE,
        f"csv-%-{k}",
    )
    assert [tuple(r) for r in rows] == [
        (f"csv-1-{k}", "ESCALATED", TOWNSHIP, "多行\n说明"),
        (f"csv-2-{k}", "SUBMITTED", VILLAGE, None),
    ]


async def test_times_python_reads_differently_reach_the_database_as_python_read_them(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    week_date = submitted(f"week-{k}", submittedAt="2026-W10-1T09:00:00+08:00")
    body = await ingest(hub, editor(hub), jsonl(week_date))
    assert body["data"]["ingest"]["created"] == 1, body
    submitted_at = await owner.fetchval(
        "select submitted_at from service_request where source = $1 and external_id = $2",
        SOURCE,
        f"week-{k}",
    )
    assert submitted_at.isoformat() == "2026-03-02T01:00:00+00:00"


async def test_sending_a_record_again_updates_it_and_never_duplicates_it(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    token = editor(hub, pii=True)
    first = await ingest(hub, token, jsonl(submitted(f"a-{k}"), submitted(f"b-{k}")))
    assert first["data"]["ingest"]["created"] == 2
    moved_on = submitted(
        f"a-{k}",
        status="IN_PROGRESS",
        firstRespondedAt="2026-03-02T10:00:00+08:00",
        acceptedAt="2026-03-02T10:00:00+08:00",
    )
    again = await ingest(hub, token, jsonl(moved_on, submitted(f"b-{k}")))
    assert again["data"]["ingest"] == {
        **again["data"]["ingest"],
        "records": 2,
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    rows = await owner.fetch(
        "select external_id, status::text, version, imported_version, history from service_request"
        " where source = $1 and external_id = any($2) order by external_id",
        SOURCE,
        [f"a-{k}", f"b-{k}"],
    )
    assert [(r["external_id"], r["status"], r["version"], r["imported_version"]) for r in rows] == [
        (f"a-{k}", "IN_PROGRESS", 2, 2),
        (f"b-{k}", "SUBMITTED", 1, 1),
    ]
    history = json.loads(rows[0]["history"])
    assert [(h["action"], h["fromStatus"], h["toStatus"]) for h in history] == [
        ("imported", None, "SUBMITTED"),
        ("imported", "SUBMITTED", "IN_PROGRESS"),
    ]
    audited = await owner.fetchrow(
        "select before ->> 'status' as before, after ->> 'status' as after from audit_log "
        "where operation = 'ingest' and record_type = 'ServiceRequest' and record_id = "
        "(select id from service_request where source = $1 and external_id = $2)",
        SOURCE,
        f"a-{k}",
    )
    assert audited is not None
    assert (audited["before"], audited["after"]) == ("SUBMITTED", "IN_PROGRESS")


async def test_a_region_outside_the_sources_jurisdiction_is_refused(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    before = await counts(owner)
    county_editor = editor(hub, COUNTY)
    body = await ingest(
        hub,
        county_editor,
        jsonl(
            submitted(f"ok-{key()}"), submitted(f"out-{key()}", regionCode=OTHER_TOWNSHIP_VILLAGE)
        ),
    )
    assert problems(body) == [
        (2, "regionCode", f"lies outside the jurisdiction of source {SOURCE}")
    ]
    assert await counts(owner) == before


async def test_a_source_wider_than_the_callers_editor_scope_is_one_refusal(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    """A village editor may not use the township's source: one refusal, whatever the records
    (in its village or not, sent before by another editor or never)."""
    before = await counts(owner)
    village_editor = editor(hub, VILLAGE)
    body = await ingest(
        hub,
        village_editor,
        jsonl(submitted(f"ok-{key()}"), submitted(f"out-{key()}", regionCode=OTHER_VILLAGE)),
    )
    assert problems(body) == [SOURCE_REFUSED]
    viewer = hub.token(TOWNSHIP, roles=("viewer",))
    refused = await ingest(hub, viewer, jsonl(submitted(f"v-{key()}")))
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await counts(owner) == before
    k = key()
    made = await ingest(
        hub, editor(hub, pii=True), jsonl(submitted(f"moved-{k}", regionCode=OTHER_VILLAGE))
    )
    assert made["data"]["ingest"]["created"] == 1
    before = await counts(owner)
    used = await ingest(hub, village_editor, jsonl(submitted(f"moved-{k}", title="x")))
    unused = await ingest(hub, village_editor, jsonl(submitted(f"never-{k}", title="x")))
    assert problems(used) == problems(unused) == [SOURCE_REFUSED]
    assert used["errors"][0]["message"] == unused["errors"][0]["message"]
    assert await counts(owner) == before


async def test_a_source_registered_elsewhere_is_as_unknown_as_a_missing_one(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    before = await counts(owner)
    for source in (FOREIGN_SOURCE, "no-such-source"):
        body = await ingest(hub, editor(hub), jsonl(submitted(key())), source=source)
        assert problems(body) == [SOURCE_REFUSED]
    assert await counts(owner) == before


async def test_inconsistent_records_refuse_the_whole_batch(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    before = await counts(owner)
    k = key()
    data = jsonl(
        request(f"fine-{k}"),
        request(f"order-{k}", resolvedAt="2026-03-01T10:00:00+08:00"),
        submitted(f"noreply-{k}", status="ACCEPTED", acceptedAt="2026-03-02T11:00:00+08:00"),
        submitted(f"rated-{k}", satisfaction=4),
        request(f"late-{k}", closedAt="2099-01-01T00:00:00+08:00"),
        submitted(f"fine-{k}"),
    )
    body = await ingest(hub, editor(hub), data)
    assert problems(body) == [
        (1, "externalId", "appears more than once in the batch"),
        (2, "resolvedAt", "comes before acceptedAt"),
        (3, "firstRespondedAt", "is required when acceptedAt is given"),
        (4, "satisfaction", "is only given to RESOLVED or CLOSED requests"),
        (5, "closedAt", "lies in the future"),
        (6, "externalId", "appears more than once in the batch"),
    ]
    assert body["errors"][0]["extensions"]["errorCount"] == 6
    assert await counts(owner) == before


async def test_malformed_lines_refuse_the_whole_batch(hub: Hub, owner: asyncpg.Connection) -> None:
    before = await counts(owner)
    k = key()
    data = (
        jsonl(request(f"fine-{k}"), submitted(f"enum-{k}", category="ROADS"))
        + "{not json\n"
        + "\n"
        + jsonl(
            submitted(f"time-{k}", submittedAt="2026-03-02 09:15"),
            {"type": "meeting", "externalId": "x"},
            submitted(f"extra-{k}", color="blue"),
        )
        + '["a list"]\n'
    )
    body = await ingest(hub, editor(hub), data)
    assert problems(body) == [
        (2, "category", problems(body)[0][2]),
        (3, None, "is not valid JSON: Expecting property name enclosed in double quotes"),
        (5, "submittedAt", "needs a UTC offset, e.g. 2026-03-01T09:30:00+08:00"),
        (6, "type", "must be one of organization, serviceRequest, participationEvent, resolution"),
        (7, "color", "is not a known field"),
        (8, None, "must be a JSON object"),
    ]
    assert problems(body)[0][2].startswith("must be one of SOCIAL_SECURITY, ELDERLY_CARE")
    csv_body = await ingest(
        hub, editor(hub), "type,externalId,colour\nserviceRequest,x,red\n", format="CSV"
    )
    assert problems(csv_body) == [(1, "colour", "is not a known column")]
    assert await counts(owner) == before


async def test_a_record_changed_in_the_hub_since_its_import_is_a_conflict(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    token = editor(hub, pii=True)
    made = await ingest(hub, token, jsonl(submitted(f"c-{k}")))
    assert made["data"]["ingest"]["created"] == 1
    ident = await owner.fetchval(
        "select id from service_request where source = $1 and external_id = $2", SOURCE, f"c-{k}"
    )
    accepted = (
        await hub.post(
            "mutation ($id: ID!) { acceptServiceRequest(id: $id) { status version } }",
            {"id": gid("ServiceRequest", ident)},
            token=token,
        )
    ).json()
    assert accepted["data"]["acceptServiceRequest"] == {"status": "ACCEPTED", "version": 2}
    before = await counts(owner)
    body = await ingest(hub, token, jsonl(submitted(f"c-{k}", title="改过的标题")))
    assert (
        1,
        "externalId",
        "conflict: the record was changed in the hub since its last import "
        "(version 2, imported as version 1)",
    ) in problems(body)
    assert await counts(owner) == before
    assert await owner.fetchval(
        "select status::text from service_request where id = $1", ident
    ) == ("ACCEPTED")


async def test_links_must_name_organizations_of_the_source_the_caller_can_see(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    county_editor = editor(hub, COUNTY)
    elsewhere = {
        "type": "organization",
        "externalId": f"team-{k}",
        "regionCode": OTHER_TOWNSHIP_VILLAGE,
        "kind": "VOLUNTEER_TEAM",
        "name": f"志愿服务队{k}",
    }
    made = await ingest(hub, county_editor, jsonl(elsewhere), source=COUNTY_SOURCE)
    assert made["data"]["ingest"]["organizations"]["created"] == 1
    before = await counts(owner)
    body = await ingest(
        hub,
        county_editor,
        jsonl(
            request(f"h-{k}", handledBy=f"team-{k}"),
            {
                "type": "participationEvent",
                "externalId": f"e-{k}",
                "regionCode": VILLAGE,
                "kind": "VOLUNTEER_ACTIVITY",
                "title": "清洁家园",
                "startsAt": "2026-06-01T09:00:00+08:00",
                "organizer": f"nobody-{k}",
            },
        ),
        source=COUNTY_SOURCE,
    )
    assert problems(body) == [
        (1, "handledBy", "must belong to the region handling the request"),
        (2, "organizer", "names no organization of this source that you can see"),
    ]
    assert await counts(owner) == before


@pytest.fixture
async def runtime(database: Database) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(database.runtime_dsn)
    yield conn
    await conn.close()


async def test_the_runtime_role_cannot_use_the_function_outside_its_editor_scope(
    runtime: asyncpg.Connection, owner: asyncpg.Connection
) -> None:
    """Called directly, as the request role, with an editor scope of one township: a record in
    another township of the county source is refused, and nothing is written."""
    before = await counts(owner)
    row = [1, f"direct-{key()}", OTHER_TOWNSHIP_VILLAGE, "OTHER", "WALK_IN", "CLOSED", "越权"]
    row += [None, None, None, "2026-01-01T08:00:00+08:00", None, None, None, None, None]
    async with runtime.transaction():
        await runtime.execute(
            "select set_config('hub.read_scope', $1, true), "
            "set_config('hub.editor_scope', $1, true), set_config('hub.subject', 'intruder', true)",
            "{" + TOWNSHIP_PATH + "}",
        )
        result = await runtime.fetchval(
            "select ingest_batch($1, null, '[]', $2::text::jsonb, '[]')",
            COUNTY_SOURCE,
            json.dumps([row]),
        )
        assert [(e["line"], e["field"], e["reason"]) for e in result["errors"]] == [SOURCE_REFUSED]
        # Around the function it reads only the sources its editor scope covers (issue 20:
        # their last imports), never the county's, and registers none.
        seen = await runtime.fetch("select name, path::text as path from source")
        assert COUNTY_SOURCE not in {r["name"] for r in seen}
        assert all(r["path"].startswith(TOWNSHIP_PATH) for r in seen)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute("insert into source (name, region_code) values ('x', '341126')")
    assert await counts(owner) == before


async def test_imported_requests_carry_their_history_and_the_fields_figures_use(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    token = editor(hub, sub="county-bridge")
    body = await ingest(hub, token, jsonl(request(f"f-{k}", dueAt="2026-03-20T00:00:00+08:00")))
    assert body["data"]["ingest"]["created"] == 1
    ident = await owner.fetchval(
        "select id from service_request where source = $1 and external_id = $2", SOURCE, f"f-{k}"
    )
    query = """query ($id: ID!) { node(id: $id) { ... on ServiceRequest {
        status reference submittedAt firstRespondedAt acceptedAt resolvedAt closedAt dueAt
        satisfaction version region { code }
        history { action fromStatus toStatus actor note } } } }"""
    read = await hub.query(query, {"id": gid("ServiceRequest", ident)}, as_=TOWNSHIP)
    node = read["data"]["node"]
    assert node["status"] == "CLOSED" and node["satisfaction"] == 5 and node["version"] == 1
    assert node["submittedAt"] == "2026-03-02T09:15:00+08:00"
    assert node["firstRespondedAt"] == "2026-03-02T11:00:00+08:00"
    assert node["resolvedAt"] == "2026-03-10T16:30:00+08:00"
    assert node["closedAt"] == "2026-03-15T10:00:00+08:00"
    assert node["dueAt"] == "2026-03-20T00:00:00+08:00"
    assert node["region"] == {"code": VILLAGE}
    assert node["history"] == [
        {
            "action": "imported",
            "fromStatus": None,
            "toStatus": "CLOSED",
            "actor": "county-bridge",
            "note": f"imported from source {SOURCE}",
        }
    ]


async def test_a_large_batch_may_use_sixteen_megabytes_but_only_as_an_ingest(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    padding = "说明" * 2000
    records = [submitted(f"big-{k}-{n}", description=padding) for n in range(200)]
    data = jsonl(*records)
    assert len(json.dumps(data).encode()) > 1_000_000
    body = await ingest(hub, editor(hub), data)
    assert body["data"]["ingest"]["created"] == 200
    viewer = await hub.post(
        INGEST, {"source": SOURCE, "format": "JSONL", "data": data}, token=hub.token(TOWNSHIP)
    )
    assert viewer.status_code == 413
    anonymous = await hub.post(INGEST, {"source": SOURCE, "format": "JSONL", "data": data})
    assert anonymous.status_code == 401
    other = await hub.post(
        "query ($data: String!) { viewer { subject } }", {"data": data}, token=editor(hub)
    )
    assert other.status_code == 413


async def test_the_cli_ingests_a_file_as_the_token_and_refuses_a_bad_one(
    hub: Hub, database: Database, owner: asyncpg.Connection, tmp_path: Path
) -> None:
    k = key()
    code, out, err = await grassroots(
        "source", "register", f"cli-{k}", "--jurisdiction", TOWNSHIP, database=database
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "registered"
    path = tmp_path / f"cli-{k}.jsonl"
    path.write_text(jsonl(submitted(f"one-{k}"), request(f"two-{k}")), encoding="utf-8")
    token = editor(hub, sub="cli-user")
    code, out, err = await grassroots("ingest", str(path), "--token", token, database=database)
    assert code == 0, err
    assert json.loads(out)["serviceRequests"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert (
        await owner.fetchval("select count(*) from service_request where source = $1", f"cli-{k}")
        == 2
    )
    path.write_text(jsonl(submitted(f"three-{k}", status="CLOSED")), encoding="utf-8")
    code, out, err = await grassroots("ingest", str(path), "--token", token, database=database)
    assert code == 1
    error = json.loads(out)["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (1, "acceptedAt", "is required in status CLOSED") in [
        (e["line"], e["field"], e["reason"]) for e in error["extensions"]["errors"]
    ]
    assert (
        await owner.fetchval("select count(*) from service_request where source = $1", f"cli-{k}")
        == 2
    )


async def test_organization_and_event_rules_are_checked_too(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    before = await counts(owner)
    k = key()

    def org(external_id: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": "organization",
            "externalId": external_id,
            "regionCode": VILLAGE,
            "kind": "PARTY_BRANCH",
            "name": f"{external_id}党支部",
            **fields,
        }

    data = jsonl(
        org(f"a-{k}", parent=f"b-{k}"),
        org(f"b-{k}", parent=f"a-{k}"),
        org(f"c-{k}", memberCount=3, partyMemberCount=5),
        org(f"d-{k}", regionCode=TOWNSHIP, parent=f"c-{k}"),
        {
            "type": "participationEvent",
            "externalId": f"e-{k}",
            "regionCode": VILLAGE,
            "kind": "VILLAGERS_ASSEMBLY",
            "title": "村民代表会议",
            "startsAt": "2026-06-01T19:30:00+08:00",
            "participantCount": 12,
            "participantsByGroup": {"VILLAGERS": 10},
        },
        submitted(
            f"r-{k}",
            status="ESCALATED",
            escalatedTo=OTHER_VILLAGE,
            firstRespondedAt="2026-03-02T10:00:00+08:00",
            acceptedAt="2026-03-02T10:00:00+08:00",
        ),
    )
    body = await ingest(hub, editor(hub), data)
    assert problems(body) == [
        (1, "parent", "makes the organizations each other's ancestors"),
        (2, "parent", "makes the organizations each other's ancestors"),
        (3, "partyMemberCount", "cannot exceed memberCount"),
        (4, "parent", "must belong to the same region or one above it"),
        (5, "participantCount", "must equal the sum of participantsByGroup"),
        (6, "escalatedTo", "must be a region above the request's region"),
    ]
    assert await counts(owner) == before


async def test_organizations_and_events_are_updated_in_place_and_audited(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    k = key()
    token = editor(hub)
    org = {
        "type": "organization",
        "externalId": f"o-{k}",
        "regionCode": VILLAGE,
        "kind": "VOLUNTEER_TEAM",
        "name": f"志愿服务队{k}",
        "memberCount": 10,
    }
    event = {
        "type": "participationEvent",
        "externalId": f"e-{k}",
        "regionCode": VILLAGE,
        "kind": "VOLUNTEER_ACTIVITY",
        "title": "清洁家园",
        "startsAt": "2026-06-01T09:00:00+08:00",
        "organizer": f"o-{k}",
        "participantsByGroup": {"VILLAGERS": 8},
    }
    first = await ingest(hub, token, jsonl(org, event))
    assert first["data"]["ingest"]["created"] == 2
    again = await ingest(
        hub, token, jsonl({**org, "memberCount": 12}, {**event, "title": "清洁家园行动"})
    )
    assert again["data"]["ingest"]["organizations"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert again["data"]["ingest"]["participationEvents"] == {
        "created": 0,
        "updated": 1,
        "unchanged": 0,
    }
    same = await ingest(
        hub, token, jsonl({**org, "memberCount": 12}, {**event, "title": "清洁家园行动"})
    )
    assert same["data"]["ingest"]["unchanged"] == 2
    row = await owner.fetchrow(
        "select member_count, version, imported_version from organization "
        "where source = $1 and external_id = $2",
        SOURCE,
        f"o-{k}",
    )
    assert row is not None and tuple(row) == (12, 2, 2)
    entries = await owner.fetch(
        "select record_type, before ->> 'title' as before, after ->> 'title' as after "
        "from audit_log where operation = 'ingest' and record_id = "
        "(select id from participation_event where source = $1 and external_id = $2)",
        SOURCE,
        f"e-{k}",
    )
    assert [tuple(e) for e in entries] == [("ParticipationEvent", "清洁家园", "清洁家园行动")]
