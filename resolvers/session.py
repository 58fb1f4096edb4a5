"""One request's database work: one connection, one transaction, the caller's scope set in it.

Every statement run on a caller's behalf goes through a `RequestSession` — GraphQL, exports,
reports, subscriptions' re-reads, ingestion, the CLI — so the scopes are set, bound to the
statements (`resolvers/scope_sql.py`) and the personal-data audit written in this one place.

The connection is taken from the pool on the first statement and given back when the
request ends. Scopes are set with `set_config(…, true)`, so they die with the transaction
and never stay on a pooled connection. Statements are serialised: DataLoaders of one
request may dispatch at the same moment, and a connection runs one statement at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import asyncpg

from db import clock
from resolvers.errors import HubBusy, ServiceUnavailable, database_reachable
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
       set_config('hub.subject', $5, true), set_config('hub.now', $6, true),
       current_setting('idle_in_transaction_session_timeout') as idle_timeout
"""
UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(setting: str) -> float | None:
    """A PostgreSQL time setting as shown (`10s`, `200ms`, `0`), in seconds; None when off."""
    number = setting.rstrip("abcdefghijklmnopqrstuvwxyz")
    value = float(number or 0) * UNITS.get(setting[len(number) :], 0.001)
    return value or None


# A session's own limits, for work that outlasts a request's (an export waits on its reader
# between chunks).
SET_TIMEOUTS = """
select set_config('statement_timeout', $1, true),
       set_config('idle_in_transaction_session_timeout', $1, true)
"""

Rows = list[asyncpg.Record]
# per recipient: subject, client and its `read_personal_data` entries
Personal = list[tuple[str, str | None, list[dict[str, Any]]]]


def ltree_array(scope: Scope) -> str:
    return "{" + ",".join(scope) + "}"


def _literal(value: str) -> str:
    """A string as an escaped SQL literal (E'…', whatever standard_conforming_strings says)."""
    if "\x00" in value:
        raise ValueError("a NUL character cannot be sent to PostgreSQL")
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _begin(isolation: str | None, readonly: bool) -> str:
    begin = "begin"
    if isolation is not None:
        begin += " isolation level " + isolation.replace("_", " ")
    return begin + (" read only" if readonly else "")


def _begin_with_scopes(isolation: str | None, readonly: bool, caller: Caller) -> str:
    """BEGIN and the caller's scopes as one simple-protocol message: one round trip where a
    parameterised SET_SCOPES needs its own. Every value is a quoted literal."""
    values = [ltree_array(caller.scope(k)) for k in ("read", "editor", "pii", "auditor")]
    names = ("read_scope", "editor_scope", "pii_scope", "auditor_scope", "subject", "now")
    settings = ", ".join(
        f"set_config('hub.{name}', {_literal(value)}, true)"
        for name, value in zip(names, [*values, caller.subject, _pinned_now()], strict=True)
    )
    return f"{_begin(isolation, readonly)}; select {settings}"


def _pinned_now() -> str:
    """`hub.now` for SQL's `hub_now()` (0018_hub_clock.sql): the one clock's now while
    HUB_TODAY pins it, else empty (the transaction's now())."""
    return clock.now().isoformat() if clock.pinned() is not None else ""


async def _set_scopes(conn: Any, caller: Caller) -> str:
    """Sets the caller's scopes; returns the server's idle-in-transaction timeout."""
    idle: str = await conn.fetchval(
        SET_SCOPES,
        *(ltree_array(caller.scope(k)) for k in ("read", "editor", "pii", "auditor")),
        caller.subject,
        _pinned_now(),
        column=6,
    )
    return idle


