"""GET /exports/…: files a spreadsheet opens, with the lists' filters, scope and masking."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import asyncpg
import httpx
import openpyxl
import pytest

from resolvers import exports
from resolvers.ids import global_id
from resolvers.labels import SERVICE_CATEGORY, SERVICE_STATUS
from server import spreadsheets
from tests.conftest import Hub

TOWNSHIP = "341126101"
OTHER_TOWNSHIP = "341126102"
FOREIGN = "341125"

COUNT = """query ($under: String, $filter: ServiceRequestFilter) {
  serviceRequests(under: $under, filter: $filter) { totalCount } }"""
SUBMIT = """mutation ($input: SubmitServiceRequestInput!) {
  submitServiceRequest(input: $input) { id reference } }"""
BREAKDOWN = """query ($code: String!, $by: Breakdown!) { region(code: $code) {
  stats { serviceRequests { total open } participation { events } organizations }
  breakdown(by: $by) { key label own stats {
    organizations partyMembers organizationsByKind { key count }
    serviceRequests { total open resolved overdue responseRate resolutionRate
      satisfactionRate averageHoursToResolve byStatus { key count } byCategory { key count } }
    participation { events participants resolutionsAdopted resolutionsImplemented } } } } }"""


async def _get(hub: Hub, path: str, token: str | None, **params: str) -> httpx.Response:
    """The export with English headers, as before issue 19 (tests/server/test_sheets.py
    checks the Chinese ones)."""
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return await hub.client.get(path, params={"lang": "en", **params}, headers=headers)


def _table(sheet: Any) -> list[list[Any]]:
    """A sheet's header and data rows: on the first sheet, below the title block."""
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return values[next(i for i, row in enumerate(values) if row and row[0] in ("id", "key")) :]


