"""One masking rule for every output: the same table of forms through the SQL function,
GraphQL fields, history, the text filter, audit documents, exports and the reporting views."""

from __future__ import annotations

import csv
import io
import json
import uuid

import asyncpg
import pytest

from db import reporting
from db.setup import Database
from resolvers.ids import global_id
from tests.conftest import Hub
from tests.db.conftest import login_dsn

TOWNSHIP = "341126101"
SEP = "；"

# (text, what a caller without `pii` reads)
MASKED = [
    ("13812345678", "138****5678"),
    ("+8613812345678", "+86138****5678"),
    ("+86 138 1234 5678", "+86 138****5678"),
    ("+86-138-1234-5678", "+86-138****5678"),
    ("008613812345678", "0086138****5678"),
    ("(86)13812345678", "(86)138****5678"),
    ("(+86) 138 1234 5678", "(+86) 138****5678"),
    ("138-1234-5678", "138****5678"),
    ("138 1234 5678", "138****5678"),
    ("138.1234.5678", "138****5678"),
    ("１３８１２３４５６７８", "１３８****５６７８"),
    ("＋８６ １３８－１２３４－５６７８", "＋８６ １３８****５６７８"),
    ("电话13812345678", "电话138****5678"),
    ("13812345678张先生", "138****5678张先生"),
    ("联系人13766667777", "联系人137****7777"),
    ("手机：199-8888-6666。", "手机：199****6666。"),
    ("0550-6712345", "0550****2345"),
    ("0550 671 2345", "0550****2345"),
    ("(0550)6712345", "(0550)****2345"),
    ("（0550）6712345", "（0550）****2345"),
    ("05506712345", "0550****2345"),
    ("010-62345678", "010****5678"),
    ("021 6234 5678", "021****5678"),
    ("+86 550 6712345", "+86 550****2345"),
    ("+86-10-62345678", "+86-10****5678"),
    ("座机0550-6712345转", "座机0550****2345转"),
    ("341126199001011234", "341***********1234"),
    ("34112619900101123X", "341***********123X"),
    ("34112619900101123x", "341***********123x"),
    ("341126 19900101 1234", "341***********1234"),
    ("341126-19900101-1234", "341***********1234"),
    ("身份证号341126199001011234。", "身份证号341***********1234。"),
    ("３４１１２６１９９００１０１１２３４", "３４１***********１２３４"),
    ("341126900101123", "341********1123"),
]

KEPT = [
    "残疾人补贴（请回电）",
    "第２号文件",
    "341126101001-2026-000123",
    "341126101001",
    "341126101",
    "100000",
    "2026-03-15",
    "2026-03-15 08:30",
    "2026年3月15日",
    "20260315",
    "金额12345.67元",
    "¥1,380,012.50",
    "共1234567人次",
    "3.1415926",
    "第2026-001号文件",
    "0.75",
    "13:45",
]

CASES = [*MASKED, *((t, t) for t in KEPT)]
TEXT = SEP.join(t for t, _ in CASES)
EXPECTED = [m for _, m in CASES]


def _split(value: str) -> list[str]:
    return value.split(SEP)


def test_the_table_holds_enough_forms() -> None:
    assert len(MASKED) >= 25 and len(KEPT) >= 10


@pytest.mark.parametrize(("text", "masked"), CASES)
async def test_mask_text_masks_each_form_and_keeps_the_rest(
    owner: asyncpg.Connection, text: str, masked: str
) -> None:
    assert await owner.fetchval("select mask_text($1)", text) == masked


@pytest.fixture(scope="module")
async def planted(database: Database) -> dict[str, uuid.UUID]:
    """A township request whose title, description and a history note hold every form, and
    an audit entry whose document holds them."""
    owner = await asyncpg.connect(database.owner_dsn)
    try:
        request = await owner.fetchval(
            "update service_request set description = $2, history = history || "
            "jsonb_build_array(jsonb_build_object('at', now(), 'action', 'start', "
            "'fromStatus', status, 'toStatus', status, 'actor', 'planter', 'note', $2::text)) "
            "where id = (select id from service_request where region_code = $1 "
            "order by submitted_at desc limit 1) returning id",
            TOWNSHIP + "001",
            TEXT,
        )
        entry = await owner.fetchval(
            "insert into audit_log (actor, operation, region_code, record_type, record_id, after)"
            " values ('planter', 'update', $1, 'ServiceRequest', $2, $3::jsonb) returning id",
            TOWNSHIP,
            request,
            json.dumps({"description": TEXT, "title": TEXT}),
        )
    finally:
        await owner.close()
    return {"request": request, "entry": entry}


