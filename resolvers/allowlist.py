"""Which applications may run registered reports only (the operator's `allowlist_client`).

Asked of the database through `allowlisted_client` and remembered per process for
CACHE_SECONDS, so a change made with `grassroots client allowlist` reaches every running
instance within that time without costing each request a statement.
"""

from __future__ import annotations

import time
from typing import Any

CACHE_SECONDS = 30.0

# name: allowlist-check — whether the client may run registered reports only.
CHECK = "select allowlisted_client($1)"


class AllowList:
    def __init__(self, pool: Any, ttl: float = CACHE_SECONDS) -> None:
        self._pool = pool
        self._ttl = ttl
        self._known: dict[str, tuple[bool, float]] = {}

    async def holds(self, client: str | None) -> bool:
        if not client:
            return False
        now = time.monotonic()
        cached = self._known.get(client)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._pool.acquire() as conn:
            listed = bool(await conn.fetchval(CHECK, client))
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[client] = (listed, now + self._ttl)
        return listed

    def forget(self) -> None:
        self._known.clear()
