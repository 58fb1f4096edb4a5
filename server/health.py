"""/healthz (the process answers) and /readyz (it can serve requests now).

Ready means: start-up finished (migrations, demo seeding, the runtime role check),
PostgreSQL answers, and the change feed is listening. The database check is one `select 1`
with a short timeout on a connection of its own, shared by concurrent callers and cached
for a second, so a load balancer polling /readyz costs the database next to nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.changes import ChangeFeed
from server.limitstore import LimitStore

PROBE_TTL_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 1.0


class DatabaseProbe:
    """Whether PostgreSQL answers, checked at most once per `ttl` seconds on a connection of
    its own (as the runtime role): a pool busy with slow requests is not a database that is
    down, and must not take the hub out of its load balancer."""

    def __init__(
        self, dsn: str, *, ttl: float = PROBE_TTL_SECONDS, timeout: float = PROBE_TIMEOUT_SECONDS
    ) -> None:
        self._dsn = dsn
        self._ttl = ttl
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._checked_at = -float("inf")
        self._last: tuple[bool, str] = (False, "not checked yet")

    def _fresh(self) -> bool:
        return time.monotonic() - self._checked_at < self._ttl

    async def check(self) -> tuple[bool, str]:
        if self._fresh():
            return self._last
        async with self._lock:
            if not self._fresh():
                self._last = await self._probe()
                self._checked_at = time.monotonic()
        return self._last

    async def _probe(self) -> tuple[bool, str]:
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(
                    self._dsn,
                    timeout=self._timeout,
                    server_settings={"application_name": "hub-probe"},
                )
            await self._conn.fetchval("select 1", timeout=self._timeout)
        except Exception as error:  # whatever fails, the database is not usable now
            await self.close()
            return False, f"unreachable ({type(error).__name__})"
        return True, "ok"

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()


@dataclass
class Readiness:
    """Where start-up is, and what to check once it is done."""

    phase: str = "starting"
    failure: str | None = None
    probe: DatabaseProbe | None = None
    feed: ChangeFeed | None = field(default=None)
    # serve --workers N: (workers ready, N); ready only when every worker is.
    workers: Callable[[], tuple[int, int]] | None = None
    # Limits shared through Redis: reported, never a reason to leave the load balancer.
    limits: LimitStore | None = None

    @property
    def failed(self) -> bool:
        return self.failure is not None

    async def report(self) -> tuple[bool, dict[str, str]]:
        checks = {"startup": self.phase if self.failure is None else f"failed: {self.failure}"}
        ready = self.phase == "ready"
        if self.probe is None:
            checks["database"] = "not connected yet"
            ready = False
        else:
            reachable, detail = await self.probe.check()
            checks["database"] = detail
            ready = ready and reachable
        if self.feed is None:
            checks["changeFeed"] = "not started"
            ready = False
        else:
            checks["changeFeed"] = "listening" if self.feed.listening else "reconnecting"
            ready = ready and self.feed.listening
        if self.workers is not None:
            up, total = self.workers()
            checks["workers"] = f"{up}/{total} ready"
            ready = ready and up == total
        if self.limits is not None:
            checks["rateLimitStorage"] = await self.limits.check()
        return ready, checks


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    readiness: Readiness = request.app.state.readiness
    ready, checks = await readiness.report()
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
