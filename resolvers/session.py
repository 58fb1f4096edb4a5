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

# name: audit-personal-reads — one entry per region and record type, placed by
# `resolvers.audit.place`.
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
        # record type → id → path, of the rows read unmasked
        self._personal: dict[str, dict[str, Path]] = {}

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

    def note_personal(self, record_type: str, rows: Sequence[asyncpg.Record]) -> None:
        """Remember the rows given to the caller unmasked, for the audit log."""
        pii = self._caller.pii
        if not pii:
            return
        read = self._personal.setdefault(record_type, {})
        for row in rows:
            if any(is_under(row["path"], p) for p in pii):
                read[str(row["id"])] = row["path"]

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

    def _personal_entries(self) -> list[dict[str, Any]]:
        # audit imports the lists, which import this module
        from resolvers.audit import place, region_code

        entries = []
        for kind, read in sorted(self._personal.items()):
            by_path: dict[Path, list[str]] = {}
            for ident, path in read.items():
                by_path.setdefault(path, []).append(ident)
            counts = {path: len(ids) for path, ids in by_path.items()}
            for placed in place(self._caller.pii, counts):
                ids = sorted(i for p, some in by_path.items() if is_under(p, placed) for i in some)
                entries.append(
                    {"region_code": region_code(placed), "record_type": kind, "ids": ids}
                )
        return entries

    async def _finish(self, *, commit: bool) -> None:
        entries = self._personal_entries() if commit else []
        if entries:
            await self._conn.execute(
                AUDIT_READS, self._caller.subject, self._caller.client, entries
            )
        if commit:
            await self._transaction.commit()
        else:
            await self._transaction.rollback()
