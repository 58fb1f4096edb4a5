"""Reporting logins read the `reporting` views of their own subtree, masked, and nothing else."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from db.setup import Database
from tests.db.conftest import Logins

TOWNSHIP = "341126101"
COUNTY = "341126"
FOREIGN_COUNTY = "341125"
VIEWS = [
    "regions",
    "organizations",
    "service_requests",
    "participation_events",
    "resolutions",
    "daily_figures",
    "monthly_figures",
]
BASE_TABLES = [
    "region",
    "organization",
    "service_request",
    "participation_event",
    "resolution",
    "audit_log",
    "reporting_scope",
    "allowlist_client",
    "source",
]
PHONE = re.compile(r"1[3-9][0-9]{9}")


@pytest.fixture
async def township(logins: Logins) -> AsyncIterator[asyncpg.Connection]:
    conn = await logins.connect(TOWNSHIP)
    yield conn
    await conn.close()


@pytest.mark.parametrize("view", VIEWS)
async def test_every_view_shows_the_subtree_and_nothing_else(
    township: asyncpg.Connection, owner: asyncpg.Connection, view: str
) -> None:
    rows = await township.fetch(f"select * from reporting.{view}")
    assert rows, f"reporting.{view} is empty for a township with records"
    code = "code" if view == "regions" else "region_code"
    assert all(r[code].startswith(TOWNSHIP) for r in rows)
    assert all(r["township_code"] == TOWNSHIP for r in rows)
    assert all(r["county_code"] == COUNTY and r["province_code"] == "34" for r in rows)


@pytest.mark.parametrize(
    ("view", "table"),
    [
        ("organizations", "organization"),
        ("service_requests", "service_request"),
        ("participation_events", "participation_event"),
        ("resolutions", "resolution"),
        ("regions", "region"),
    ],
)
async def test_record_views_hold_every_row_of_the_subtree(
    township: asyncpg.Connection, owner: asyncpg.Connection, view: str, table: str
) -> None:
    column = "code" if table == "region" else "region_code"
    expected = await owner.fetchval(
        f"select count(*) from {table} where {column} like $1", TOWNSHIP + "%"
    )
    total = await owner.fetchval(f"select count(*) from {table}")
    assert 0 < expected < total
    assert await township.fetchval(f"select count(*) from reporting.{view}") == expected


# name: direct-figures — DESIGN.md §5's parts, counted on the base tables as the owner.
DIRECT = """
select count(*) filter (where status <> 'WITHDRAWN') as submitted,
    count(*) filter (where status in ('RESOLVED', 'CLOSED')) as resolved,
    count(*) filter (where status = 'REJECTED') as rejected,
    count(*) filter (where status <> 'WITHDRAWN'
        and first_responded_at <= submitted_at + interval '24 hours') as answered_within_24h,
    count(*) filter (where status <> 'WITHDRAWN' and satisfaction is not null) as rated,
    count(*) filter (where status <> 'WITHDRAWN' and satisfaction >= 4) as satisfied
from service_request
where region_code like $1
    and (submitted_at at time zone 'Asia/Shanghai')::date between $2 and $3
