"""`grassroots serve --workers N` (N > 1): N worker processes on one port, start-up once.

The supervisor binds the port — a listening socket per worker with SO_REUSEPORT where the
system has it, so the kernel spreads new connections evenly over the workers (one shared
socket let whichever worker woke first accept a whole burst of keep-alive connections) —
starts the workers at once (they answer /healthz, /readyz
and 503 on /graphql while start-up runs) and runs start-up itself: the embedded PostgreSQL,
migrations, the demo seed, the connection check (`server/startup.py`). A worker that dies
is replaced. On SIGTERM or SIGINT it cancels start-up wherever it is, sends SIGTERM to every
worker (each drains as one `serve` does: requests in flight finish, sockets close with
1001), waits for them, and only then stops what start-up started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
from multiprocessing.context import SpawnContext, SpawnProcess

import uvicorn

from db.availability import unreachable
from db.setup import Database, prepare
from server.app import EXPECTED_FAILURES, STARTUP_RETRY_SECONDS, create_app
from server.serve import HubServer, uvicorn_config
from server.settings import Settings
from server.startup import SharedStart, Worker, check_connections

log = logging.getLogger("grassroots.supervisor")

WATCH_SECONDS = 0.2
MAX_RESTARTS = 10


class OrphanAwareServer(HubServer):
    """A worker: stops when its supervisor is gone (killed), so no worker serves alone."""

    parent = 0

    async def on_tick(self, counter: int) -> bool:
        if os.getppid() != self.parent:
            return True
        return await super().on_tick(counter)


def run_worker(settings: Settings, shared: SharedStart, index: int, sock: socket.socket) -> None:
    """A worker process's entry point (spawned: it imports the hub afresh)."""
    os.setpgrp()  # a terminal's Ctrl-C reaches the supervisor alone, which tells each worker
    app = create_app(settings, worker=Worker(shared, index))
    server = OrphanAwareServer(uvicorn_config(app, settings, host=None, port=None), app)
    server.parent = os.getppid()
    server.run(sockets=[sock])
    sys.exit(1 if app.state.readiness.failed else 0)


class Supervisor:
    def __init__(self, settings: Settings, *, demo: bool, sockets: list[socket.socket]) -> None:
        self.settings = settings
        self.demo = demo
        self.sockets = sockets  # worker i listens on sockets[i]; kept here while it restarts
        self.context: SpawnContext = multiprocessing.get_context("spawn")
        self.shared = SharedStart(settings.workers, self.context)
        self.processes: list[SpawnProcess | None] = [None] * settings.workers
        self.database: Database | None = None
        self.failure: str | None = None
        self.restarts = 0

    def spawn(self, index: int) -> None:
        self.shared.mark(index, False)
        process = self.context.Process(
            target=run_worker,
            args=(self.settings, self.shared, index, self.sockets[index]),
            name=f"hub-worker-{index}",
        )
        process.start()
        self.processes[index] = process

    async def start_up(self) -> None:
        """Start-up, once; waits for a database that cannot be reached yet."""
        while True:
            try:
                await self._start_once()
                return
            except Exception as error:
                if not unreachable(error):
                    self.fail(f"{type(error).__name__}: {error}", error)
                    return
                self.shared.publish(phase=f"waiting for the database ({type(error).__name__})")
                await asyncio.sleep(STARTUP_RETRY_SECONDS)

    async def _start_once(self) -> None:
        settings = self.settings
        self.shared.publish(phase="migrating")
        self.database = await prepare(
            data_dir=settings.data_dir,
            database_url=settings.database_url,
            runtime_database_url=settings.runtime_database_url,
            runtime_password=settings.runtime_password,
            listen=settings.postgres_listen,
        )
        if self.demo:
            self.shared.publish(phase="seeding demo data")
            from db.demo_setup import ensure_demo

            await ensure_demo(self.database.owner_dsn)
        await check_connections(self.database.owner_dsn, settings.workers, settings.pool_max_size)
        self.shared.publish(
            phase="connecting",
            owner_dsn=self.database.owner_dsn,
            runtime_dsn=self.database.runtime_dsn,
        )
        log.info("start-up done; %d workers connecting", settings.workers)

    def fail(self, failure: str, error: BaseException | None = None) -> None:
        self.failure = failure
        self.shared.publish(failure=failure)
        known = error is None or isinstance(error, EXPECTED_FAILURES)
        log.error("start-up failed: %s", failure, exc_info=None if known else error)

    async def watch(self) -> None:
        """Replace a worker that died; return once start-up failed and every worker is gone."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            alive = 0
            for index, process in enumerate(self.processes):
                if process is not None and process.is_alive():
                    alive += 1
                elif self.failure is None:
                    self.restarts += 1
                    if self.restarts > MAX_RESTARTS:
                        self.fail(
                            f"workers keep exiting (last exit code {process and process.exitcode})"
                        )
                        continue
                    log.warning(
                        "worker %d exited (%s); starting another",
                        index,
                        process and process.exitcode,
                    )
                    self.spawn(index)
                    alive += 1
            if self.failure is not None and alive == 0:
                return

    async def stop_workers(self) -> None:
        """SIGTERM to each worker, then wait while they drain (killed past the timeout)."""
        running = [p for p in self.processes if p is not None and p.is_alive()]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid or 0, signal.SIGTERM)
        grace = self.settings.shutdown_timeout_seconds + 10
        for process in running:
            await asyncio.to_thread(process.join, grace)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        for index in range(self.settings.workers):
            self.spawn(index)
        start = asyncio.create_task(self.start_up(), name="hub-start")
        watch = asyncio.create_task(self.watch(), name="hub-watch")
        signalled = asyncio.create_task(stopping.wait())
        await asyncio.wait({watch, signalled}, return_when=asyncio.FIRST_COMPLETED)
        for task in (start, watch, signalled):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.stop_workers()
        if self.database is not None:
            await asyncio.to_thread(self.database.stop)
        if self.failure is not None:
            print(f"grassroots: start-up failed: {self.failure}", file=sys.stderr)
            return 1
        return 0


def listeners(config: uvicorn.Config, count: int) -> list[socket.socket]:
    """`count` sockets on the configured address: one each with SO_REUSEPORT, else one shared."""
    if count < 2 or not hasattr(socket, "SO_REUSEPORT") or config.uds or config.fd is not None:
        shared = config.bind_socket()
        return [shared] * count
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sockets: list[socket.socket] = []
    port = config.port
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((config.host, port))
            port = sock.getsockname()[1]  # port 0: the others join the port the first got
            sock.listen(config.backlog)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    log.info("listening on %s:%d, a socket per worker (SO_REUSEPORT)", config.host, port)
    return sockets


def serve_workers(settings: Settings, *, demo: bool, host: str | None, port: int | None) -> int:
    config = uvicorn.Config(
        "server.app:create_app", host=host or settings.host, port=port or settings.port
    )
    if not log.handlers:  # the supervisor's own lines, beside uvicorn's on standard error
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     supervisor: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    sockets = listeners(config, settings.workers)
    try:
        return asyncio.run(Supervisor(settings, demo=demo, sockets=sockets).run())
    finally:
        for sock in set(sockets):
            sock.close()
