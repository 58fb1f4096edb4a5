"""The asyncpg pool the hub serves requests from, logged in as the runtime role."""

from __future__ import annotations

import json

import asyncpg

Pool = asyncpg.Pool

IDLE_TIMEOUT = "select current_setting('idle_in_transaction_session_timeout')"


class HubConnection(asyncpg.Connection):
    """A pooled connection that knows its idle-in-transaction timeout (read once, when it
    is opened), so a request need not ask for it again."""

    __slots__ = ("idle_timeout",)
    idle_timeout: str


async def _init(conn: asyncpg.Connection) -> None:
    if type(conn) is HubConnection:  # asyncpg makes isinstance true of any connection
        conn.idle_timeout = str(await conn.fetchval(IDLE_TIMEOUT))
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("ltree", encoder=str, decoder=str, schema="public", format="text")


async def _keep(conn: asyncpg.Connection) -> None:
    """Releasing a connection: asyncpg first rolls back a transaction left open; nothing
    more. The hub sets no session state on pooled connections (scopes and timeouts are
    `set_config(…, true)`, gone with their transaction; cursors close at commit), so the
    default reset — `RESET ALL`, `CLOSE ALL`, `UNLISTEN *`, advisory unlocks — would be a
    round trip per request that undoes nothing."""


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, statement_timeout_ms: int = 5000
) -> Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init,
        reset=_keep,
        connection_class=HubConnection,
        server_settings={
            "statement_timeout": str(statement_timeout_ms),
            "idle_in_transaction_session_timeout": str(max(statement_timeout_ms * 2, 10_000)),
            # Scopes differ wildly between callers (a village, the nation); a plan made for
            # one must never be reused for the other.
            "plan_cache_mode": "force_custom_plan",
            "application_name": "grassroots-hub",
        },
    )


async def connect(dsn: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    await _init(conn)
    return conn
