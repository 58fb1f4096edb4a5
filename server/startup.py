"""Start-up shared by N worker processes: it runs once, in the supervisor, and every worker
reads how far it got from shared memory.

The supervisor publishes the phase (`migrating`, `seeding demo data`, …), then either the
database's connection strings or the failure. Each worker waits for them (its `/readyz`
shows the phase, its `/graphql` answers 503 meanwhile), opens its own pool, change feed and
revocation list, and raises its flag; `/readyz` is ready only when every flag is up.

Connections: each worker holds its pool (`HUB_POOL_MAX_SIZE`) and three more — the change
feed's LISTEN connection, the revocation list's, and the readiness probe's. Start-up refuses
when N × (pool + 3) exceeds PostgreSQL's `max_connections` less the connections reserved
for superusers (`superuser_reserved_connections`, `reserved_connections`) and less 10 kept
for migrations, the command line, backups and reporting logins.
"""

from __future__ import annotations

import asyncio
import json
from multiprocessing.context import SpawnContext
from multiprocessing.sharedctypes import SynchronizedArray, SynchronizedString
from typing import Any

import asyncpg

from db.setup import Database

PER_WORKER_EXTRA = 3  # change feed, revocation list, readiness probe
RESERVE = 10  # migrations, the CLI, backups, reporting logins
STATE_BYTES = 16384
POLL_SECONDS = 0.1


class StartupRefused(RuntimeError):
    """Start-up failed in the supervisor; the message says why."""


class SharedStart:
    """Start-up's progress (JSON) and one ready flag per worker, in shared memory."""

    def __init__(self, workers: int, context: SpawnContext) -> None:
        self.workers = workers
        self._state: SynchronizedString = context.Array("c", STATE_BYTES)  # type: ignore[assignment]
        self._flags: SynchronizedArray[int] = context.Array("b", workers)

    def publish(self, **fields: str) -> None:
        with self._state.get_lock():
            state = json.loads(self._state.value or b"{}")
            state.update(fields)
            encoded = json.dumps(state).encode()
            if len(encoded) >= STATE_BYTES:
                raise ValueError("start-up state too large for shared memory")
            self._state.value = encoded

    def read(self) -> dict[str, Any]:
        with self._state.get_lock():
            state: dict[str, Any] = json.loads(self._state.value or b"{}")
            return state

    def mark(self, index: int, ready: bool) -> None:
        self._flags[index] = 1 if ready else 0

    def ready_count(self) -> int:
        return sum(self._flags[:])


class Worker:
    """One worker's side: wait for the supervisor's start-up, then report readiness."""

    def __init__(self, shared: SharedStart, index: int) -> None:
        self.shared = shared
        self.index = index

    async def prepare(self, show: Any) -> Database:
        """The database once the supervisor has prepared it; `show(phase)` meanwhile."""
        while True:
            state = self.shared.read()
            if "failure" in state:
                raise StartupRefused(state["failure"])
            if "runtime_dsn" in state:
                return Database(state["owner_dsn"], state["runtime_dsn"])
            show(state.get("phase", "starting"))
            await asyncio.sleep(POLL_SECONDS)

    def mark(self, ready: bool) -> None:
        self.shared.mark(self.index, ready)

    def count(self) -> tuple[int, int]:
        return self.shared.ready_count(), self.shared.workers


async def setting(conn: asyncpg.Connection, name: str) -> int:
    value = await conn.fetchval("select setting from pg_settings where name = $1", name)
    return int(value) if value is not None else 0


async def check_connections(owner_dsn: str, workers: int, pool_max: int) -> None:
    """Refuse, naming the numbers, when the workers' connections do not fit the server."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        limit = await setting(conn, "max_connections")
        superuser = await setting(conn, "superuser_reserved_connections")
        reserved = await setting(conn, "reserved_connections")
    finally:
        await conn.close()
    available = limit - superuser - reserved - RESERVE
    needed = workers * (pool_max + PER_WORKER_EXTRA)
    if needed > available:
        raise StartupRefused(
            f"{workers} workers × (HUB_POOL_MAX_SIZE {pool_max} + {PER_WORKER_EXTRA}) = {needed} "
            f"connections, but PostgreSQL's max_connections {limit} − {superuser + reserved} "
            f"reserved − {RESERVE} kept for the command line = {available}; lower "
            "HUB_POOL_MAX_SIZE or HUB_WORKERS, or raise max_connections"
        )
