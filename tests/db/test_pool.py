"""The runtime pool gives connections back without a reset round trip, and never with a
transaction (or its scopes) still open."""

from __future__ import annotations

from db.pool import create_pool
from db.setup import Database
from resolvers.scope import Caller
from resolvers.session import RequestSession

SCOPE = "select current_setting('hub.read_scope', true)"


async def test_release_rolls_back_an_open_transaction_and_sends_no_reset(
    database: Database,
) -> None:
    pool = await create_pool(database.runtime_dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            # session state the hub never sets: a reset (RESET ALL) would clear it
            await conn.execute("select set_config('application_name', 'left-behind', false)")
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("select set_config('hub.read_scope', '{34}', true)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval(SCOPE) in (None, "")
            assert await conn.fetchval("show application_name") == "left-behind"
    finally:
        await pool.close()


async def test_scopes_and_subject_are_sent_as_literals_whatever_they_hold(
    database: Database,
) -> None:
    """BEGIN and the scopes go as one simple-protocol message (resolvers/session.py): a
    subject with quotes and backslashes arrives intact and runs nothing."""
    subject = "o'brien\\'; select pg_sleep(5); --"
    caller = Caller(subject, (), scopes={"read": ("100000.34.3411.341126",)})
    pool = await create_pool(database.runtime_dsn, min_size=1, max_size=1)
    try:
        session = RequestSession(pool, caller)
        row = await session.fetchrow(
            "select current_setting('hub.subject') as subject, "
            "current_setting('hub.read_scope') as read, "
            "current_setting('transaction_read_only') as read_only"
        )
        await session.close(commit=True)
        assert row is not None
        assert (row["subject"], row["read"]) == (subject, "{100000.34.3411.341126}")
        assert row["read_only"] == "off"
        exporting = RequestSession(pool, caller, readonly=True, isolation="repeatable_read")
        settings = await exporting.fetchrow(
            "select current_setting('transaction_read_only') as read_only, "
            "current_setting('transaction_isolation') as isolation"
        )
        await exporting.close(commit=True)
        assert settings is not None
        assert (settings["read_only"], settings["isolation"]) == ("on", "repeatable read")
    finally:
        await pool.close()
