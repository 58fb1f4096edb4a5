"""Open subscription sockets per token subject, up to a cap.

In memory (`SubjectSockets`) each process counts its own, so with N workers each holds the
cap ÷ N (never below 1). Through Redis (`SharedSockets`, with `HUB_RATE_LIMIT_STORAGE`) every
process counts against the whole cap: a subject's sockets are members of one sorted set,
scored by when their process last said they were open (every `HEARTBEAT_SECONDS`), so the
sockets of a process that died stop counting after `STALE_SECONDS`. Redis unreachable: the
in-memory cap ÷ N applies meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from server.limitstore import LimitStore

HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 90.0
KEY_PREFIX = "hub:sockets:"

# Drop members not heard of lately, then add this one if the set holds fewer than the cap.
CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class SubjectSockets:
    """How many sockets each token subject holds open in this process, up to `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    async def claim(self, subject: str) -> str | None:
        """A ticket for `release`, or None when the subject holds `limit` sockets already."""
        return self.claim_here(subject)

    def claim_here(self, subject: str) -> str | None:
        held = self._open.get(subject, 0)
        if held >= self.limit:
            return None
        self._open[subject] = held + 1
        return subject

    async def release(self, ticket: str) -> None:
        self.release_here(ticket)

    def release_here(self, ticket: str) -> None:
        held = self._open.get(ticket, 0) - 1
        if held > 0:
            self._open[ticket] = held
        else:
            self._open.pop(ticket, None)

    async def close(self) -> None:
        """Nothing to stop (the shared variant's heartbeat)."""


class SharedSockets(SubjectSockets):
    """The cap counted in Redis across every hub process; `local` meanwhile when it is down."""

    def __init__(self, limit: int, store: LimitStore, local: SubjectSockets) -> None:
        super().__init__(limit)
        self.store = store
        self.local = local
        self._held: dict[str, str] = {}  # ticket -> Redis key, for the heartbeat
        self._redis: Any = store.client  # redis-py's asyncio client
        self._claim = self._redis.register_script(CLAIM)
        self._heartbeat: asyncio.Task[None] | None = None

    async def claim(self, subject: str) -> str | None:
        key, member, now = KEY_PREFIX + subject, uuid.uuid4().hex, time.time()
        args = [now, now - STALE_SECONDS, self.limit, member, int(STALE_SECONDS)]
        granted = await self.store.attempt(lambda: self._claim(keys=[key], args=args))
        if granted is None:  # Redis unreachable: this process's part of the cap
            ticket = self.local.claim_here(subject)
            return None if ticket is None else "local:" + ticket
        if not granted:
            return None
        ticket = f"{key} {member}"
        self._held[ticket] = key
        self._start_heartbeat()
        return ticket

    async def release(self, ticket: str) -> None:
        if ticket.startswith("local:"):
            self.local.release_here(ticket.removeprefix("local:"))
            return
        key = self._held.pop(ticket, None)
        if key is not None:
            member = ticket.split(" ", 1)[1]
            await self.store.attempt(lambda: self._redis.zrem(key, member))

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self) -> None:
        while self._held:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for ticket, key in list(self._held.items()):
                await self._touch(key, ticket.split(" ", 1)[1], time.time())

    async def _touch(self, key: str, member: str, now: float) -> None:
        await self.store.attempt(lambda: self._redis.zadd(key, {member: now}, xx=True))

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        for ticket in list(self._held):
            with contextlib.suppress(Exception):
                await self.release(ticket)
