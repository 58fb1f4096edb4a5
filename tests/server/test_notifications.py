"""Notifications carry nothing a listener can use: any database role can LISTEN, so the
change feed and revocations notify with empty payloads, and what changed is read from the
change log under row-level security."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from db import reporting
from db.revocations import revoke
from db.setup import Database
from server.settings import Settings
from tests.db.conftest import login_dsn
from tests.server.test_subscriptions import TOWNSHIP, VILLAGE, Live, subscribed, until
from tests.server.test_subscriptions import live as live

CHANNELS = ("service_request_changed", "token_revoked")


@pytest.fixture
async def reporting_login(
    owner: asyncpg.Connection, database: Database
) -> AsyncIterator[asyncpg.Connection]:
    role = f"bi_{uuid.uuid4().hex[:10]}"
    password = reporting.new_password()
    await reporting.grant(owner, role, ["341126102"], password)
    conn = await asyncpg.connect(login_dsn(database, role, password))
    yield conn
    await conn.close()
    await reporting.revoke(owner, role)


async def test_a_listener_of_any_role_hears_no_id_and_no_jti(
    live: Live,
    database: Database,
    owner: asyncpg.Connection,
    reporting_login: asyncpg.Connection,
    settings: Settings,
) -> None:
    runtime = await asyncpg.connect(database.runtime_dsn)  # no scope set: reads nothing
    heard: list[tuple[str, str]] = []
    try:
        for conn in (runtime, reporting_login):
            for channel in CHANNELS:
                await conn.add_listener(channel, lambda *n: heard.append((n[2], n[3])))
        socket = await subscribed(live, live.token(TOWNSHIP))
        try:
            made = await live.submit(VILLAGE)  # in another township than the reporting login's
            assert (await socket.change())["request"]["reference"] == made["reference"]
        finally:
            await socket.__aexit__()
        jti = uuid.uuid4().hex
        await revoke(owner, jti, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), None)
        await until(lambda: {c for c, _ in heard} == set(CHANNELS) and len(heard) >= 4)
        await asyncio.sleep(0.1)
        assert {payload for _, payload in heard} == {""}
        # The change log is there, and neither of them reads it.
        assert await owner.fetchval("select count(*) from change_log") > 0
        assert await runtime.fetchval("select count(*) from change_log") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reporting_login.fetchval("select count(*) from change_log")
    finally:
        await runtime.close()


async def test_a_subscriber_behind_the_retention_falls_behind(
    live: Live, owner: asyncpg.Connection
) -> None:
    socket = await subscribed(live, live.token(TOWNSHIP))
    try:
        # A change the subscriber has not read yet (nothing woke it), already ten minutes
        # old, and a pruning due: the next write prunes it.
        async with owner.transaction():
            await owner.execute(
                "insert into change_log (request_id, path, at) select id, path, "
                "now() - interval '11 minutes' from service_request where path <@ $1::ltree "
                "limit 1",
                "100000.34.3411.341126.341126101",
            )
            await owner.execute(
                "update change_log_horizon set pruned_at = now() - interval '2 minutes'"
            )
        await live.submit(VILLAGE)
        code, reason = await socket.closed()
        assert code == 1013 and "subscribe again" in reason
    finally:
        await socket.__aexit__()
    assert (
        await owner.fetchval(
            "select count(*) from change_log where at < now() - interval '10 minutes'"
        )
        == 0
    )


async def test_a_change_that_commits_after_a_later_one_is_still_delivered(
    live: Live, owner: asyncpg.Connection
) -> None:
    socket = await subscribed(live, live.token(TOWNSHIP))
    try:
        # A transaction logs a change first (smaller sequence number) and commits last.
        slow = await asyncpg.connect(live.database.owner_dsn)
        try:
            transaction = slow.transaction()
            await transaction.start()
            reference = await slow.fetchval(
                "with picked as (select id, path, reference from service_request "
                "where path <@ $1::ltree order by reference limit 1), "
                "logged as (insert into change_log (request_id, path) "
                "select id, path from picked) select reference from picked",
                "100000.34.3411.341126.341126101",
            )
            made = await live.submit(VILLAGE)
            # Held back while the older transaction runs: it may still log changes before it.
            with pytest.raises(TimeoutError):
                await socket.receive(seconds=0.5)
            await transaction.commit()
        finally:
            await slow.close()
        # No notification came from the slow transaction: the group looks again on its own.
        assert (await socket.change())["request"]["reference"] == reference
        assert (await socket.change())["request"]["reference"] == made["reference"]
    finally:
        await socket.__aexit__()
