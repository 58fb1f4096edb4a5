"""Live changes of service requests: one LISTEN connection, fanned out to subscribers.

A trigger NOTIFYs `service_request_changed` with nothing but the changed request's id
(every role can LISTEN, so a notification must carry no data). The process holds one
dedicated connection, as the runtime role, that listens on that channel and hands each id
to every subscriber's bounded queue without waiting for any of them. Each subscriber then
re-reads the request under its own caller's scope — a fresh session and loaders per
delivery, so the SQL scope and row-level security both apply — and hears of it only if
the request is visible and lies under the subscription's `under`.

A subscriber that lets its queue fill up is dropped from the fan-out and its stream ends
with `FellBehind`: it has missed changes, and only a fresh subscription (and a refetch)
can set that right. When the LISTEN connection is lost and re-established, every
subscriber ends the same way, since changes may have committed while nobody listened.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from resolvers.context import Context
from resolvers.loaders.base import Row
from resolvers.loaders.records import ServiceRequestByIdLoader, ServiceRequestHistoryLoader
from resolvers.scope import Scope, is_under
from resolvers.session import RequestSession

log = logging.getLogger("grassroots.changes")

CHANNEL = "service_request_changed"
# Ids a subscriber may have waiting. The fan-out puts the same id object in every queue,
# so a full queue costs a few dozen kilobytes; it holds a 10,000-record import.
QUEUE_SIZE = 10_000
# Ids re-read together in one delivery (one statement for the rows, one for histories).
BATCH = 500
# Versions remembered per subscription, so an id notified twice is delivered once.
REMEMBERED = 4096
KEEPALIVE_SECONDS = 30.0
# Back-off between attempts to reconnect: short, so a restarted PostgreSQL is heard again
# within a couple of seconds.
RECONNECT_SECONDS = (0.25, 0.5, 1.0, 2.0)
CONNECT_TIMEOUT_SECONDS = 5.0


class FellBehind(Exception):
    """The subscriber's queue overflowed, or the feed lost its connection: changes were
    missed, and the subscription must end."""


class Subscriber:
    """One subscription's bounded queue of changed ids."""

    def __init__(self, feed: ChangeFeed, limit: int) -> None:
        self._feed = feed
        self._queue: asyncio.Queue[uuid.UUID] = asyncio.Queue(maxsize=limit)
        self.reason: str | None = None

    def offer(self, key: uuid.UUID) -> None:
        """Called by the feed, never waiting: a full queue drops the subscriber."""
        try:
            self._queue.put_nowait(key)
        except asyncio.QueueFull:
            self.fail(
                f"More than {self._queue.maxsize} changes were waiting for this subscription; "
                "subscribe again and refetch"
            )

    def fail(self, reason: str) -> None:
        if self.reason is not None:
            return
        self.reason = reason
        self._feed.remove(self)
        # Wake a waiting `take` so it notices; the waiting ids are no longer needed.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(uuid.UUID(int=0))

    async def take(self, most: int) -> list[uuid.UUID]:
        """The next changed ids (at least one, at most `most`, each once, in order)."""
        first = await self._queue.get()
        keys: dict[uuid.UUID, None] = {first: None}
        while len(keys) < most and not self._queue.empty():
            keys[self._queue.get_nowait()] = None
        if self.reason is not None:
            raise FellBehind(self.reason)
        return list(keys)

    def close(self) -> None:
        self._feed.remove(self)


