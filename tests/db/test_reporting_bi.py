"""What a BI tool sees through a reporting login: China Standard Time, Chinese labels beside
the codes, and a comment on every view and column (db/migrations/0015_reporting_bi.sql)."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from db import migrate
from db.setup import Database
from resolvers import labels
from tests.conftest import Hub
from tests.db.conftest import Logins
from tests.db.test_migrate import empty_database

COUNTY = "341126"
LABELS = {
    "organization_kind": labels.ORGANIZATION_KIND,
    "service_category": labels.SERVICE_CATEGORY,
    "service_channel": labels.SERVICE_CHANNEL,
    "service_status": labels.SERVICE_STATUS,
    "participation_kind": labels.PARTICIPATION_KIND,
    "participant_group": labels.PARTICIPANT_GROUP,
    "resolution_status": labels.RESOLUTION_STATUS,
    "region_level": labels.REGION_LEVEL,
}
STATS = """query ($code: String!, $day: Date!) { region(code: $code) {
  stats(from: $day, to: $day) { serviceRequests { total } } } }"""
# The days a count by `date(submitted_at)` tells apart in UTC and in China time.
SPLIT_DAYS = """
select d from (
    select (submitted_at at time zone 'UTC')::date as d from service_request
    where status <> 'WITHDRAWN' and region_code like $1 || '%'
      and (submitted_at at time zone 'UTC')::date
          <> (submitted_at at time zone 'Asia/Shanghai')::date
) x group by d order by count(*) desc, d limit 3
"""


@pytest.fixture
async def county(logins: Logins) -> AsyncIterator[asyncpg.Connection]:
    conn = await logins.connect(COUNTY)
    yield conn
    await conn.close()


async def test_the_label_table_is_resolvers_labels(owner: asyncpg.Connection) -> None:
    rows = await owner.fetch("select kind, code, label from reporting_label")
    stored: dict[str, dict[str, str]] = {}
    for row in rows:
        stored.setdefault(row["kind"], {})[row["code"]] = row["label"]
    assert stored == LABELS


@pytest.mark.parametrize(
    ("view", "code", "label", "kind"),
    [
        ("regions", "level", "level_label", "region_level"),
        ("organizations", "kind", "kind_label", "organization_kind"),
        ("organizations", "region_level", "region_level_label", "region_level"),
        ("service_requests", "status", "status_label", "service_status"),
        ("service_requests", "category", "category_label", "service_category"),
        ("service_requests", "channel", "channel_label", "service_channel"),
        ("participation_events", "kind", "kind_label", "participation_kind"),
        ("resolutions", "status", "status_label", "resolution_status"),
        ("daily_figures", "region_level", "region_level_label", "region_level"),
        ("monthly_figures", "region_level", "region_level_label", "region_level"),
    ],
)
async def test_each_code_has_its_chinese_label_beside_it(
    county: asyncpg.Connection, view: str, code: str, label: str, kind: str
) -> None:
    rows = await county.fetch(f"select distinct {code}, {label} from reporting.{view}")
    assert rows
    assert {r[code]: r[label] for r in rows} == {r[code]: LABELS[kind][r[code]] for r in rows}


async def test_labels_are_appended_so_old_queries_keep_their_columns(
    county: asyncpg.Connection,
) -> None:
    columns = [
        a.name
        for a in (await county.prepare("select * from reporting.service_requests")).get_attributes()
    ]
    assert columns[:3] == ["id", "reference", "region_code"]
    assert columns[-4:] == ["category_label", "channel_label", "status_label", "region_level_label"]
    for view in ("daily_figures", "monthly_figures"):
        statement = await county.prepare(f"select * from reporting.{view}")
        names = [a.name for a in statement.get_attributes()]
        assert names[:3] == ["region_code", "region_name", "region_level"]
        assert names[-2:] == ["resolutions_implemented", "region_level_label"]


async def test_every_reporting_view_and_column_has_a_comment(owner: asyncpg.Connection) -> None:
    views = await owner.fetch(
        "select c.relname, obj_description(c.oid, 'pg_class') as comment from pg_class c "
        "where c.relnamespace = 'reporting'::regnamespace and c.relkind in ('v', 'm', 'r')"
    )
    assert len(views) >= 8
    assert [v["relname"] for v in views if not v["comment"]] == []
    columns = await owner.fetch(
        "select c.relname, a.attname from pg_class c join pg_attribute a on a.attrelid = c.oid "
        "where c.relnamespace = 'reporting'::regnamespace and a.attnum > 0 "
        "and not a.attisdropped and coalesce(col_description(c.oid, a.attnum), '') = ''"
    )
    assert [f"{c['relname']}.{c['attname']}" for c in columns] == []


async def test_a_reporting_login_runs_in_china_standard_time(
    county: asyncpg.Connection, owner: asyncpg.Connection
) -> None:
    assert await county.fetchval("show timezone") == "Asia/Shanghai"
    # The server's default is left alone: the setting is the login's own.
    assert await owner.fetchval("show timezone") != "Asia/Shanghai"


async def test_a_reporting_logins_daily_counts_are_the_hubs(
    county: asyncpg.Connection, owner: asyncpg.Connection, hub: Hub
) -> None:
    days: list[dt.date] = [r["d"] for r in await owner.fetch(SPLIT_DAYS, COUNTY)]
    assert len(days) == 3, "the test data has no requests near midnight UTC"
    counted = {
        r["d"]: r["n"]
        for r in await county.fetch(
            "select date(submitted_at) as d, count(*) as n from reporting.service_requests "
            "where status <> 'WITHDRAWN' and date(submitted_at) = any($1::date[]) group by 1",
            days,
        )
    }
    for day in days:
        body = await hub.query(STATS, {"code": COUNTY, "day": day.isoformat()}, as_=COUNTY)
        assert "errors" not in body, body
        assert counted.get(day, 0) == body["data"]["region"]["stats"]["serviceRequests"]["total"]


async def test_the_migration_puts_the_existing_reporting_logins_in_china_time(
    template: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, folder)
    (later,) = folder.glob("*_reporting_bi.sql")
    text = later.read_bytes()
    # This migration and those after it (which may build on it) are applied later.
    for path in folder.glob("*.sql"):
        if path.name >= later.name:
            path.unlink()
    role = f"bi_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(await empty_database(template))
    try:
        await migrate.migrate(conn, folder)
        await conn.execute(f"create role {role} login in role hub_reporting")
        later.write_bytes(text)
        assert [m.path.name for m in await migrate.migrate(conn, folder)] == [later.name]
        settings = await conn.fetchval(
            "select s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
            "where r.rolname = $1 and s.setdatabase = 0",
            role,
        )
        assert settings == ["TimeZone=Asia/Shanghai"]
    finally:
        await conn.execute(f"drop role if exists {role}")
        await conn.close()
