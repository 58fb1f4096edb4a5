"""Revoked tokens (`db/migrations/0009_revocation.sql`): revoking, as the owner, and the
in-memory list every hub process checks tokens against.

The list is loaded at start, reloaded when a NOTIFY on `token_revoked` says a token was
revoked (the notification is empty: any role can LISTEN, so it names no jti), and reloaded
every `reload_seconds` as a backstop for a notification missed while the listening
connection was down; a reload also forgets revocations whose tokens have expired. Watchers
(open WebSockets) hear of a revocation of their jti as the reload finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

log = logging.getLogger("grassroots.revocations")

CHANNEL = "token_revoked"
MAX_JTI = 200

# name: revoke-token — revoke a jti (again: keeps the first time, the later expiry).
REVOKE = "select revoke_token($1, $2, $3)"
# name: prune-revoked-tokens — forget revocations of tokens expired more than a day ago.
PRUNE = "select prune_revoked_tokens()"
# name: revoked-tokens — the revocations of tokens that have not expired yet.
LOAD = "select jti from revoked_tokens()"

Watcher = Callable[[], None]


async def revoke(
    owner: asyncpg.Connection, jti: str, expires_at: dt.datetime | None, reason: str | None
) -> dt.datetime:
    """Revoke `jti` (as the owner); returns when it was first revoked."""
    if not 0 < len(jti) <= MAX_JTI:
        raise ValueError(f"a jti has 1 to {MAX_JTI} characters")
    async with owner.transaction():
        at: dt.datetime = await owner.fetchval(REVOKE, jti, expires_at, reason)
        await owner.fetchval(PRUNE)
    return at


class RevocationList:
    """The revoked jtis, kept current in memory. `revoked(jti)` costs a set lookup."""

    def __init__(self, dsn: str, *, reload_seconds: float = 60.0) -> None:
        self._dsn = dsn
        self._reload_seconds = reload_seconds
        self._revoked: set[str] = set()
        self._watchers: dict[str, set[Watcher]] = {}
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._reloading: asyncio.Task[None] | None = None
        self._notified_again = False
        self._lock = asyncio.Lock()  # one reload at a time: they share a connection

    def __len__(self) -> int:
        return len(self._revoked)

    def revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def watch(self, jti: str, watcher: Watcher) -> Callable[[], None]:
        """Call `watcher` when `jti` is revoked; returns the function that stops watching."""
        self._watchers.setdefault(jti, set()).add(watcher)

        def stop() -> None:
            watchers = self._watchers.get(jti)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[jti]

        return stop

    async def start(self) -> None:
        """Load the list and listen; fails if the database cannot be reached now."""
        await self._connect()
        await self.reload()
        self._task = asyncio.create_task(self._refresh(), name="revocation-list")

    async def stop(self) -> None:
        if self._reloading is not None:
            self._reloading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reloading
            self._reloading = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._disconnect()

    async def reload(self) -> None:
        async with self._lock:
            await self._load()

    async def _load(self) -> None:
        conn = self._conn
        if conn is None or conn.is_closed():
            conn = await asyncpg.connect(self._dsn)
            try:
                rows = await conn.fetch(LOAD)
            finally:
                await conn.close()
        else:
            rows = await conn.fetch(LOAD)
        loaded = {row["jti"] for row in rows}
        fresh = loaded - self._revoked
        self._revoked = loaded
        for jti in fresh:
            self._tell(jti)

    def _tell(self, jti: str) -> None:
        for watcher in list(self._watchers.get(jti, ())):
            try:
                watcher()
            except Exception:  # one failing watcher must not keep the others uninformed
                log.exception("a revocation watcher failed")

    def _notified(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        if self._reloading is not None and not self._reloading.done():
            # The reload under way may have read before this revocation committed.
            self._notified_again = True
            return
        self._reloading = asyncio.create_task(self._reload_notified(), name="revocation-reload")

    async def _reload_notified(self) -> None:
        again = True
        while again:
            self._notified_again = False
            try:
                await self.reload()
            except Exception as error:  # the periodic reload tries again
                log.warning("could not reload the revoked tokens (%s)", error)
                return
            again = self._notified_again

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self._dsn, server_settings={"application_name": "hub-revocations"}
        )
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2)
            if not conn.is_closed():
                conn.terminate()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._reload_seconds)
            try:
                if self._conn is None or self._conn.is_closed():
                    await self._disconnect()
                    await self._connect()
                await self.reload()
            except Exception as error:  # keep the list we have; try again next time
                log.warning("could not reload the revoked tokens (%s)", error)