class ChangeFeed:
    """The process-wide LISTEN connection and its subscribers."""

    def __init__(self, dsn: str, *, queue_size: int | None = None) -> None:
        self._dsn = dsn
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self.connections = 0  # how many times the feed has (re)connected

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def listening(self) -> bool:
        """Whether the LISTEN connection is up (as far as this process knows)."""
        conn = self._conn
        return conn is not None and not conn.is_closed() and not self._lost.is_set()

    async def start(self) -> None:
        """Connect and listen; fails if the database cannot be reached now."""
        await self._connect()
        self._supervisor = asyncio.create_task(self._supervise(), name="change-feed")

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._disconnect()
        for subscriber in list(self._subscribers):
            subscriber.fail("The hub is shutting down")

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(self, self._queue_size or QUEUE_SIZE)
        self._subscribers.add(subscriber)
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def _notified(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        try:
            key = uuid.UUID(str(payload))
        except ValueError:
            log.warning("ignored a %s notification that is not an id", CHANNEL)
            return
        for subscriber in list(self._subscribers):
            subscriber.offer(key)

    def _terminated(self, conn: Any) -> None:
        self._lost.set()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self._dsn,
            timeout=CONNECT_TIMEOUT_SECONDS,
            server_settings={"application_name": "hub-feed"},
        )
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._terminated)
        self._lost.clear()
        self._conn = conn
        self.connections += 1

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        conn.remove_termination_listener(self._terminated)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), timeout=2)
        if not conn.is_closed():
            conn.terminate()

    async def _alive(self) -> bool:
        """Whether the connection still answers (a dead peer may not close the socket)."""
        conn = self._conn
        if conn is None or conn.is_closed() or self._lost.is_set():
            return False
        try:
            await conn.fetchval("select 1", timeout=KEEPALIVE_SECONDS / 3)
        except Exception:
            return False
        return True

    async def _supervise(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=KEEPALIVE_SECONDS)
            if await self._alive():
                continue
            log.warning("the %s listener lost its connection; reconnecting", CHANNEL)
            await self._disconnect()
            attempt = 0
            while True:
                try:
                    await self._connect()
                    break
                except Exception as error:  # whatever it is, keep trying: never stop listening
                    delay = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                    log.warning("the %s listener cannot reconnect (%s)", CHANNEL, error)
                    attempt += 1
                    await asyncio.sleep(delay)
            # Whatever committed while nobody listened is lost to the subscribers.
            for subscriber in list(self._subscribers):
                subscriber.fail("The change feed was interrupted; subscribe again and refetch")
            log.info("the %s listener is back", CHANNEL)


@dataclass
class LiveContext(Context):
    """A subscription's context. Each delivery renews the session and loaders, so it reads
    under the caller's scope as it is now and no row read for an earlier delivery is
    served again; `release` ends the delivery's transaction before anything is sent."""

    pool: asyncpg.Pool = field(kw_only=True)
    feed: ChangeFeed = field(kw_only=True)

    def renew(self) -> None:
        self.session = RequestSession(self.pool, self.caller)
        self._loaders = {}
        self.now = dt.datetime.now(dt.UTC)

    async def release(self) -> None:
        """Commit (recording reads of personal data) and give the connection back."""
        await self.session.close(commit=True)


def _action(history: Row | None) -> str:
    entries: Sequence[dict[str, Any]] = history["history"] if history is not None else ()
    return str(entries[-1]["action"]) if entries else "update"


async def service_request_changes(
    ctx: LiveContext, targets: Scope
) -> AsyncIterator[tuple[str, Row]]:
    """`(action, row)` for each change, committed from now on, of a service request that the
    caller can see under `targets` (the read scope intersected with `under`); the row is
    read as `ServiceRequestByIdLoader` reads it (masked without `pii`). Between two items
    the context's session is the delivery's own; it is released after each item."""
    if not targets:
        # Nothing can match (an `under` outside the scope): hear nothing, read nothing.
        await asyncio.get_running_loop().create_future()
    subscriber = ctx.feed.subscribe()
    delivered: OrderedDict[uuid.UUID, int] = OrderedDict()
    try:
        while True:
            keys = await subscriber.take(BATCH)
            ctx.renew()
            rows = await ctx.loader(ServiceRequestByIdLoader).load_many(keys)
            wanted: list[Row] = []
            for row in rows:
                if row is None or not any(is_under(row["path"], t) for t in targets):
                    continue
                if delivered.get(row["id"], -1) >= row["version"]:
                    continue  # notified twice for one version: already delivered
                wanted.append(row)
            histories = await ctx.loader(ServiceRequestHistoryLoader).load_many(
                [row["id"] for row in wanted]
            )
            await ctx.release()
            for row, history in zip(wanted, histories, strict=True):
                delivered[row["id"]] = row["version"]
                delivered.move_to_end(row["id"])
                if len(delivered) > REMEMBERED:
                    delivered.popitem(last=False)
                # Fields below the request read through a session of their own; the loaders
                # keep the rows just read.
                ctx.session = RequestSession(ctx.pool, ctx.caller)
                yield _action(history), row
                await ctx.release()
    finally:
        subscriber.close()
        # Cancelled in the middle of a read, the transaction may not commit: nothing of it
        # was delivered. The connection goes back to the pool either way.
        with contextlib.suppress(Exception):
            await ctx.release()
