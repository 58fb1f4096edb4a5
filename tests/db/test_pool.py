"""The runtime pool gives connections back without a reset round trip, and never with a
transaction (or its scopes) still open."""

from __future__ import annotations

from db.pool import create_pool
from db.setup import Database

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
