"""Loader shapes shared by every domain: rows by a unique key, rows grouped by a key, counts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import asyncpg
from strawberry.dataloader import Batch, DataLoader, dispatch_batch

from resolvers.turnstile import turnstile

if TYPE_CHECKING:
    from resolvers.context import Context

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Row = asyncpg.Record


class ContextLoader(DataLoader[K, V], Generic[K, V]):
    """A DataLoader bound to one request's context, plus fixed arguments of the batch."""

    def __init__(self, ctx: Context, *args: Any) -> None:
        self.ctx = ctx
        self.args = args
        super().__init__(load_fn=self.load_batch)

    async def load_batch(self, keys: list[K]) -> list[V]:
        raise NotImplementedError

    def load(self, key: K) -> Awaitable[V]:
        """Strawberry's `load` (a future), but a heavy request's batch waits until none of
        its resolvers queues at the turnstile, and its answers pass the turnstile."""
        future = self.cache_map.get(key) if self.cache else None
        if future is None or future.cancelled():
            future = self.loop.create_future()
            if self.cache:
                self.cache_map.set(key, future)
            batch = self.batch
            if batch is None or not batch.tasks or batch.dispatched:
                batch = self.batch = Batch()
                self.loop.call_soon(self._schedule, batch)
            batch.add_task(key, future)
        paused = self.ctx.paused
        return turnstile().relay(paused, future) if paused.queues else future

    def _schedule(self, batch: Batch[K, V]) -> None:
        queues = self.ctx.paused.queues  # a light request's batch goes at once, as before
        sending = self._dispatch(batch) if queues else dispatch_batch(self, batch)
        batch._dispatch_task = asyncio.ensure_future(sending)

    async def _dispatch(self, batch: Batch[K, V]) -> None:
        await turnstile().quiet(self.ctx.paused)
        await dispatch_batch(self, batch)


class RowByKeyLoader(ContextLoader[K, Row | None]):
    """One statement for a batch of keys; `None` for a key the caller cannot see.

    >>> row = await ctx.loader(OrganizationByIdLoader).load(org_id)
    """

    key_column = "id"

    async def fetch(self, keys: list[K]) -> Sequence[Row]:
        raise NotImplementedError

    async def load_batch(self, keys: list[K]) -> list[Row | None]:
        found = {row[self.key_column]: row for row in await self.fetch(keys)}
        return [found.get(key) for key in keys]


class RowsByKeyLoader(ContextLoader[K, list[Row]]):
    """One statement for a batch of keys; each key gets its rows in statement order."""

    key_column = "id"

    async def fetch(self, keys: list[K]) -> Sequence[Row]:
        raise NotImplementedError

    async def load_batch(self, keys: list[K]) -> list[list[Row]]:
        grouped: dict[Any, list[Row]] = {key: [] for key in keys}
        for row in await self.fetch(keys):
            grouped[row[self.key_column]].append(row)
        return [grouped[key] for key in keys]


class CountByKeyLoader(ContextLoader[K, int]):
    """One statement counting for a batch of keys; 0 for a key with nothing visible."""

    async def counts(self, keys: list[K]) -> Mapping[Any, int]:
        raise NotImplementedError

    async def load_batch(self, keys: list[K]) -> list[int]:
        found = await self.counts(keys)
        return [found.get(key, 0) for key in keys]
