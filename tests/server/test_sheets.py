"""Exports an office can file: Chinese headers, a title block, date and percent cells, 是/否,
a frozen header, a sheet defining the columns from the schema, `—` for no data; CSV as data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import openpyxl
import pytest

from resolvers.exports import ORGANIZATIONS, PARTICIPATION_EVENTS, SERVICE_REQUESTS
from server import exports
from server.export_figures import HEADER as BREAKDOWN_HEADER
from server.sheet_columns import (
    BREAKDOWN_COLUMNS,
    COLUMNS,
    ORGANIZATION_COLUMNS,
    SERVICE_REQUEST_COLUMNS,
    column_map,
    mark_no_data,
)
from server.spreadsheets import display_width
from tests.conftest import Hub

COUNTY = "341126"
TOWNSHIP = "341126101"
README = Path(__file__).resolve().parents[2] / "README.md"
FIELDS = """query ($name: String!) { __type(name: $name) { fields { name description } } }"""
CST = dt.timezone(dt.timedelta(hours=8))


async def _get(hub: Hub, path: str, token: str, **params: str) -> httpx.Response:
    response = await hub.client.get(
        path, params=params, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response


def _book(response: httpx.Response) -> Any:
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _rows(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content[3:].decode("utf-8"))))


async def _description(hub: Hub, type_name: str, field: str) -> str:
    body = (await hub.post(FIELDS, {"name": type_name}, token=hub.token(COUNTY))).json()
    found = {f["name"]: f["description"] for f in body["data"]["__type"]["fields"]}
    return " ".join(found[field].split())


def test_every_column_has_a_chinese_header_and_the_exports_keys_in_order() -> None:
    headers = {
        "service-requests": SERVICE_REQUESTS.header,
        "organizations": ORGANIZATIONS.header,
        "participation-events": PARTICIPATION_EVENTS.header,
        "breakdown": BREAKDOWN_HEADER,
    }
    for name, columns in COLUMNS.items():
        assert tuple(c.key for c in columns) == headers[name]
        labels = [c.label for c in columns]
        assert len(set(labels)) == len(labels), f"{name}: headers are unique"
        assert all(re.search(r"[\u4e00-\u9fff]", label) for label in labels)


def test_the_readme_maps_every_old_column_to_its_chinese_header() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- column-map:start -->")[1].split("<!-- column-map:end -->")[0]
    assert block.strip() == column_map().strip(), "run: python -m server.sheet_columns"


async def test_xlsx_has_a_title_block_chinese_header_frozen_and_typed_cells(hub: Hub) -> None:
    token = hub.token(COUNTY, sub="clerk-zhang")
    params = {"under": TOWNSHIP, "submittedFrom": "2026-01-01"}
    book = _book(await _get(hub, "/exports/service-requests.xlsx", token, **params))
    assert book.sheetnames == ["服务诉求清单", "指标说明"]
    sheet = book["服务诉求清单"]
    title = [sheet.cell(row, 1).value for row in range(1, 7)]
    assert title[0] == "服务诉求清单"
    assert re.fullmatch(r"区划:安徽省 滁州市 凤阳县 \S+", title[1]), title[1]
    assert title[2] == "期间:2026-01-01 起"
    assert re.fullmatch(r"生成时间:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\(北京时间\)", title[3])
    assert title[4] == "导出人:clerk-zhang" and title[5] is None
    header = [c.value for c in sheet[7]]
    assert header == [c.label for c in SERVICE_REQUEST_COLUMNS]
    assert sheet.freeze_panes == "A8"
    english = _rows(await _get(hub, "/exports/service-requests.csv", token, lang="en", **params))
    assert sheet.max_row - 7 == len(english) - 1 > 0
    at = {key: i for i, key in enumerate(english[0])}
    for row, text in zip(sheet.iter_rows(min_row=8), english[1:], strict=True):
        submitted = row[at["submitted_at"]]
        assert isinstance(submitted.value, dt.datetime)
        assert submitted.number_format == "yyyy-mm-dd hh:mm:ss"
        expected = dt.datetime.fromisoformat(text[at["submitted_at"]]).astimezone(CST)
        assert submitted.value == expected.replace(tzinfo=None)
        assert row[at["overdue"]].value == {"True": "是", "False": "否"}[text[at["overdue"]]]
        assert row[at["version"]].value == int(text[at["version"]])
    widths = {
        c.label: sheet.column_dimensions[cell.column_letter].width
        for c, cell in zip(SERVICE_REQUEST_COLUMNS, sheet[7], strict=True)
    }
    assert widths["诉求编号"] >= display_width("341126101001-2026-000123")
    assert widths["乡级区划名称"] >= display_width("乡级区划名称")
    assert widths["提交时间"] >= 19


async def test_the_definitions_sheet_defines_each_column_from_the_schema(hub: Hub) -> None:
    token = hub.token(COUNTY)
    book = _book(await _get(hub, "/exports/organizations.xlsx", token, under=TOWNSHIP))
    sheet = book["指标说明"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["列名", "英文列名", "说明"]
    defined = {row[1]: row for row in rows[1:]}
    assert list(defined) == [c.key for c in ORGANIZATION_COLUMNS]
    party = defined["party_member_count"]
    assert party[0] == "党员数"
    assert party[2].startswith(await _description(hub, "Organization", "partyMemberCount"))
    founded = book["基层组织清单"]
    dates = [
        row[[c.key for c in ORGANIZATION_COLUMNS].index("founded_on")]
        for row in founded.iter_rows(min_row=8)
    ]
    assert any(d.value for d in dates)
    for cell in dates:
        if cell.value is not None:
            assert isinstance(cell.value, dt.datetime) and cell.value.time() == dt.time()
            assert cell.number_format == "yyyy-mm-dd"


async def test_breakdown_xlsx_shows_rates_as_percentages_of_fractions(hub: Hub) -> None:
    token = hub.token(COUNTY)
    period = {"from": "2026-01-01", "to": "2026-06-30"}
    book = _book(await _get(hub, "/exports/breakdown.xlsx", token, by="CHILD", **period))
    sheet = book["分组统计(按下级区划)"]
    title = [sheet.cell(row, 1).value for row in range(1, 9)]
    assert title[1] == "区划:安徽省 滁州市 凤阳县"
    assert title[2] == "期间:2026-01-01 至 2026-06-30"
    assert title[5].startswith("图例:— 表示无数据") and title[6] is None
    assert sheet.freeze_panes == "A9"
    keys = [c.key for c in BREAKDOWN_COLUMNS]
    rates = [
        row[keys.index(key)]
        for row in sheet.iter_rows(min_row=9)
        for key in ("response_rate", "resolution_rate", "satisfaction_rate")
    ]
    assert rates and any(c.value is not None for c in rates)
    for cell in rates:
        if cell.value is not None:
            assert 0 <= cell.value <= 1 and cell.number_format == "0.0%"
    hours = [row[keys.index("average_hours_to_resolve")] for row in sheet.iter_rows(min_row=9)]
    assert all(c.number_format == "0.0" for c in hours if c.value is not None)
    assert book["指标说明"]["A2"].value == "键"


async def test_csv_is_a_header_row_then_data_rows(hub: Hub) -> None:
    token = hub.token(COUNTY)
    rows = _rows(
        await _get(
            hub,
            "/exports/breakdown.csv",
            token,
            by="MONTH",
            **{"from": "2026-01-01", "to": "2026-06-30"},
        )
    )
    assert rows[0] == [c.label for c in BREAKDOWN_COLUMNS]
    kinds = [c.kind for c in BREAKDOWN_COLUMNS]
    assert len(rows) == 6 + 2
    for row in rows[1:]:
        assert len(row) == len(rows[0])
        for kind, text in zip(kinds, row, strict=True):
            if text == "":
                continue
            if kind == "number":
                int(text)
            elif kind == "rate":
                assert 0 <= float(text) <= 1
            elif kind == "date":
                dt.date.fromisoformat(text)
    requests = _rows(await _get(hub, "/exports/service-requests.csv", token, under=TOWNSHIP))
    at = {label: i for i, label in enumerate(requests[0])}
    assert {r[at["是否逾期"]] for r in requests[1:]} <= {"是", "否"}
    assert all(r[at["提交时间"]].endswith("+08:00") for r in requests[1:])


async def test_lang_en_gives_the_english_headers_and_booleans(hub: Hub) -> None:
    token = hub.token(COUNTY)
    rows = _rows(await _get(hub, "/exports/service-requests.csv", token, under=TOWNSHIP, lang="en"))
    assert tuple(rows[0]) == SERVICE_REQUESTS.header
    assert {r[rows[0].index("overdue")] for r in rows[1:]} <= {"True", "False"}
    refused = await hub.client.get(
        "/exports/organizations.csv",
        params={"lang": "fr"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["reason"] == "UNKNOWN_VALUE"


def test_no_data_notes_become_dashes_in_their_figures_columns() -> None:
    keys = [c.key for c in BREAKDOWN_COLUMNS]
    row: list[Any] = [0] * len(keys)
    notes = [
        ("serviceRequests.total", "NO_DATA"),
        ("serviceRequests.byCategory.HEALTH", "NO_DATA"),
        ("participation.byKind.HEARING", "NO_DATA"),
        ("organizations", "NO_DATA"),
        ("participation.events", "WITHHELD"),
        ("serviceRequests.byCategory.NOPE", "NO_DATA"),
    ]
    marked = mark_no_data(row, notes)
    dashed = {keys[i] for i, v in enumerate(marked) if v == "—"}
    assert dashed == {
        "service_requests",
        "service_requests_HEALTH",
        "participation_events_HEARING",
        "organizations",
    }


async def test_a_breakdown_with_notes_writes_dashes_and_its_legend(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook that reads `RegionStats.notes` (issue 20), fed notes of the contract's shape."""
    monkeypatch.setattr(
        exports,
        "_notes",
        lambda figures, key: [("serviceRequests.byCategory.LEGAL_AID", "NO_DATA")],
    )
    token = hub.token(COUNTY)
    rows = _rows(await _get(hub, "/exports/breakdown.csv", token, by="CHILD"))
    column = rows[0].index("诉求数:法律援助")
    assert {row[column] for row in rows[1:]} == {"—"}
    book = _book(await _get(hub, "/exports/breakdown.xlsx", token, by="CHILD"))
    sheet = book.worksheets[0]
    assert sheet.cell(9, column + 1).value == "—"
    legend = [r for r in book["指标说明"].iter_rows(values_only=True) if r[0] == "—"]
    assert legend and "无数据" in legend[0][2]


def test_notes_are_read_from_the_figures_by_row_key_and_the_total_under_empty() -> None:
    """Issue 20's shape: `Figures.notes` maps a row's key (the total: "") to its notes."""
    note = SimpleNamespace(path="participation.events", kind="NO_DATA")
    figures = cast(Any, SimpleNamespace(notes={"341126101": [note], "": [note]}))
    assert exports._notes(figures, "341126101") == [("participation.events", "NO_DATA")]
    assert exports._notes(figures, "TOTAL") == [("participation.events", "NO_DATA")]
    assert exports._notes(figures, "341126102") == []
    assert exports._notes(cast(Any, SimpleNamespace()), "341126101") == []
