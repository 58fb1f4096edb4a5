"""Where rate-limit counts live: this process's memory, or Redis shared by every hub process.

Redis is reached with the `limits` library's asyncio storage (redis-py's asyncio client, 250 ms
timeouts), so a slow Redis holds only the request that waits on it, never the event loop. When
a call fails the store stays away from Redis for `BACKOFF_SECONDS` (every request meanwhile is
decided without it, at once) and then tries again; `/readyz` and `/metrics` show it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from limits.aio.storage import RedisStorage
from limits.storage import MemoryStorage

log = logging.getLogger("grassroots.ratelimit")

T = TypeVar("T")
# How often the counters of callers whose windows have passed are dropped (memory only:
# an expired counter is ignored when it is read anyway).
SWEEP_SECONDS = 10.0


class SweptMemoryStorage(MemoryStorage):
    """`MemoryStorage` that sweeps expired counters inline, at most every SWEEP_SECONDS.

    The library's own sweep starts a new `threading.Timer` thread on a hit whenever the last
    one has finished (10 ms after it started): under steady load, a thread per request and
    a scan of every key in it, contending for the interpreter lock with the event loop.
    """

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        self.sweeps = 0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the library's private hook
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self.sweeps += 1
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


TIMEOUT_SECONDS = 0.25
BACKOFF_SECONDS = 1.0


class LimitStore:
    """The counters: `memory` in this process, or `redis` (asyncio) shared by every process."""

    def __init__(self, url: str | None, *, workers: int = 1, fail_closed: bool = False) -> None:
        self.shared = url is not None
        self.workers = workers
        self.fail_closed = fail_closed
        self.memory = SweptMemoryStorage()
        self.redis: RedisStorage | None = None
        self._errors: tuple[type[BaseException], ...] = ()
        if url is not None:
            self.redis = RedisStorage(
                url,
                implementation="redispy",
                socket_timeout=TIMEOUT_SECONDS,
                socket_connect_timeout=TIMEOUT_SECONDS,
            )
            base = self.redis.base_exceptions
            self._errors = (*(base if isinstance(base, tuple) else (base,)), OSError)
        self.errors = 0  # decisions taken without the storage, since start
        self._down_until = -float("inf")
        self._failure: str | None = None

    @property
    def client(self) -> Any:
        """The redis-py asyncio client under the shared storage."""
        assert self.redis is not None
        return cast(Any, self.redis.bridge).storage

    async def attempt(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """`await call()` against Redis; None when it cannot be reached."""
        if time.monotonic() < self._down_until:
            self.errors += 1
            return None
        try:
            result = await call()
        except self._errors as error:
            self._down(error)
            return None
        if self._failure is not None:
            log.warning("the rate-limit storage answers again")
            self._failure = None
        return result

    def _down(self, error: BaseException) -> None:
        self.errors += 1
        self._down_until = time.monotonic() + BACKOFF_SECONDS
        if self._failure is None:
            mode = "refusing requests" if self.fail_closed else "letting requests through"
            log.error("the rate-limit storage cannot be reached (%s); %s", error, mode)
        self._failure = type(error).__name__

    async def check(self) -> str:
        """For /readyz: `ok`, or what is wrong."""
        if self.redis is None:
            return "in memory" if self.workers == 1 else f"in memory, budget ÷ {self.workers}"
        if self._failure is not None and time.monotonic() >= self._down_until:
            try:
                answers = await self.redis.check()
            except self._errors:
                answers = False
            if answers:
                log.warning("the rate-limit storage answers again")
                self._failure = None
            else:
                self._down_until = time.monotonic() + BACKOFF_SECONDS
        if self._failure is None:
            return "ok"
        mode = "failing closed" if self.fail_closed else "failing open"
        return f"unreachable ({self._failure}); {mode}"

    @property
    def degraded(self) -> bool:
        return self._failure is not None

    async def close(self) -> None:
        """Close the Redis connections (at shutdown)."""
        if self.redis is not None:
            await self.client.aclose()
