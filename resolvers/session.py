"""One request's database work: one connection, one transaction, the caller's scope set in it.

The connection is taken from the pool on the first statement and given back when the
request ends. Scopes are set with `set_config(…, true)`, so they die with the transaction
and never stay on a pooled connection. Statements are serialised: DataLoaders of one
request may dispatch at the same moment, and a connection runs one statement at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import asyncpg

from resolvers.errors import HubBusy, ServiceUnavailable, database_reachable
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
       set_config('hub.subject', $5, true),
       current_setting('idle_in_transaction_session_timeout') as idle_timeout
"""
UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(setting: str) -> float | None:
    """A PostgreSQL time setting as shown (`10s`, `200ms`, `0`), in seconds; None when off."""
    number = setting.rstrip("abcdefghijklmnopqrstuvwxyz")
    value = float(number or 0) * UNITS.get(setting[len(number) :], 0.001)
    return value or None


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
        # When the connection last did something, and how long PostgreSQL lets a
        # transaction sit idle: a connection lost after idling that long was closed because
        # the hub was busy, not because the database went away.
        self._last = time.monotonic()
        self._idle_limit: float | None = None
        self._busy = False
        self._personal: dict[tuple[Path, str], set[str]] = {}

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            with database_reachable():
                self._conn = await self._pool.acquire()
            try:
                with database_reachable(self._conn):
                    self._transaction = self._conn.transaction()
                    await self._transaction.start()
                    idle = await self._conn.fetchval(
                        SET_SCOPES,
                        *(
                            ltree_array(self._caller.scope(k))
                            for k in ("read", "editor", "pii", "auditor")
                        ),
                        self._caller.subject,
                        column=5,
                    )
                    self._idle_limit = seconds(str(idle))
                    self._last = time.monotonic()
            except BaseException:
                await self._release()
                raise
        conn: asyncpg.Connection = self._conn
        return conn

    @contextlib.contextmanager
    def _watched(self, conn: Any) -> Iterator[None]:
        """`database_reachable`, telling a connection closed while it idled too long (the
        hub was busy) from a database out of reach."""
        idle = time.monotonic() - self._last
        try:
            with database_reachable(conn):
                yield
        except ServiceUnavailable as error:
            if self._busy or (self._idle_limit is not None and idle >= self._idle_limit):
                self._busy = True  # what fails on this lost connection later fails so too
                raise HubBusy() from error
            raise
        finally:
            self._last = time.monotonic()

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
            with self._watched(conn):
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
        for row in rows:
            grant = next((p for p in pii if is_under(row["path"], p)), None)
            if grant is not None:
                self._personal.setdefault((grant, record_type), set()).add(str(row["id"]))

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
            with self._watched(conn):
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
            with self._watched(self._conn):
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
        if commit and self._personal:
            entries = [
                {
                    "region_code": grant.rsplit(".", 1)[-1],
                    "record_type": kind,
                    "ids": sorted(ids),
                }
                for (grant, kind), ids in sorted(self._personal.items())
            ]
            await self._conn.execute(
                AUDIT_READS, self._caller.subject, self._caller.client, entries
            )
        if commit:
            await self._transaction.commit()
        else:
            await self._transaction.rollback()