"""


async def test_daily_and_monthly_figures_equal_direct_counts(
    township: asyncpg.Connection, owner: asyncpg.Connection
) -> None:
    month = await township.fetchval(
        "select month from reporting.monthly_figures group by month "
        "order by sum(submitted) desc limit 1"
    )
    last = await owner.fetchval("select ($1::date + interval '1 month - 1 day')::date", month)
    direct = await owner.fetchrow(DIRECT, TOWNSHIP + "%", month, last)
    assert direct is not None
    assert direct["submitted"] > 0 and direct["rated"] > 0
    for sql in (
        "select sum(submitted) as submitted, sum(resolved) as resolved, "
        "sum(rejected) as rejected, sum(answered_within_24h) as answered_within_24h, "
        "sum(rated) as rated, sum(satisfied) as satisfied "
        "from reporting.monthly_figures where month = $1 and $2::date is not null",
        "select sum(submitted) as submitted, sum(resolved) as resolved, "
        "sum(rejected) as rejected, sum(answered_within_24h) as answered_within_24h, "
        "sum(rated) as rated, sum(satisfied) as satisfied "
        "from reporting.daily_figures where day between $1 and $2",
    ):
        summed = await township.fetchrow(sql, month, last)
        assert summed is not None and dict(summed) == dict(direct)
    events = await owner.fetchrow(
        "select count(*) as events, sum(participant_count) as participants "
        "from participation_event where region_code like $1",
        TOWNSHIP + "%",
    )
    figures = await township.fetchrow(
        "select sum(events) as events, sum(participants) as participants "
        "from reporting.daily_figures"
    )
    assert figures is not None and events is not None
    assert dict(figures) == dict(events)


async def test_personal_fields_are_masked(
    township: asyncpg.Connection, owner: asyncpg.Connection
) -> None:
    raw = await owner.fetchrow(
        "select id, requester_name, requester_phone from service_request "
        "where region_code like $1 and requester_phone ~ '^1[3-9][0-9]{9}$' "
        "and char_length(requester_name) > 1 limit 1",
        TOWNSHIP + "%",
    )
    assert raw is not None
    seen = await township.fetchrow(
        "select requester_name, requester_phone from reporting.service_requests where id = $1",
        raw["id"],
    )
    assert seen is not None
    assert seen["requester_name"] == raw["requester_name"][0] + "*"
    assert (
        seen["requester_phone"] == raw["requester_phone"][:3] + "****" + raw["requester_phone"][-4:]
    )
    texts = await township.fetch(
        "select title, description, requester_phone as phone from reporting.service_requests "
        "union all select leader_name, leader_phone, leader_phone from reporting.organizations "
        "union all select title, topic, null from reporting.participation_events"
    )
    for row in texts:
        for value in row.values():
            assert value is None or not PHONE.search(value), value
    leaders = await township.fetch(
        "select leader_name from reporting.organizations where leader_name is not null"
    )
    assert leaders and all(r["leader_name"].endswith("*") for r in leaders)


@pytest.mark.parametrize("table", BASE_TABLES)
async def test_base_tables_are_refused(township: asyncpg.Connection, table: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await township.fetch(f"select * from {table} limit 1")


@pytest.mark.parametrize(
    "statement",
    [
        "insert into reporting.organizations (id, name) values (gen_random_uuid(), 'x')",
        "update reporting.service_requests set status = 'CLOSED'",
        "delete from reporting.participation_events",
        "update service_request set status = 'CLOSED'",
        "insert into reporting_scope values (current_user, '{100000}', '{100000}')",
        "create table reporting.mine (x int)",
        "create view public.mine as select 1",
        "select reporting_grant('bi_other', '{100000}', 'x')",
        "select ingest_batch('s', 'x', '[]', '[]', '[]')",
        "select regions_by_code('{341125}')",
        "set role hub_reporting_owner",
        "set role hub_runtime",
        "set role hub_app",
        "copy service_request to stdout",
        "select rolpassword from pg_authid",
        "select allowlisted_client('x')",
        "set session authorization hub_owner",
    ],
)
async def test_writes_and_privileged_doors_are_refused(
    township: asyncpg.Connection, statement: str
) -> None:
    with pytest.raises(
        (
            asyncpg.InsufficientPrivilegeError,
            asyncpg.ObjectNotInPrerequisiteStateError,
            asyncpg.FeatureNotSupportedError,
        )
    ):
        await township.execute(statement)


@pytest.mark.parametrize(
    "setup",
    [
        "set hub.read_scope = '{100000}'",
        "select set_config('hub.read_scope', '{100000}', false), "
        "set_config('hub.pii_scope', '{100000}', false)",
        "set role hub_reporting",
    ],
)
async def test_session_settings_and_roles_widen_nothing(
    township: asyncpg.Connection, owner: asyncpg.Connection, setup: str
) -> None:
    before = await township.fetchval("select count(*) from reporting.service_requests")
    await township.execute(setup)
    assert await township.fetchval("select count(*) from reporting.service_requests") == before
    assert (
        await township.fetchval(
            "select count(*) from reporting.service_requests where region_code not like $1",
            TOWNSHIP + "%",
        )
        == 0
    )
    phone = await township.fetchval(
        "select requester_phone from reporting.service_requests "
        "where requester_phone is not null limit 1"
    )
    assert "****" in phone


async def test_a_county_login_sees_nothing_of_the_sibling_county(logins: Logins) -> None:
    conn = await logins.connect(COUNTY)
    try:
        for view in VIEWS:
            code = "code" if view == "regions" else "region_code"
            assert (
                await conn.fetchval(
                    f"select count(*) from reporting.{view} where {code} like $1",
                    FOREIGN_COUNTY + "%",
                )
                == 0
            )
            assert await conn.fetchval(f"select count(*) from reporting.{view}") > 0
    finally:
        await conn.close()


async def test_a_login_without_a_scope_row_sees_nothing(
    logins: Logins, owner: asyncpg.Connection
) -> None:
    conn = await logins.connect(TOWNSHIP)
    try:
        await owner.execute("delete from reporting_scope where role_name = $1", logins.made[-1])
        for view in VIEWS:
            assert await conn.fetchval(f"select count(*) from reporting.{view}") == 0
    finally:
        await conn.close()


LEAK = """
create function pg_temp.leak(code text, phone text) returns boolean
    language plpgsql cost 0.0000001 as $$
begin
    raise notice 'saw % %', code, phone;
    return true;
end $$
"""


async def test_a_cheap_leaky_function_in_a_filter_sees_only_scoped_masked_rows(
    township: asyncpg.Connection,
) -> None:
    seen: list[str] = []
    township.add_log_listener(lambda _conn, message: seen.append(message.message))
    await township.execute(LEAK)
    await township.fetch(
        "select id from reporting.service_requests "
        "where pg_temp.leak(region_code, requester_phone) and category = 'HEALTH'"
    )
    assert seen
    for notice in seen:
        _, code, phone = notice.split(" ", 2)
        assert code.startswith(TOWNSHIP) and not PHONE.search(phone), notice


async def test_the_request_role_cannot_read_the_reporting_views(database: Database) -> None:
    from db.pool import connect

    runtime = await connect(database.runtime_dsn)
    try:
        async with runtime.transaction():
            await runtime.execute("select set_config('hub.read_scope', '{100000}', true)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await runtime.fetch("select * from reporting.service_requests")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.fetch("select * from allowlist_client")
    finally:
        await runtime.close()