class RequestSession:
    def __init__(
        self,
        pool: asyncpg.Pool,
        caller: Caller,
        *,
        readonly: bool = False,
        isolation: str | None = None,
        timeout_ms: int | None = None,
    ) -> None:
        self._pool = pool
        self._caller = caller
        self._readonly = readonly
        self._isolation = isolation
        self._timeout_ms = timeout_ms
        self._conn: Any = None
        self._savepoints = 0
        self._lock = asyncio.Lock()
        self.statements = 0
        # per recipient (subject, client) — the caller, unless `note_personal` names
        # another: the recipient, and the rows it read unmasked by record type, id → path
        self._personal: dict[tuple[str, str | None], tuple[Caller, dict[str, dict[str, Path]]]]
        self._personal = {}
        # When the connection last did something, and how long PostgreSQL lets a
        # transaction sit idle: a connection lost after idling that long was closed because
        # the hub was busy, not because the database went away.
        self._last = time.monotonic()
        self._idle_limit: float | None = None
        self._busy = False

    @property
    def caller(self) -> Caller:
        return self._caller

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            with database_reachable():
                self._conn = await self._pool.acquire()
            try:
                with database_reachable(self._conn):
                    idle = getattr(self._conn, "idle_timeout", None)  # a HubConnection's
                    if idle is not None:
                        await self._conn.execute(
                            _begin_with_scopes(self._isolation, self._readonly, self._caller)
                        )
                    else:
                        await self._conn.execute(_begin(self._isolation, self._readonly))
                        idle = await _set_scopes(self._conn, self._caller)
                    self._idle_limit = seconds(str(idle))
                    if self._timeout_ms is not None:
                        await self._conn.execute(SET_TIMEOUTS, str(self._timeout_ms))
                        self._idle_limit = self._timeout_ms / 1000
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
        except asyncpg.QueryCanceledError as error:
            # statement_timeout (the request itself never cancels a statement): its answer
            # waited on an event loop too busy to read it, or PostgreSQL on the hub's load.
            self._busy = True
            raise HubBusy() from error
        except ServiceUnavailable as error:
            if self._busy or (self._idle_limit is not None and idle >= self._idle_limit):
                self._busy = True  # what fails on this lost connection later fails so too
                raise HubBusy() from error
            raise
        except asyncpg.InFailedSQLTransactionError as error:
            if self._busy:  # the transaction a timeout aborted
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

    def note_personal(
        self, record_type: str, rows: Sequence[asyncpg.Record], recipient: Caller | None = None
    ) -> None:
        """Remember the rows given unmasked to the caller, for the audit log; or to
        `recipient`, a caller with the same read and pii scopes on whose behalf the session
        also read (a group of subscribers)."""
        who = recipient or self._caller
        if not who.pii:
            return
        _, kinds = self._personal.setdefault((who.subject, who.client), (who, {}))
        read = kinds.setdefault(record_type, {})
        for row in rows:
            if any(is_under(row["path"], p) for p in who.pii):
                read[str(row["id"])] = row["path"]

    async def audit_personal_now(self, record_type: str, rows: Sequence[asyncpg.Record]) -> None:
        """Audit the unmasked rows at once, committed on a connection of their own: for rows
        that leave before the session ends (an export's chunk), whatever becomes of it."""
        if rows:
            self.note_personal(record_type, rows)
        if not self._personal:
            return
        entries = self._take_personal()
        with database_reachable():
            async with self._pool.acquire() as conn, conn.transaction():
                await _set_scopes(conn, self._caller)
                await self._write_personal(conn, entries)

    async def cursor(
        self,
        sql: str,
        *args: Any,
        size: int,
        each: Callable[[Rows], Awaitable[None]] | None = None,
    ) -> AsyncGenerator[Rows, None]:
        """The rows of `sql` in chunks of `size`, through a server-side cursor declared in SQL
        (so it is planned for its first rows). The next chunk is fetched while the caller
        works on this one; `each` runs on the session first (say, to look up names)."""
        sql, args = self._bound(sql, args)
        async with self._lock:
            conn = await self._connection()
            self.statements += 1
            with database_reachable(conn):
                await conn.execute(f"declare session_rows no scroll cursor for {sql}", *args)
                fetch = await conn.prepare(f"fetch forward {int(size)} from session_rows")
        pending = asyncio.ensure_future(fetch.fetch())
        try:
            while rows := await pending:
                if each is not None:
                    await each(rows)
                pending = asyncio.ensure_future(fetch.fetch())
                yield rows
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                    await pending

    @contextlib.asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """A savepoint: what fails inside it is undone, and the request goes on."""
        async with self._lock:
            conn = await self._connection()
            self._savepoints += 1
            name = f"atomic_{self._savepoints}"
            with database_reachable(conn):
                await conn.execute(f"savepoint {name}")
        try:
            yield
        except BaseException:
            async with self._lock:
                await conn.execute(f"rollback to savepoint {name}")
            raise
        else:
            async with self._lock:
                await conn.execute(f"release savepoint {name}")

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
        with contextlib.suppress(Exception):  # a lost connection may be detached already
            if conn is not None and conn.is_in_transaction():  # left open by a failure
                await conn.execute("rollback")
        # A connection lost mid-request fails its reset; asyncpg then terminates it and
        # frees its slot in the pool before raising, so there is nothing left to undo.
        with contextlib.suppress(Exception):
            await self._pool.release(conn)

    def _take_personal(self) -> Personal:
        """The audit entries noted so far, per recipient, placed by `audit.place`; forgotten
        here."""
        # audit imports the lists, which import this module
        from resolvers.audit import place, region_code

        taken: Personal = []
        for (subject, client), (who, kinds) in self._personal.items():
            entries = []
            for kind, read in sorted(kinds.items()):
                by_path: dict[Path, list[str]] = {}
                for ident, path in read.items():
                    by_path.setdefault(path, []).append(ident)
                counts = {path: len(ids) for path, ids in by_path.items()}
                for placed in place(who.pii, counts):
                    ids = sorted(
                        i for p, some in by_path.items() if is_under(p, placed) for i in some
                    )
                    entries.append(
                        {"region_code": region_code(placed), "record_type": kind, "ids": ids}
                    )
            if entries:
                taken.append((subject, client, entries))
        self._personal = {}
        return taken

    async def _write_personal(self, conn: Any, personal: Personal) -> None:
        for subject, client, entries in personal:
            await conn.execute(AUDIT_READS, subject, client, entries)

    async def _finish(self, *, commit: bool) -> None:
        if commit and self._personal and not self._readonly:
            await self._write_personal(self._conn, self._take_personal())
        await self._conn.execute("commit" if commit else "rollback")
        if commit and self._personal:  # a read-only transaction audits on a connection of its own
            await self.audit_personal_now("", ())