REQUEST = """query ($id: ID!) { node(id: $id) { ... on ServiceRequest {
  description history { note } } } }"""


async def test_graphql_fields_and_history_are_masked(
    hub: Hub, planted: dict[str, uuid.UUID]
) -> None:
    body = await hub.query(
        REQUEST, {"id": global_id("ServiceRequest", planted["request"])}, as_=TOWNSHIP
    )
    node = body["data"]["node"]
    assert _split(node["description"]) == EXPECTED
    assert _split(node["history"][-1]["note"]) == EXPECTED


async def test_pii_reads_every_form_in_clear(hub: Hub, planted: dict[str, uuid.UUID]) -> None:
    body = await hub.query(
        REQUEST,
        {"id": global_id("ServiceRequest", planted["request"])},
        as_=TOWNSHIP,
        roles=("viewer", "pii"),
    )
    assert body["data"]["node"]["description"] == TEXT


FILTER = """query ($text: String!) { serviceRequests(under: "341126101", filter: {text: $text},
  first: 5) { totalCount edges { node { id } } } }"""


@pytest.mark.parametrize(
    "fragment", ["1234-5678", "1234 5678", "6712345", "19900101", "13812345678", "９００１０１"]
)
async def test_text_filters_without_pii_match_only_masked_text(
    hub: Hub, planted: dict[str, uuid.UUID], fragment: str
) -> None:
    blind = await hub.query(FILTER, {"text": fragment}, as_=TOWNSHIP)
    assert blind["data"]["serviceRequests"]["totalCount"] == 0


async def test_text_filters_with_pii_match_the_clear_text(
    hub: Hub, planted: dict[str, uuid.UUID]
) -> None:
    seen = await hub.query(FILTER, {"text": "1234-5678"}, as_=TOWNSHIP, roles=("viewer", "pii"))
    ids = [e["node"]["id"] for e in seen["data"]["serviceRequests"]["edges"]]
    assert global_id("ServiceRequest", planted["request"]) in ids


AUDIT = """query { auditLog(first: 20) { edges { node { actor after } } } }"""


async def test_audit_documents_are_masked(hub: Hub, planted: dict[str, uuid.UUID]) -> None:
    body = await hub.query(AUDIT, as_=TOWNSHIP, roles=("viewer", "auditor"))
    after = next(
        e["node"]["after"]
        for e in body["data"]["auditLog"]["edges"]
        if e["node"]["actor"] == "planter"
    )
    document = after if isinstance(after, dict) else json.loads(after)
    assert _split(document["description"]) == EXPECTED
    assert _split(document["title"]) == EXPECTED


async def test_exports_are_masked(hub: Hub, planted: dict[str, uuid.UUID]) -> None:
    token = hub.token(TOWNSHIP)
    response = await hub.client.get(
        "/exports/service-requests.csv",
        params={"under": TOWNSHIP + "001", "lang": "en"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content[3:].decode("utf-8"))))
    row = next(r for r in rows if r["id"] == global_id("ServiceRequest", planted["request"]))
    assert _split(row["description"]) == EXPECTED


async def test_reporting_views_are_masked(
    owner: asyncpg.Connection, database: Database, planted: dict[str, uuid.UUID]
) -> None:
    role = f"bi_{uuid.uuid4().hex[:10]}"
    password = reporting.new_password()
    await reporting.grant(owner, role, [TOWNSHIP], password)
    try:
        conn = await asyncpg.connect(login_dsn(database, role, password))
        try:
            seen = await conn.fetchval(
                "select description from reporting.service_requests where id = $1",
                planted["request"],
            )
        finally:
            await conn.close()
    finally:
        await reporting.revoke(owner, role)
    assert _split(seen) == EXPECTED
