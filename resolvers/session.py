"""One request's database work: one connection, one transaction, the caller's scope set in it.

The connection is taken from the pool on the first statement and given back when the
request ends. Scopes are set with `set_config(…, true)`, so they die with the transaction
and never stay on a pooled connection. Statements are serialised: DataLoaders of one
request may dispatch at the same moment, and a connection runs one statement at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from resolvers.scope import Caller, Scope

SET_SCOPES = """
select set_config('hub.read_scope', $1, true), set_config('hub.editor_scope', $2, true),
       set_config('hub.pii_scope', $3, true), set_config('hub.auditor_scope', $4, true)
"""


def ltree_array(scope: Scope) -> str:
    return "{" + ",".join(scope) + "}"


class RequestSession:
    def __init__(self, pool: asyncpg.Pool, caller: Caller) -> None:
        self._pool = pool
        self._caller = caller
        self._conn: Any = None
        self._transaction: Any = None
        self._lock = asyncio.Lock()
        self.statements = 0

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            self._conn = await self._pool.acquire()
            self._transaction = self._conn.transaction()
            await self._transaction.start()
            await self._conn.execute(
                SET_SCOPES, *(ltree_array(self._caller.scope(k)) for k in ("read", "editor", "pii", "auditor"))
            )
        conn: asyncpg.Connection = self._conn
        return conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def close(self, *, commit: bool) -> None:
        if self._conn is None:
            return
        try:
            if commit:
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
        finally:
            await self._pool.release(self._conn)
            self._conn = None
