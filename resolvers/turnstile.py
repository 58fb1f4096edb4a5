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
from collections import deque
from dataclasses import dataclass

# Resolvers resumed within this long after the last one let in go on without queueing.
SLICE_SECONDS = 0.01
# Turns a batch waits, after the last resolver let in from the queue, before it is sent.
CALM_TURNS = 4


@dataclass
class Paused:
    """A request's place at the turnstile: whether it queues, and how many of its resolvers
    wait in the queue."""

    queues: bool = False
    count: int = 0
    let_in: int = 0  # how many were let in from the queue


class Turnstile:
    """One per process: the event loop is shared by every request."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.queue: deque[asyncio.Future[None]] = deque()

    def _wake(self) -> None:
        while self.queue:
            waiter = self.queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def pause(self, paused: Paused) -> None:
        if not paused.queues:
            return
        if not self.queue and time.perf_counter() - self.started < SLICE_SECONDS:
            return
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self.queue.append(waiter)
        if len(self.queue) == 1:
            loop.call_soon(self._wake)
        paused.count += 1
        try:
            await waiter
        finally:  # let in, or cancelled: either way the next one is let in next turn
            paused.count -= 1
            paused.let_in += 1
            self.started = time.perf_counter()
            if self.queue:
                loop.call_soon(self._wake)

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


TURNSTILE = Turnstile()
