"""`grassroots serve`: the hub under uvicorn, with the hub's own shutdown order.

On SIGTERM (or SIGINT) uvicorn stops accepting connections, lets in-flight requests finish
(up to `HUB_SHUTDOWN_TIMEOUT_SECONDS`), then runs the app's shutdown, which closes the
change feed, the pool and the embedded PostgreSQL. Before that, the hub closes every
subscription socket itself with 1001 Going Away (uvicorn alone would send 1012). A shutdown
that completes exits 0; a start-up that fails exits 1 with one line saying why.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import sys
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings

# The collector's generation thresholds once the hub is ready (Python's own: 700, 10, 10).
# A heavy answer is hundreds of thousands of live objects; at 700 allocations per young
# collection the collector ran so often that it took about a third of the event loop's time
# under the stall benchmark (py-spy: allocation sites as the busiest lines).
GC_THRESHOLDS = (50_000, 20, 10)


def settle_heap() -> None:
    """Once the hub is ready: what start-up built (modules, schema, caches) lives as long as
    the process, so the collector stops scanning it (`gc.freeze`), and runs less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class HubServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self.app = app
        self.settled = False

    async def on_tick(self, counter: int) -> bool:
        if self.app.state.readiness.failed:
            return True
        if not self.settled and self.app.state.readiness.phase == "ready":
            settle_heap()
            self.settled = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        live = getattr(self.app.state, "live", None)
        if live is not None:
            await live.close_all()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # uvicorn raises the caught signal again once it has shut down, so the process
            # would end as killed by SIGTERM; a shutdown that completed is a clean exit.
            self._captured_signals.clear()


def uvicorn_config(
    app: Starlette, settings: Settings, *, host: str | None, port: int | None
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=False,  # the hub's own JSON access log replaces uvicorn's (HUB_ACCESS_LOG)
        loop="auto",
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )


def serve(settings: Settings, *, demo: bool, host: str | None, port: int | None) -> int:
    if settings.workers > 1:  # N processes on one port: server/supervisor.py
        from server.supervisor import serve_workers

        return serve_workers(settings, demo=demo, host=host, port=port)
    app = create_app(settings, seed_demo=demo)
    HubServer(uvicorn_config(app, settings, host=host, port=port), app).run()
    failure = app.state.readiness.failure
    if failure is not None:
        print(f"grassroots: start-up failed: {failure}", file=sys.stderr)
        return 1
    return 0
