"""Revoked tokens: only the owner revokes; the request role reads the live list and can
neither add nor remove a revocation; expired ones drop out of the list."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from db.pool import connect
from db.revocations import RevocationList, revoke
from db.setup import Database

LATER = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def runtime(database: Database) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(database.runtime_dsn)
    yield conn
    await conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        "delete from revoked_token",
        "update revoked_token set expires_at = now()",
        "insert into revoked_token (jti) values ('forged')",
        "select jti from revoked_token",
        "select revoke_token('forged', null, null)",
        "select prune_revoked_tokens()",
    ],
)
async def test_the_request_role_cannot_touch_the_table(
    runtime: asyncpg.Connection, statement: str
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await runtime.execute(statement)


async def test_the_request_role_reads_the_unexpired_revocations(
    runtime: asyncpg.Connection, owner: asyncpg.Connection
) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await revoke(owner, "still-valid", LATER, "stolen")
    await revoke(owner, "kept-for-ever", None, None)
    await revoke(owner, "expired-anyway", past, None)
    rows = await runtime.fetch("select jti from revoked_tokens()")
    listed = {row["jti"] for row in rows}
    assert {"still-valid", "kept-for-ever"} <= listed and "expired-anyway" not in listed


async def test_revoking_again_keeps_the_first_time_and_the_later_expiry(
    owner: asyncpg.Connection,
) -> None:
    first = await revoke(owner, "twice", dt.datetime(2098, 1, 1, tzinfo=dt.UTC), "first")
    again = await revoke(owner, "twice", LATER, None)
    row = await owner.fetchrow("select * from revoked_token where jti = 'twice'")
    assert row is not None
    assert first == again == row["revoked_at"]
    assert row["expires_at"] == LATER and row["reason"] == "first"


async def test_revocations_of_tokens_expired_a_day_ago_are_pruned(
    owner: asyncpg.Connection,
) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    await owner.execute("insert into revoked_token (jti, expires_at) values ('old', $1)", long_ago)
    await revoke(owner, "new", LATER, None)
    assert await owner.fetchval("select count(*) from revoked_token where jti = 'old'") == 0


async def test_the_list_hears_a_revocation_and_tells_its_watchers(
    database: Database, owner: asyncpg.Connection
) -> None:
    revocations = RevocationList(database.runtime_dsn, reload_seconds=3600)
    await revocations.start()
    told = asyncio.Event()
    try:
        stop = revocations.watch("watched", told.set)
        unwatched = revocations.watch("unwatched", lambda: None)
        unwatched()
        assert not revocations.revoked("watched")
        await revoke(owner, "watched", LATER, None)
        await asyncio.wait_for(told.wait(), 5)
        assert revocations.revoked("watched")
        stop()
    finally:
        await revocations.stop()


async def test_a_reload_forgets_revocations_that_expired(
    database: Database, owner: asyncpg.Connection
) -> None:
    revocations = RevocationList(database.runtime_dsn, reload_seconds=3600)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    await revoke(owner, "short-lived", soon, None)
    await revocations.start()
    try:
        assert revocations.revoked("short-lived")
        await asyncio.sleep(1.2)  # the token's own expiry passes: nothing to wait for instead
        await revocations.reload()
        assert not revocations.revoked("short-lived")
    finally:
        await revocations.stop()
