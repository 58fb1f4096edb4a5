"""GET /reports/NAME.vN.{json,csv,xlsx}: named reports as files, variables in the URL."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import asyncpg
import httpx
import openpyxl
import pytest
from starlette.datastructures import QueryParams

from db.setup import Database
from resolvers.errors import HubError
from resolvers.scope import Caller, Grant
from server.app import create_app
from server.report_files import check_report_file
from server.settings import Settings
from tests.conftest import Hub

COUNTY = "341126"
TOWNSHIP = "341126101"
PERIOD = {"region": COUNTY, "from": "2026-01-01", "to": "2026-03-31"}
REPORTS = [
    ("monthly-rates-by-child", 1),
    ("monthly-rates-by-child", 2),
    ("region-monthly-figures", 1),
]


async def _get(hub: Hub, path: str, token: str | None, **params: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return await hub.client.get(path, params=params, headers=headers)


async def _listing(hub: Hub) -> dict[tuple[str, int], dict[str, Any]]:
    body = (await _get(hub, "/reports", hub.token(COUNTY))).json()
    return {(r["name"], r["version"]): r for r in body["reports"]}


@pytest.mark.parametrize(("name", "version"), REPORTS)
async def test_each_report_downloads_as_json_csv_and_xlsx(
    hub: Hub, name: str, version: int
) -> None:
    token = hub.token(COUNTY, sub="power-query")
    declared = (await _listing(hub))[(name, version)]["table"]
    labels = [c["label"] for c in declared["columns"]]

    answer = await _get(hub, f"/reports/{name}.v{version}.json", token, **PERIOD)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-store"
    posted = await hub.client.post(
        "/graphql",
        json={"extensions": {"report": {"name": name, "version": version}}, "variables": PERIOD},
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.json() == posted.json() and "errors" not in answer.json()
    rows = answer.json()["data"]["region"]["breakdown"]
    assert rows

    sheet = await _get(hub, f"/reports/{name}.v{version}.csv", token, **PERIOD)
    assert sheet.status_code == 200 and sheet.headers["cache-control"] == "private, no-store"
    table = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert table[0] == labels
    assert [r[0] for r in table[1:]] == [r["key"] for r in rows]
    total = labels.index("诉求总数")
    assert [int(r[total]) for r in table[1:]] == [
        r["stats"]["serviceRequests"]["total"] for r in rows
    ]

    book = openpyxl.load_workbook(
        io.BytesIO((await _get(hub, f"/reports/{name}.v{version}.xlsx", token, **PERIOD)).content)
    )
    assert book.sheetnames == [name, "指标说明"]
    first = book.worksheets[0]
    assert first["A2"].value == "区划:安徽省 滁州市 凤阳县"
    assert first["A3"].value == "期间:2026-01-01 至 2026-03-31"
    assert first["A5"].value == "导出人:power-query"
    assert [c.value for c in first[7]] == labels and first.freeze_panes == "A8"
    rate = labels.index("办结率")
    shown = [row[rate] for row in first.iter_rows(min_row=8)]
    assert len(shown) == len(rows)
    assert all(c.number_format == "0.0%" for c in shown if c.value is not None)
    defined = [list(r) for r in book["指标说明"].iter_rows(values_only=True)][1:]
    assert [d[0] for d in defined] == labels
    assert all(d[2] for d in defined)


async def test_without_a_version_the_latest_runs(hub: Hub) -> None:
    token = hub.token(COUNTY)
    listed = (await _listing(hub)).items()
    (newest,) = [v for (name, v), r in listed if name == "monthly-rates-by-child" and r["latest"]]
    latest = await _get(hub, "/reports/monthly-rates-by-child.csv", token, **PERIOD)
    pinned = await _get(hub, f"/reports/monthly-rates-by-child.v{newest}.csv", token, **PERIOD)
    assert latest.status_code == 200
    assert latest.content.splitlines()[0] == pinned.content.splitlines()[0]
    english = await _get(hub, "/reports/monthly-rates-by-child.v1.csv", token, lang="en", **PERIOD)
    header = english.content.decode("utf-8-sig").splitlines()[0]
    assert header == (
        "key,label,stats.serviceRequests.total,stats.serviceRequests.resolved,"
        "stats.serviceRequests.responseRate,stats.serviceRequests.resolutionRate,"
        "stats.serviceRequests.satisfactionRate"
    )


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({**PERIOD, "colour": "red"}, "UNKNOWN_PARAMETER"),
        ({**PERIOD, "from": "2026-13-01"}, "DAY_MALFORMED"),
        ({"from": "2026-01-01", "to": "2026-03-31"}, "VARIABLE_REQUIRED"),
        ({**PERIOD, "lang": "fr"}, "UNKNOWN_VALUE"),
        ({**PERIOD, "region": ["341126", "341125"]}, "PARAMETER_REPEATED"),
    ],
)
async def test_bad_parameters_are_refused_before_the_report_runs(
    hub: Hub, params: dict[str, Any], reason: str
) -> None:
    response = await hub.client.get(
        "/reports/monthly-rates-by-child.v2.xlsx",
        params=params,
        headers={"authorization": f"Bearer {hub.token(COUNTY)}"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "reason": reason}


async def test_refusals_keep_the_graphql_error_shape(hub: Hub) -> None:
    token = hub.token(COUNTY)
    assert (
        await _get(hub, "/reports/monthly-rates-by-child.v2.csv", None, **PERIOD)
    ).status_code == 401
    for file in ("nothing.v1.csv", "monthly-rates-by-child.v9.csv", "monthly-rates-by-child.pdf"):
        missing = await _get(hub, f"/reports/{file}", token, **PERIOD)
        assert missing.status_code == 404, file
        assert missing.json()["errors"][0]["extensions"]["reason"] == "REPORT_NOT_FOUND"
    above = await _get(
        hub, "/reports/monthly-rates-by-child.v2.xlsx", hub.token(TOWNSHIP), **PERIOD
    )
    assert above.status_code == 403
    assert above.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    foreign = await _get(
        hub, "/reports/region-monthly-figures.v1.csv", token, **{**PERIOD, "region": "341125"}
    )
    assert foreign.status_code == 200 and len(foreign.content.splitlines()) == 1


async def test_a_report_file_is_audited_as_an_export(hub: Hub, owner: asyncpg.Connection) -> None:
    token = hub.token(COUNTY, sub="report-audit")
    await _get(hub, "/reports/region-monthly-figures.v1.csv", token, **PERIOD)
    entries = await owner.fetch(
        "select region_code, record_type, after from audit_log "
        "where actor = 'report-audit' and operation = 'export'"
    )
    assert [(e["region_code"], e["record_type"]) for e in entries] == [(COUNTY, "Report")]
    after = json.loads(entries[0]["after"])
    assert after["export"] == "report:region-monthly-figures.v1" and after["format"] == "csv"
    assert (after["rows"], after["complete"]) == (3, True)
    assert after["parameters"] == PERIOD


async def test_a_report_file_is_checked_without_running_it(
    database: Database, settings: Settings
) -> None:
    """What a one-time link's door asks before it stores a report file as its target."""
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        services = app.state.services
        caller = Caller.from_grants(
            "checker", [Grant(COUNTY, "100000.34.3411.341126", frozenset({"viewer"}))]
        )
        file = "monthly-rates-by-child.v2.csv"
        await check_report_file(services, caller, file, QueryParams(PERIOD))
        for name, params, reason in (
            ("nothing.v1.csv", PERIOD, "REPORT_NOT_FOUND"),
            (file, {"from": "2026-01-01", "to": "2026-01-31"}, "VARIABLE_REQUIRED"),
            (file, {**PERIOD, "lang": "fr"}, "UNKNOWN_VALUE"),
        ):
            with pytest.raises(HubError) as refused:
                await check_report_file(services, caller, name, QueryParams(params))
            assert (refused.value.extensions or {}).get("reason") == reason
