"""Live changes of service requests: one LISTEN connection, one read per group of subscribers.

A trigger logs each changed request (its id and region path) in `change_log` and NOTIFYs
`service_request_changed` with an empty payload: any role can LISTEN, so a notification
says only that something changed (`db/migrations/0011_change_log.sql`). The process holds
one dedicated connection, as the runtime role, that listens on that channel and wakes every
group of subscribers without waiting for any of them.

A group is the subscriptions whose callers have identical read and pii scopes: what they
may see, and how it is masked, is the same. On each wake-up the group reads the log after
its position and the requests it names, once, in a session of one member (so the SQL scope
and row-level security both apply: a group never learns of a change it cannot see), then
hands each member the requests under its `under` and writes a `read_personal_data` audit
entry for every subject that receives a request unmasked.

The log is read in (transaction, sequence) order and only below the oldest transaction
still running, so a transaction that commits after a later one is never skipped. The log
keeps ten minutes of changes; a group whose position lies before what has been pruned ends
every member with `FellBehind`, as does a member whose queue fills up, and every group when
the LISTEN connection is lost and re-established (changes may have committed while nobody
listened). Only a fresh subscription (and a refetch) can set that right.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from db import clock
from resolvers import services
from resolvers.context import Context
from resolvers.loaders.base import Row
from resolvers.loaders.records import ServiceRequestByIdLoader, ServiceRequestHistoryLoader
from resolvers.scope import Caller, Scope, is_under
from resolvers.scope_sql import in_scope
from resolvers.session import RequestSession

log = logging.getLogger("grassroots.changes")

CHANNEL = "service_request_changed"
# Changes a subscriber may have waiting; it holds a 10,000-record import.
QUEUE_SIZE = 10_000
# Log rows read together in one delivery (one statement for the rows, one for histories).
BATCH = 500
# Versions remembered per subscription, so a request logged twice for one version is
# delivered once.
REMEMBERED = 4096
KEEPALIVE_SECONDS = 30.0
# A group that saw committed changes held back by an older transaction still running looks
# again after this long, whether or not another notification comes.
HELD_BACK_SECONDS = 0.2
# Back-off between attempts to reconnect: short, so a restarted PostgreSQL is heard again
# within a couple of seconds.
RECONNECT_SECONDS = (0.25, 0.5, 1.0, 2.0)
CONNECT_TIMEOUT_SECONDS = 5.0

# name: change-log-position — where a new group starts: every transaction still running,
# and every later one, is ahead of it.
START = "select pg_snapshot_xmin(pg_current_snapshot())::text::bigint"

# name: change-log-after — the logged changes after a group's position that its scope
# sees, from transactions below the oldest one still running (`upto`); with the pruned
# horizon, and whether changes it sees are held back by a transaction still running.
AFTER = f"""
with bound as (select pg_snapshot_xmin(pg_current_snapshot()) as upto)
select h.pruned_tx::text::bigint as pruned_tx, h.pruned_seq, b.upto::text::bigint as upto,
       exists (select from change_log l
               where l.tx >= b.upto and (l.tx, l.seq) > ($1::text::xid8, $2::bigint)
                 and {in_scope("l.path")}) as held,
       c.tx::text::bigint as tx, c.seq, c.request_id
