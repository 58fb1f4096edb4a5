"""Which database errors mean "PostgreSQL is out of reach right now" (down, restarting,
shutting down, refusing connections) rather than "this statement is wrong": the first kind
is worth retrying in a few seconds, so callers answer it with 503, not an internal error."""

from __future__ import annotations

from typing import Any

import asyncpg

UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, no socket file: the server is not listening
    TimeoutError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08: the connection broke or was refused
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: terminated by a fast shutdown
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    # The client's protocol state broke with its connection (seen when a pooled connection
    # dies under a fast shutdown); it never stems from a statement.
    asyncpg.InternalClientError,
)


def connection_lost(conn: Any) -> bool:
    """Whether a (pooled) connection has been lost. A pooled connection that dies while
    acquired is taken back by the pool at once, after which its proxy refuses every call."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        return True


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached at the moment."""
    return isinstance(error, UNREACHABLE)