async def _csv(hub: Hub, path: str, token: str, **params: str) -> list[dict[str, str]]:
    response = await _get(hub, path, token, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf"), "a UTF-8 byte order mark comes first"
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8"))))


async def _total(hub: Hub, token: str, under: str, filter: dict[str, Any] | None = None) -> int:
    body = (await hub.post(COUNT, {"under": under, "filter": filter}, token=token)).json()
    return int(body["data"]["serviceRequests"]["totalCount"])


async def test_csv_has_every_row_with_region_levels_and_chinese_labels(hub: Hub) -> None:
    token = hub.token("341126")
    rows = await _csv(hub, "/exports/service-requests.csv", token, under=TOWNSHIP)
    assert len(rows) == await _total(hub, token, TOWNSHIP) > 0
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert (row["nation_code"], row["nation_name"]) == ("100000", "中华人民共和国")
        assert (row["county_code"], row["county_name"]) == ("341126", "凤阳县")
        assert row["township_code"] == TOWNSHIP and row["township_name"]
        assert row["status_label"] == SERVICE_STATUS[row["status"]]
        assert row["category_label"] == SERVICE_CATEGORY[row["category"]]
        assert row["submitted_at"].endswith("+08:00")
    villages = [r for r in rows if r["village_code"]]
    assert villages and all(r["village_code"].startswith(TOWNSHIP) for r in villages)
    assert all(r["village_name"] for r in villages)
    newest_first = [r["submitted_at"] for r in rows]
    assert newest_first == sorted(newest_first, reverse=True)


async def test_small_chunks_give_the_same_rows_as_one_chunk(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = hub.token("341126")
    whole = await _csv(hub, "/exports/service-requests.csv", token, under=TOWNSHIP)
    monkeypatch.setattr(exports, "CHUNK_ROWS", 7)
    chunked = await _csv(hub, "/exports/service-requests.csv", token, under=TOWNSHIP)
    assert [r["id"] for r in chunked] == [r["id"] for r in whole]


async def test_filters_and_order_are_the_lists(hub: Hub) -> None:
    token = hub.token("341126")
    rows = await _csv(
        hub,
        "/exports/service-requests.csv",
        token,
        under=TOWNSHIP,
        statuses="CLOSED,RESOLVED",
        categories="HEALTH",
        submittedFrom="2026-01-01",
        orderBy="SUBMITTED_AT_ASC",
    )
    expected = await _total(
        hub,
        token,
        TOWNSHIP,
        {
            "statuses": ["CLOSED", "RESOLVED"],
            "categories": ["HEALTH"],
            "submittedFrom": "2026-01-01",
        },
    )
    assert len(rows) == expected > 0
    assert {r["status"] for r in rows} <= {"CLOSED", "RESOLVED"}
    assert {r["category"] for r in rows} == {"HEALTH"}
    times = [r["submitted_at"] for r in rows]
    assert times == sorted(times) and times[0] >= "2026-01-01"


async def test_personal_data_is_masked_without_pii(hub: Hub, owner: asyncpg.Connection) -> None:
    token = hub.token("341126", sub="export-masked")
    rows = await _csv(hub, "/exports/service-requests.csv", token, under=TOWNSHIP)
    phones = [r["requester_phone"] for r in rows if r["requester_phone"]]
    names = [r["requester_name"] for r in rows if r["requester_name"]]
    assert phones and all("****" in p for p in phones)
    assert names and all(n.endswith("*") for n in names)
    reads = await owner.fetchval(
        "select count(*) from audit_log where actor = $1 and operation = 'read_personal_data'",
        "export-masked",
    )
    assert reads == 0


async def test_pii_reads_unmasked_and_audits_each_record(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = hub.token(TOWNSHIP, roles=("viewer", "pii"), sub="export-pii")
    rows = await _csv(hub, "/exports/service-requests.csv", token)
    phones = [r["requester_phone"] for r in rows if r["requester_phone"]]
    assert phones and not any("****" in p for p in phones)
    entries = await owner.fetch(
        "select region_code, record_type, record_ids from audit_log "
        "where actor = $1 and operation = 'read_personal_data'",
        "export-pii",
    )
    # At the grant, and at each village that held rows (resolvers.audit.place).
    assert {e["record_type"] for e in entries} == {"ServiceRequest"}
    assert all(e["region_code"].startswith(TOWNSHIP) for e in entries)
    at_grant = {
        global_id("ServiceRequest", i)
        for e in entries
        if e["region_code"] == TOWNSHIP
        for i in e["record_ids"]
    }
    in_villages = {
        global_id("ServiceRequest", i)
        for e in entries
        if e["region_code"] != TOWNSHIP
        for i in e["record_ids"]
    }
    assert at_grant == {r["id"] for r in rows}
    assert in_villages and in_villages <= at_grant


async def _submit_formula(hub: Hub) -> str:
    editor = hub.token("341126", roles=("viewer", "editor"))
    body = (
        await hub.post(
            SUBMIT,
            {
                "input": {
                    "regionCode": "341126101001",
                    "category": "OTHER",
                    "channel": "ONLINE",
                    "title": "=1+1",
                    "description": "@SUM(A1:A9)",
                    "requesterName": "-张三",
                }
            },
            token=editor,
        )
    ).json()
    reference: str = body["data"]["submitServiceRequest"]["reference"]
    return reference


async def test_formula_cells_are_neutralised_in_csv(hub: Hub) -> None:
    reference = await _submit_formula(hub)
    token = hub.token("341126", roles=("viewer", "pii"))
    rows = await _csv(hub, "/exports/service-requests.csv", token, under="341126101001")
    row = next(r for r in rows if r["reference"] == reference)
    assert row["title"] == "'=1+1"
    assert row["description"] == "'@SUM(A1:A9)"
    assert row["requester_name"] == "'-张三"


async def test_xlsx_is_a_workbook_with_typed_cells_and_neutralised_formulas(hub: Hub) -> None:
    reference = await _submit_formula(hub)
    token = hub.token("341126", roles=("viewer", "pii"))
    csv_rows = await _csv(hub, "/exports/service-requests.csv", token, under="341126101001")
    response = await _get(hub, "/exports/service-requests.xlsx", token, under="341126101001")
    assert response.status_code == 200
    assert "spreadsheetml" in response.headers["content-type"]
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert [s.title for s in book.worksheets] == ["service-requests", "definitions"]
    values = _table(book.worksheets[0])
    header, rows = values[0], values[1:]
    assert header == list(exports.SERVICE_REQUESTS.header)
    assert len(rows) == len(csv_rows)
    found = dict(zip(header, next(r for r in rows if reference in r), strict=True))
    assert found["title"] == "'=1+1"
    assert found["description"] == "'@SUM(A1:A9)"
    assert found["status_label"] == "已提交"
    assert found["county_name"] == "凤阳县"
    assert found["version"] == 1 and found["overdue"] is False
    cells = [c for row in book.worksheets[0].iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells), "no cell is a formula"


async def test_a_full_sheet_continues_on_a_new_one(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = hub.token("341126")
    expected = await _csv(hub, "/exports/organizations.csv", token, under=TOWNSHIP)
    # The first sheet holds the title block (6 rows), the header and 5 rows; the next ones
    # the header and 11 rows.
    monkeypatch.setattr(spreadsheets, "SHEET_ROWS", 12)
    response = await _get(hub, "/exports/organizations.xlsx", token, under=TOWNSHIP)
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.worksheets[-1].title == "definitions"
    whole = [[list(r) for r in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]
    assert all(len(rows) <= 12 for rows in whole[:-1])
    sheets = [_table(sheet) for sheet in book.worksheets[:-1]]
    assert len(sheets) == 1 + -(-(len(expected) - 5) // 11) > 1
    assert all(s[0] == list(exports.ORGANIZATIONS.header) for s in sheets)
    ids = [row[0] for s in sheets for row in s[1:]]
    assert ids == [r["id"] for r in expected]


async def test_handlers_above_the_caller_are_left_out(hub: Hub) -> None:
    county = await _csv(hub, "/exports/service-requests.csv", hub.token("341126"), under=TOWNSHIP)
    token = hub.token(TOWNSHIP)
    township = await _csv(hub, "/exports/service-requests.csv", token)
    visible = {o["id"] for o in await _csv(hub, "/exports/organizations.csv", token)}
    above = {r["handled_by_id"] for r in county if r["handled_by_id"]} - visible
    assert above, "the demo has requests handled above the township"
    handlers = {r["handled_by_id"] for r in township if r["handled_by_id"]}
    assert handlers and handlers <= visible
    escalated = [r for r in township if r["escalated_to_code"]]
    assert all(r["escalated_to_name"] for r in escalated)


async def test_breakdown_xlsx_holds_the_csv_figures_as_numbers(hub: Hub) -> None:
    token = hub.token("341126")
    rows = await _csv(hub, "/exports/breakdown.csv", token, by="CHILD")
    response = await _get(hub, "/exports/breakdown.xlsx", token, by="CHILD")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    values = _table(book.worksheets[0])
    assert len(values) == len(rows) + 1
    for row, cells in zip(rows, values[1:], strict=True):
        found = dict(zip(values[0], cells, strict=True))
        assert found["key"] == row["key"]
        assert (found["township_name"] or "") == row["township_name"]
        assert found["service_requests"] == int(row["service_requests"])
        assert isinstance(found["organizations"], int)


async def test_organizations_and_events_export_their_columns(hub: Hub) -> None:
    token = hub.token("341126")
    orgs = await _csv(
        hub, "/exports/organizations.csv", token, under=TOWNSHIP, kinds="PARTY_BRANCH"
    )
    assert orgs and {(o["kind"], o["kind_label"]) for o in orgs} == {("PARTY_BRANCH", "党支部")}
    events = await _csv(hub, "/exports/participation-events.csv", token, under=TOWNSHIP)
    assert events and all(e["kind_label"] and e["starts_at"].endswith("+08:00") for e in events)
    assert all(int(e["participant_count"]) >= 0 for e in events)


async def test_a_foreign_region_exports_a_header_and_no_rows(hub: Hub) -> None:
    token = hub.token("341126")
    for name in ("service-requests", "organizations", "participation-events", "breakdown"):
        params = {"under": FOREIGN} | ({"by": "CHILD"} if name == "breakdown" else {})
        response = await _get(hub, f"/exports/{name}.csv", token, **params)
        assert response.status_code == 200
        lines = response.content[3:].decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith(("id,", "key,"))


async def test_a_township_caller_exports_its_township_only(hub: Hub) -> None:
    token = hub.token(TOWNSHIP)
    for under in ({}, {"under": "341126"}):
        rows = await _csv(hub, "/exports/service-requests.csv", token, **under)
        assert rows and {r["township_code"] for r in rows} == {TOWNSHIP}
    assert await _csv(hub, "/exports/organizations.csv", token, under=OTHER_TOWNSHIP) == []


async def test_two_jurisdictions_export_both_in_one_order(hub: Hub) -> None:
    both = await _csv(hub, "/exports/service-requests.csv", hub.token(TOWNSHIP, OTHER_TOWNSHIP))
    each = [
        await _csv(hub, "/exports/service-requests.csv", hub.token(code))
        for code in (TOWNSHIP, OTHER_TOWNSHIP)
    ]
    assert sorted(r["id"] for r in both) == sorted(r["id"] for rows in each for r in rows)
    times = [r["submitted_at"] for r in both]
    assert times == sorted(times, reverse=True)


async def test_refusals_come_as_errors_before_any_file(hub: Hub) -> None:
    token = hub.token("341126")
    path = "/exports/service-requests.csv"
    unauthenticated = await _get(hub, path, None)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await _get(hub, path, "not-a-token")).status_code == 401
    for params in (
        {"statuses": "SUBMITTED,NOPE"},
        {"submittedFrom": "2026-13-01"},
        {"overdue": "yes"},
        {"orderBy": "TITLE"},
        {"under": "34112"},
        {"colour": "red"},
        {"text": "a\x00b"},
    ):
        response = await _get(hub, path, token, **params)
        assert response.status_code == 400, params
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["message"]
    bad_by = await _get(hub, "/exports/breakdown.csv", token, by="WEEK")
    assert bad_by.status_code == 400
    reversed_days = await _get(
        hub,
        "/exports/breakdown.csv",
        token,
        by="MONTH",
        **{"from": "2026-02-01", "to": "2026-01-01"},
    )
    assert reversed_days.status_code == 400
    breadcrumb = await _get(
        hub, "/exports/breakdown.csv", hub.token(TOWNSHIP), under="341126", by="CHILD"
    )
    assert breadcrumb.status_code == 403
    assert breadcrumb.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await _get(hub, "/exports/people.csv", token)).status_code == 404
    assert (await _get(hub, "/exports/organizations.pdf", token)).status_code == 404


async def test_every_export_is_audited_with_its_parameters_and_rows(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = hub.token("341126", sub="export-audit")
    rows = await _csv(
        hub, "/exports/organizations.csv", token, under=TOWNSHIP, kinds="PARTY_BRANCH"
    )
    await _get(hub, "/exports/breakdown.xlsx", token, by="SERVICE_CATEGORY")
    entries = await owner.fetch(
        "select region_code, record_type, after from audit_log "
        "where actor = $1 and operation = 'export' order by at",
        "export-audit",
    )
    found = [(e["region_code"], e["record_type"], json.loads(e["after"])) for e in entries]
    # A county caller's export of one township: an entry at the county (the grant) and one
    # at the township whose rows it held, each with its count.
    exported = {code: after for code, kind, after in found if kind == "Organization"}
    assert set(exported) == {"341126", TOWNSHIP}
    for after in exported.values():
        assert after["parameters"] == {"lang": "en", "under": TOWNSHIP, "kinds": "PARTY_BRANCH"}
        assert (after["rows"], after["format"]) == (len(rows), "csv")
        assert after["complete"] is True
    breakdown = [(code, after) for code, kind, after in found if kind == "Breakdown"]
    assert [code for code, _ in breakdown] == ["341126"]
    assert breakdown[0][1]["rows"] == len(SERVICE_CATEGORY) + 1


async def test_head_checks_the_request_and_exports_nothing(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = hub.token("341126", sub="export-head")
    headers = {"authorization": f"Bearer {token}"}
    response = await hub.client.head("/exports/service-requests.csv", headers=headers)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"].startswith("text/csv")
    refused = await hub.client.head("/exports/service-requests.csv?overdue=maybe", headers=headers)
    assert refused.status_code == 400
    entries = await owner.fetchval("select count(*) from audit_log where actor = 'export-head'")
    assert entries == 0


def _number(text: str) -> float | None:
    return float(text) if text else None


@pytest.mark.parametrize("by", ["CHILD", "QUARTER", "SERVICE_CATEGORY", "ORGANIZATION_KIND"])
async def test_breakdown_rows_are_the_graphql_figures(hub: Hub, by: str) -> None:
    token = hub.token("341126")
    rows = await _csv(hub, "/exports/breakdown.csv", token, by=by)
    body = (await hub.post(BREAKDOWN, {"code": "341126", "by": by}, token=token)).json()
    region = body["data"]["region"]
    graphql = region["breakdown"]
    assert [r["key"] for r in rows] == [g["key"] for g in graphql] + ["TOTAL"]
    for row, want in zip(rows, graphql, strict=False):
        assert row["label"] == want["label"]
        stats = want["stats"]
        if stats["organizations"] is not None:
            assert int(row["organizations"]) == stats["organizations"]
            assert int(row["party_members"]) == stats["partyMembers"]
            for kind in stats["organizationsByKind"]:
                assert int(row[f"organizations_{kind['key']}"]) == kind["count"]
        else:
            assert row["organizations"] == ""
        services = stats["serviceRequests"]
        if services is not None:
            assert int(row["service_requests"]) == services["total"]
            assert int(row["service_requests_open"]) == services["open"]
            assert int(row["service_requests_overdue"]) == services["overdue"]
            for field in ("responseRate", "resolutionRate", "satisfactionRate"):
                column = {
                    "responseRate": "response_rate",
                    "resolutionRate": "resolution_rate",
                    "satisfactionRate": "satisfaction_rate",
                }[field]
                assert _number(row[column]) == pytest.approx(services[field])
            for status in services["byStatus"]:
                assert int(row[f"service_requests_{status['key']}"]) == status["count"]
        if by == "CHILD" and want["own"]:  # the own row: the county's own records
            assert row["county_code"] == row["key"] == "341126" and row["township_code"] == ""
            assert row["label"] == "本级"
        elif by == "CHILD":
            assert row["township_code"] == row["key"] and row["township_name"] == row["label"]
    total = rows[-1]
    assert total["label"] == "合计" and total["county_code"] == "341126"
    whole = region["stats"]
    if by != "ORGANIZATION_KIND":
        assert int(total["service_requests"]) == whole["serviceRequests"]["total"]
        added = sum(int(r["service_requests"]) for r in rows[:-1])
        assert added == whole["serviceRequests"]["total"]  # the own row included
    if by in ("CHILD", "ORGANIZATION_KIND"):
        assert int(total["organizations"]) == whole["organizations"]