from change_log_horizon h cross join bound b
left join lateral (
    select l.tx, l.seq, l.request_id from change_log l
    where (l.tx, l.seq) > ($1::text::xid8, $2::bigint) and l.tx < b.upto
      and {in_scope("l.path")}
    order by l.tx, l.seq
    limit $3
) c on true
order by c.tx, c.seq"""

Position = tuple[int, int]  # (transaction, sequence number) in the log


class FellBehind(Exception):
    """The subscriber's queue overflowed, its group fell behind the log's retention, or the
    feed lost its connection: changes were missed, and the subscription must end."""


@dataclass(frozen=True)
class Change:
    action: str
    row: Row
    history: Row | None


class GroupSession(RequestSession):
    """A session that reads on behalf of every member of a group: what it reads is audited
    for each recipient of it (`note_personal(…, recipient=…)`), not for the reader."""

    async def fetch_records(self, record_type: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.fetch(sql, *args)


class Subscriber:
    """One subscription: its `under`, its bounded queue of changes, what it was given."""

    def __init__(self, group: Group, caller: Caller, targets: Scope, limit: int) -> None:
        self.group = group
        self.caller = caller
        self.targets = targets
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue(maxsize=limit)
        self._delivered: OrderedDict[uuid.UUID, int] = OrderedDict()
        self.reason: str | None = None

    def wants(self, row: Row) -> bool:
        """Whether `row` lies under the subscription's `under` and is news to it."""
        if not any(is_under(row["path"], t) for t in self.targets):
            return False
        return bool(self._delivered.get(row["id"], -1) < row["version"])

    def offer(self, change: Change) -> None:
        """Called by the group, never waiting: a full queue drops the subscriber."""
        self._delivered[change.row["id"]] = change.row["version"]
        self._delivered.move_to_end(change.row["id"])
        if len(self._delivered) > REMEMBERED:
            self._delivered.popitem(last=False)
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            self.fail(
                f"More than {self._queue.maxsize} changes were waiting for this subscription; "
                "subscribe again and refetch"
            )

    def fail(self, reason: str) -> None:
        if self.reason is not None:
            return
        self.reason = reason
        self.group.remove(self)
        # Wake a waiting `take` so it notices; the waiting changes are no longer needed.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def take(self, most: int) -> list[Change]:
        """The next changes (at least one, at most `most`, in order)."""
        first = await self._queue.get()
        changes = [first]
        while len(changes) < most and not self._queue.empty():
            changes.append(self._queue.get_nowait())
        if self.reason is not None:
            raise FellBehind(self.reason)
        return [c for c in changes if c is not None]

    def close(self) -> None:
        self.group.remove(self)


def _action(history: Row | None) -> str:
    entries: Sequence[dict[str, Any]] = history["history"] if history is not None else ()
    return str(entries[-1]["action"]) if entries else "update"


class Group:
    """Subscribers with identical read and pii scopes, and their one reader."""

    def __init__(self, feed: ChangeFeed, pool: asyncpg.Pool, position: Position) -> None:
        self._feed = feed
        self._pool = pool
        self.position = position
        self.members: dict[Subscriber, None] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, subscriber: Subscriber) -> None:
        self.members[subscriber] = None
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="change-group")

    def remove(self, subscriber: Subscriber) -> None:
        self.members.pop(subscriber, None)
        if not self.members:
            # The reader ends after the read under way, if any: cancelled in the middle of
            # a statement, it would hand the pool a connection still busy.
            self._feed.forget(self)
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def fail(self, reason: str) -> None:
        for member in list(self.members):
            member.fail(reason)

    async def _run(self) -> None:
        while self.members:
            await self._wake.wait()
            self._wake.clear()
            if not self.members:
                return
            try:
                again = await self._read()
            except FellBehind as behind:
                self.fail(str(behind))
                return
            except Exception:
                log.exception("a group of subscribers could not read the change log")
                self.fail("The change feed could not be read; subscribe again and refetch")
                return
            if again == "now":
                self._wake.set()
            elif again == "soon":
                asyncio.get_running_loop().call_later(HELD_BACK_SECONDS, self._wake.set)

    async def _read(self) -> str | None:
        """Read the log once and deliver; whether to read again `now` (a full batch) or
        `soon` (changes held back by a transaction still running)."""
        members = list(self.members)
        if not members:
            return None
        reader = members[0].caller
        session = GroupSession(self._pool, reader)
        try:
            logged = await session.fetch(AFTER, str(self.position[0]), self.position[1], BATCH)
            bound = logged[0]
            if (bound["pruned_tx"], bound["pruned_seq"]) > self.position:
                raise FellBehind(
                    "The change log no longer holds every change since this subscription's "
                    "last delivery; subscribe again and refetch"
                )
            found = [row for row in logged if row["seq"] is not None]
            keys = list(dict.fromkeys(row["request_id"] for row in found))
            deliveries = await self._deliveries(session, reader, members, keys)
            await session.close(commit=True)
        except BaseException:
            with contextlib.suppress(Exception):
                await session.close(commit=False)
            raise
        finally:
            self._feed.statements += session.statements
        if len(found) == BATCH:
            self.position = (found[-1]["tx"], found[-1]["seq"])
        else:  # everything below `upto` that this scope sees has been read
            self.position = max(self.position, (bound["upto"], 0))
        for member, changes in deliveries:
            for change in changes:
                member.offer(change)
        if len(found) == BATCH:
            return "now"
        return "soon" if bound["held"] else None

    async def _deliveries(
        self,
        session: GroupSession,
        reader: Caller,
        members: list[Subscriber],
        keys: list[uuid.UUID],
    ) -> list[tuple[Subscriber, list[Change]]]:
        """Each member's changes among the requests `keys`, read once; the unmasked ones
        are audited for each recipient when the session commits."""
        if not keys:
            return []
        rows = await services.by_ids(session, keys)
        by_id = {row["id"]: row for row in rows}
        visible = [by_id[key] for key in keys if key in by_id]
        histories = {
            row["id"]: row
            for row in await services.histories(session, [row["id"] for row in visible])
        }
        deliveries: list[tuple[Subscriber, list[Change]]] = []
        for member in members:
            changes = [
                Change(_action(histories.get(row["id"])), row, histories.get(row["id"]))
                for row in visible
                if member.wants(row)
            ]
            deliveries.append((member, changes))
            session.note_personal(
                "ServiceRequest", [change.row for change in changes], recipient=member.caller
            )
        return deliveries


