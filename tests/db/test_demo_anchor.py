"""The demo in the present (issue 20): laid out relative to an anchor day stored when the
demo is first seeded (the one clock's today), with about one open request in ten overdue."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import asyncpg

from db import clock, demo, divisions, embedded
from db.demo.anchor import Shift
from db.setup import Database, migrate_and_grant
from tests.conftest import TODAY

OPEN = ["SUBMITTED", "ACCEPTED", "IN_PROGRESS", "ESCALATED"]
LATER = dt.date(2026, 12, 6)  # three weeks after the run's pinned day


def test_a_shift_moves_every_date_time_and_history_entry_by_whole_days() -> None:
    at = dt.datetime(2026, 11, 14, 9, 30, tzinfo=clock.CST)
    history = json.dumps([{"at": at.isoformat(), "action": "submit"}])
    row = ("x", at, dt.date(2026, 3, 1), 7, history)
    columns = ("id", "submitted_at", "founded_on", "version", "history")
    moved = next(Shift.to(LATER).rows(columns, [row]))
    assert moved[:4] == ("x", at + dt.timedelta(days=21), dt.date(2026, 3, 22), 7)
    assert json.loads(str(moved[4]))[0]["at"] == (at + dt.timedelta(days=21)).isoformat()
    assert next(Shift.to(demo.ANCHOR.date()).rows(columns, [row])) is row


async def test_the_anchor_is_the_day_first_seeded_and_stays(owner: asyncpg.Connection) -> None:
    assert await owner.fetchval("select day from demo_anchor") == dt.date.fromisoformat(TODAY)
    assert await demo.seed_demo(owner) == demo.DemoReport()  # seeded: nothing written
    assert await owner.fetchval("select count(*) from demo_anchor") == 1


async def test_about_one_open_request_in_ten_is_overdue_at_the_anchor(
    owner: asyncpg.Connection,
) -> None:
    row = await owner.fetchrow(
        "select count(*) filter (where status::text = any($1::text[])) as open, "
        "count(*) filter (where status::text = any($1::text[]) and due_at < $2) as overdue "
        "from service_request where region_code like '341126%'",
        OPEN,
        clock.now(),
    )
    assert row is not None and row["open"] > 500
    assert 0.05 <= row["overdue"] / row["open"] <= 0.15


async def test_a_demo_seeded_later_is_the_same_demo_moved_to_its_day(
    database: Database, owner: asyncpg.Connection
) -> None:
    server = database.server
    assert server is not None
    name = f"hub_test_anchor_{uuid.uuid4().hex[:12]}"
    superuser = await asyncpg.connect(server.superuser_dsn())
    try:
        await superuser.execute(f'create database {name} owner "{embedded.OWNER}"')
        try:
            fresh_dsn = server.owner_dsn(name)
            await migrate_and_grant(fresh_dsn, None)
            fresh = await asyncpg.connect(fresh_dsn)
            try:
                await divisions.import_divisions(fresh, divisions.DEMO_DIVISIONS)
                await fresh.execute("insert into demo_anchor (day) values ($1)", LATER)
                await demo.seed_demo(fresh)
                later = await fresh.fetch(
                    "select reference, submitted_at, due_at from service_request order by 1"
                )
            finally:
                await fresh.close()
        finally:
            await superuser.execute(f"drop database {name} with (force)")
    finally:
        await superuser.close()
    first = await owner.fetch(
        "select reference, submitted_at, due_at from service_request "
        "where region_code like '341126%' order by 1"
    )
    three_weeks = dt.timedelta(days=21)
    assert len(later) == len(first) > 0
    assert all(
        b["reference"] == a["reference"]
        and b["submitted_at"] == a["submitted_at"] + three_weeks
        and b["due_at"] == a["due_at"] + three_weeks
        for a, b in zip(first, later, strict=True)
    )


async def test_every_month_of_the_two_years_before_the_anchor_has_data(
    owner: asyncpg.Connection,
) -> None:
    anchor = dt.date.fromisoformat(TODAY)
    months = {(anchor.year * 12 + anchor.month - 1 - i) for i in range(25)}  # this one and 24
    for table, column in (
        ("service_request", "submitted_at"),
        ("participation_event", "starts_at"),
    ):
        found = await owner.fetch(
            f"select distinct extract(year from {column} at time zone 'Asia/Shanghai')::int * 12"
            f" + extract(month from {column} at time zone 'Asia/Shanghai')::int - 1 as month"
            f" from {table} where region_code like '341126%'"
        )
        assert months <= {r["month"] for r in found}, table
