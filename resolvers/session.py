"""One request's database work: one connection, one transaction, the caller's scope set in it.

The connection is taken from the pool on the first statement and given back when the
request ends. Scopes are set with `set_config(…, true)`, so they die with the transaction
and never stay on a pooled connection. Statements are serialised: DataLoaders of one
request may dispatch at the same moment, and a connection runs one statement at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from resolvers.errors import database_reachable
from resolvers.scope import Caller, Path, Scope, is_under
from resolvers.scope_sql import bind_scopes

# name: audit-personal-reads — one entry per pii grant and record type that a request read.
AUDIT_READS = """
insert into audit_log (actor, client, operation, region_code, record_type, record_ids)
select $1, $2, 'read_personal_data', e.region_code, e.record_type,
       array(select jsonb_array_elements_text(e.ids)::uuid)
from jsonb_to_recordset($3::jsonb) as e(region_code text, record_type text, ids jsonb)
"""

SET_SCOPES = """
select set_config('hub.read_scope', $1, true), set_config('hub.editor_scope', $2, true),
       set_config('hub.pii_scope', $3, true), set_config('hub.auditor_scope', $4, true),
       set_config('hub.subject', $5, true)
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
        # per recipient (subject, client) — the caller, unless `note_personal` names
        # another: what it read unmasked, by pii grant and record type
        self._personal: dict[tuple[str, str | None], dict[tuple[Path, str], set[str]]] = {}

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            with database_reachable():
                self._conn = await self._pool.acquire()
            try:
                with database_reachable(self._conn):
                    self._transaction = self._conn.transaction()
                    await self._transaction.start()
                    await self._conn.execute(
                        SET_SCOPES,
                        *(
                            ltree_array(self._caller.scope(k))
                            for k in ("read", "editor", "pii", "auditor")
                        ),
                        self._caller.subject,
                    )
            except BaseException:
                await self._release()
                raise
        conn: asyncpg.Connection = self._conn
        return conn

    def _bound(self, sql: str, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        """The statement with the caller's scopes bound where it names them."""
        text, kinds = bind_scopes(sql, len(args))
        if not kinds:
            return sql, args
        return text, (*args, *(list(self._caller.scope(kind)) for kind in kinds))

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        sql, args = self._bound(sql, args)
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            with database_reachable(conn):
                rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows

    async def fetch_records(self, record_type: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """`fetch` for rows that carry personal data (and `id`, `path` columns): the ones the
        caller reads unmasked are audited when the request ends."""
        rows = await self.fetch(sql, *args)
        self.note_personal(record_type, rows)
        return rows

    def note_personal(
        self, record_type: str, rows: Sequence[asyncpg.Record], recipient: Caller | None = None
    ) -> None:
        """Remember the rows given unmasked to the caller, for the audit log; or to
        `recipient`, a caller with the same read and pii scopes on whose behalf the session
        also read (a group of subscribers)."""
        who = recipient or self._caller
        if not who.pii:
            return
        for row in rows:
            grant = next((p for p in who.pii if is_under(row["path"], p)), None)
            if grant is not None:
                read = self._personal.setdefault((who.subject, who.client), {})
                read.setdefault((grant, record_type), set()).add(str(row["id"]))

    @contextlib.asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """A savepoint: what fails inside it is undone, and the request goes on."""
        async with self._lock:
            conn = await self._connection()
            savepoint = conn.transaction()
            with database_reachable(conn):
                await savepoint.start()
        try:
            yield
        except BaseException:
            async with self._lock:
                await savepoint.rollback()
            raise
        else:
            async with self._lock:
                await savepoint.commit()

    async def execute(self, sql: str, *args: Any) -> None:
        sql, args = self._bound(sql, args)
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            with database_reachable(conn):
                await conn.execute(sql, *args)

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
            with database_reachable(self._conn):
                await self._finish(commit=commit)
        finally:
            await self._release()

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        # A connection lost mid-request fails its reset; asyncpg then terminates it and
        # frees its slot in the pool before raising, so there is nothing left to undo.
        with contextlib.suppress(Exception):
            await self._pool.release(conn)

    async def _finish(self, *, commit: bool) -> None:
        for (subject, client), read in self._personal.items() if commit else ():
            entries = [
                {
                    "region_code": grant.rsplit(".", 1)[-1],
                    "record_type": kind,
                    "ids": sorted(ids),
                }
                for (grant, kind), ids in sorted(read.items())
            ]
            await self._conn.execute(AUDIT_READS, subject, client, entries)
        if commit:
            await self._transaction.commit()
        else:
            await self._transaction.rollback()
