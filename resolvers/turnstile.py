"""Turns of the event loop shared fairly: a heavy request's resumed resolvers take one each.

When a DataLoader batch answers, every resolver waiting on it becomes ready at once, and the
loop runs all of them (and the completion of everything below them) before it reads its
sockets again: 2,000 requests' history or 250 villages' pages are seconds of Python on a
loaded machine, during which `/healthz` waits. So a heavy request's resolver resumed after
a load passes `pause()`: once `SLICE_SECONDS` have passed since the last one was let in,
it queues, and the queue lets one resolver in per turn of the loop, in arrival order; the
loop polls its sockets between turns. Light requests never queue. A request's batches are
dispatched only once none of its resolvers queues (`quiet()`), so queueing never splits a
batch: statements stay bounded by the query's depth.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# Resolvers resumed within this long after the last one let in go on without queueing.
SLICE_SECONDS = 0.01
# Turns a batch waits, after the last resolver let in from the queue, before it is sent.
CALM_TURNS = 5
# A heavy request's list longer than this is completed this many items at a time.
CHUNK = 20


@dataclass
class Paused:
    """A request's place at the turnstile: whether it queues, and how many of its resolvers
    wait in the queue."""

    queues: bool = False
    count: int = 0
    let_in: int = 0  # how many were let in from the queue


class Turnstile:
    """One per event loop (`turnstile()`): the loop is shared by every request."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.queue: deque[tuple[Paused, Callable[[], None]]] = deque()

    def admit(self, paused: Paused, release: Callable[[], None]) -> None:
        """Calls `release` (which wakes a resolver) now if the turn has time left and none
        waits, else in a later turn: one per turn, in arrival order."""
        if not self.queue and time.perf_counter() - self.started < SLICE_SECONDS:
            release()
            return
        self.queue.append((paused, release))
        paused.count += 1
        if len(self.queue) == 1:
            asyncio.get_running_loop().call_soon(self._wake)

    def _wake(self) -> None:
        paused, release = self.queue.popleft()
        paused.count -= 1
        paused.let_in += 1
        self.started = time.perf_counter()
        try:
            release()
        finally:
            if self.queue:  # the next one in the next turn
                asyncio.get_running_loop().call_soon(self._wake)

    async def pause(self, paused: Paused) -> None:
        if not paused.queues:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def release() -> None:
            if not waiter.done():
                waiter.set_result(None)

        self.admit(paused, release)
        await waiter

    def relay(self, paused: Paused, source: asyncio.Future[T]) -> asyncio.Future[T]:
        """A future answered as `source` is, once admitted (a loader's answer)."""
        answer: asyncio.Future[T] = source.get_loop().create_future()

        def copy() -> None:
            if answer.done():
                return
            if source.cancelled():
                answer.cancel()
            elif (error := source.exception()) is not None:
                answer.set_exception(error)
            else:
                answer.set_result(source.result())

        def answered(_: asyncio.Future[T]) -> None:
            if not answer.done():
                self.admit(paused, copy)

        source.add_done_callback(answered)
        return answer

    @staticmethod
    async def quiet(paused: Paused) -> None:
        """Until none of the request's resolvers queues, nor was let in during the last
        `CALM_TURNS` turns: what one let in completes starts its nested resolvers (which
        add keys) a few turns later, one turn per level of nested awaitables."""
        calm, seen = 0, paused.let_in
        while paused.count or (paused.let_in and calm < CALM_TURNS):
            await asyncio.sleep(0)
            if paused.count or paused.let_in != seen:
                calm, seen = 0, paused.let_in
            else:
                calm += 1


_turnstiles: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Turnstile]
_turnstiles = weakref.WeakKeyDictionary()


def turnstile() -> Turnstile:
    """The running event loop's turnstile (one hub process, one loop; a test's loop its own,
    so nothing queued under a closed loop can hold up another)."""
    loop = asyncio.get_running_loop()
    found = _turnstiles.get(loop)
    if found is None:
        found = _turnstiles[loop] = Turnstile()
    return found


class _InTurns(Generic[T]):
    """A list graphql-core completes item by item (an async iterable), passing the
    turnstile every `CHUNK` items."""

    def __init__(self, items: Sequence[T], paused: Paused) -> None:
        self.items = items
        self.paused = paused

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        for index, item in enumerate(self.items):
            if index and not index % CHUNK:
                await turnstile().pause(self.paused)
            yield item


def in_turns(items: Sequence[T], paused: Paused) -> Sequence[T] | _InTurns[T]:
    """`items` as they are, or in turns when a heavy request's list is long."""
    if not paused.queues or len(items) <= CHUNK:
        return items
    return _InTurns(items, paused)