class ChangeFeed:
    """The process-wide LISTEN connection and the groups of subscribers it wakes."""

    def __init__(self, dsn: str, *, queue_size: int | None = None) -> None:
        self._dsn = dsn
        self._queue_size = queue_size
        self._groups: dict[tuple[Scope, Scope], Group] = {}
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self.connections = 0  # how many times the feed has (re)connected
        self.statements = 0  # statements the groups have run to read and deliver changes

    @property
    def subscribers(self) -> int:
        return sum(len(group.members) for group in self._groups.values())

    @property
    def groups(self) -> int:
        return len(self._groups)

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
        for group in list(self._groups.values()):
            group.fail("The hub is shutting down")

    async def subscribe(self, pool: asyncpg.Pool, caller: Caller, targets: Scope) -> Subscriber:
        """A subscriber hearing every change committed from now on that `caller` sees."""
        key = (caller.read, caller.pii)
        group = self._groups.get(key)
        if group is None:
            position: int = await pool.fetchval(START)
            group = self._groups.get(key)  # another subscriber may have made it meanwhile
            if group is None:
                group = self._groups[key] = Group(self, pool, (position, 0))
        subscriber = Subscriber(group, caller, targets, self._queue_size or QUEUE_SIZE)
        group.add(subscriber)
        return subscriber

    def forget(self, group: Group) -> None:
        for key, found in list(self._groups.items()):
            if found is group:
                del self._groups[key]

    def _wake_all(self) -> None:
        for group in list(self._groups.values()):
            group.wake()

    def _notified(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        self._wake_all()

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
                self._wake_all()  # a backstop for rows held back by a long transaction
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
            # Whatever committed while nobody listened may be lost to the subscribers.
            for group in list(self._groups.values()):
                group.fail("The change feed was interrupted; subscribe again and refetch")
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
        self.now = clock.now()

    async def release(self) -> None:
        """Commit (recording reads of personal data) and give the connection back."""
        await self.session.close(commit=True)


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
    subscriber = await ctx.feed.subscribe(ctx.pool, ctx.caller, targets)
    try:
        while True:
            for change in await subscriber.take(BATCH):
                # Fields below the request read through a session of their own; the loaders
                # start with the rows the group read.
                ctx.renew()
                key = change.row["id"]
                ctx.loader(ServiceRequestByIdLoader).prime(key, change.row)
                ctx.loader(ServiceRequestHistoryLoader).prime(key, change.history)
                yield change.action, change.row
                await ctx.release()
    finally:
        subscriber.close()
        # Cancelled in the middle of a delivery, the transaction may not commit. The
        # connection goes back to the pool either way.
        with contextlib.suppress(Exception):
            await ctx.release()
