"""The Starlette application: lifespan (database, pool, schema) and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from db import clock, rollups
from db import pool as db_pool
from db.availability import unreachable
from db.embedded import EmbeddedError
from db.migrate import ChangedMigrationError
from db.revocations import RevocationList
from db.roles import UnsafeRuntimeRole, check_runtime_role
from db.setup import Database, SetupError, prepare
from resolvers.allowlist import AllowList
from resolvers.changes import ChangeFeed
from resolvers.errors import ServiceUnavailable
from resolvers.ids import CursorCodec
from resolvers.regions import RegionDirectory
from schema.build import build_schema
from schema.documents import Documents
from schema.reports import Reports
from server.assets import static_mount
from server.auth import KeySet
from server.cors import CorsMiddleware
from server.dashboard import dashboard_routes
from server.exports import export_endpoint
from server.graphql import error_response, graphql_endpoint
from server.health import DatabaseProbe, Readiness, healthz, readyz
from server.lane import HeavyLane
from server.limitstore import LimitStore
from server.links import create_link_endpoint, redeem_link_endpoint, sign_in_endpoint
from server.metrics import Metrics, RollupAge, metrics_endpoint
from server.observe import ObserveMiddleware, configure_access_log
from server.persisted import Registered
from server.ratelimit import RateLimiter
from server.report_files import report_file_endpoint
from server.reports import reports_endpoint
from server.services import Services
from server.settings import Settings
from server.startup import StartupRefused, Worker
from server.tracing import tracing_extensions
from server.websocket import TRY_AGAIN_LATER, LiveEndpoint, graphql_socket

log = logging.getLogger("grassroots.app")

NO_STORE = "private, no-store"


# Waiting for a database that cannot be reached yet (the hub started before PostgreSQL).
STARTUP_RETRY_SECONDS = 2.0
EXPECTED_FAILURES = (
    asyncpg.PostgresError,
    SetupError,
    ChangedMigrationError,
    UnsafeRuntimeRole,
    EmbeddedError,
    StartupRefused,
)


@dataclass
class Started:
    """What start-up has made so far, for shutdown to undo in reverse."""

    database: Database | None = None
    pool: db_pool.Pool | None = None
    feed: ChangeFeed | None = None
    revocations: RevocationList | None = None
    limits: LimitStore | None = None
    lane: HeavyLane | None = None


async def graphql_route(request: Request) -> Response:
    if not hasattr(request.app.state, "services"):
        phase = request.app.state.readiness.phase
        message = f"The hub is starting ({phase}); retry in a few seconds"
        response: Response = error_response(503, ServiceUnavailable(message, reason="HUB_STARTING"))
    else:
        response = await graphql_endpoint(request)
    # Every answer depends on its caller (DESIGN.md §8, caching).
    response.headers["cache-control"] = NO_STORE
    return response


async def graphql_socket_route(websocket: WebSocket) -> None:
    if not hasattr(websocket.app.state, "live"):
        await websocket.close(code=TRY_AGAIN_LATER, reason="The hub is starting")
        return
    await graphql_socket(websocket)


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    seed_demo: bool = False,
    background_start: bool | None = None,
    rollup_age: RollupAge | None = None,
    worker: Worker | None = None,
) -> Starlette:
    """The hub. With `database` given (tests), that database is used as it is. `rollup_age`
    feeds the `hub_rollup_age_seconds` metric.

    With `background_start` (the default when the hub prepares its own database) the app
    answers /healthz and /readyz while it migrates and seeds, and /graphql with 503 until
    it is ready; otherwise the lifespan returns only once the hub is ready.

    A `worker` (one of `serve --workers N`) takes the database the supervisor prepared.
    """
    if settings.today is not None:  # HUB_TODAY (development and tests): the one clock's day
        clock.pin(settings.today)
    in_background = database is None if background_start is None else background_start
    readiness = Readiness(workers=worker.count if worker is not None else None)
    started = Started()

    async def start(app: Starlette) -> None:
        readiness.phase = "migrating"

        def show(phase: str) -> None:
            readiness.phase = phase

        db = (
            await worker.prepare(show)
            if worker is not None
            else database
            or await prepare(
                data_dir=settings.data_dir,
                database_url=settings.database_url,
                runtime_database_url=settings.runtime_database_url,
                runtime_password=settings.runtime_password,
                listen=settings.postgres_listen,
            )
        )
        started.database = db
        if seed_demo:
            readiness.phase = "seeding demo data"
            from db.demo_setup import ensure_demo

            await ensure_demo(db.owner_dsn)
        readiness.phase = "connecting"
        pool = started.pool = await db_pool.create_pool(
            db.runtime_dsn,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
        async with pool.acquire() as conn:
            await check_runtime_role(conn)
        # One LISTEN connection for every subscriber, as the runtime role.
        feed = started.feed = ChangeFeed(db.runtime_dsn)
        await feed.start()
        revocations = started.revocations = RevocationList(
            db.runtime_dsn, reload_seconds=settings.revocation_reload_seconds
        )
        await revocations.start()
        limits = started.limits = LimitStore(
            settings.rate_limit_storage,
            workers=settings.workers,
            fail_closed=settings.rate_limit_fail_closed,
        )
        metrics = Metrics(
            pool=lambda: pool,
            revoked=revocations.__len__,
            rollup_age=rollup_age or (lambda: rollups.rebuilt_age(pool)),
            limit_storage_errors=(lambda: limits.errors) if limits.shared else None,
        )
        schema = build_schema(
            production=settings.production and not settings.graphiql,
            extensions=tracing_extensions(settings),
            # Tracing spans each resolver: with it on, every field goes through graphql-core.
            compiled_lists=settings.compiled_lists and not settings.otel,
        )
        services = Services(
            settings=settings,
            schema=schema,
            pool=pool,
            directory=RegionDirectory(pool),
            cursors=CursorCodec(settings.jwt_secret),
            keys=KeySet(settings.jwks_url) if settings.jwks_url else None,
            reports=Reports.load(schema._schema),
            allowlist=AllowList(pool),
            metrics=metrics if settings.metrics else None,
            limiter=RateLimiter(settings.rate_limits, limits)
            if settings.rate_limits.enabled
            else None,
            revocations=revocations,
            documents=Documents.load(schema._schema),
            registered=Registered(settings.apq_max_document_bytes, settings.apq_max_total_bytes),
        )
        if settings.heavy_workers:  # issue 13: heavy queries off this process's loop
            services.lane = started.lane = HeavyLane(
                settings, db.runtime_dsn, settings.heavy_workers
            )
        readiness.probe, readiness.feed = DatabaseProbe(db.runtime_dsn), feed
        if limits.shared and settings.rate_limits.enabled:
            readiness.limits = limits
        app.state.services = services
        app.state.live = LiveEndpoint(services, feed)
        readiness.phase = "ready"
        if worker is not None:
            worker.mark(True)
        log.info("ready")

    async def start_until_done(app: Starlette) -> None:
        while True:
            try:
                await start(app)
                return
            except Exception as error:
                await stop()
                if not unreachable(error):
                    readiness.failure = f"{type(error).__name__}: {error}"
                    # A refusal we know says it all; anything else gets its traceback.
                    known = isinstance(error, EXPECTED_FAILURES)
                    log.error("start-up failed: %s", readiness.failure, exc_info=not known)
                    return
                readiness.phase = f"waiting for the database ({type(error).__name__})"
                log.warning("the database cannot be reached yet (%s); retrying", error)
                await asyncio.sleep(STARTUP_RETRY_SECONDS)

    async def stop() -> None:
        if readiness.probe is not None:
            await readiness.probe.close()
        if started.feed is not None:
            await started.feed.stop()
        if started.revocations is not None:
            await started.revocations.stop()
        if started.limits is not None:
            await started.limits.close()
        if started.lane is not None:
            await started.lane.close()
        if started.pool is not None:
            await started.pool.close()
        if started.database is not None and database is None:
            started.database.stop()
        started.feed = started.pool = started.database = started.revocations = None
        started.limits = None
        started.lane = None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task: asyncio.Task[None] | None = None
        if in_background:
            task = asyncio.create_task(start_until_done(app), name="hub-start")
        else:
            try:
                await start(app)
            except BaseException:
                await stop()
                raise
        try:
            yield
        finally:
            readiness.phase = "stopping"
            if worker is not None:
                worker.mark(False)
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            live: LiveEndpoint | None = getattr(app.state, "live", None)
            if live is not None:
                await live.close_all()
            await stop()

    app = Starlette(
        debug=False,
        routes=[
            Route("/graphql", graphql_route, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_socket_route),
            Route("/reports", reports_endpoint, methods=["GET"]),
            Route("/reports/{file}", report_file_endpoint, methods=["GET"]),
            # One-time links (issue 19), before /exports/{name}.
            Route("/exports/links", create_link_endpoint, methods=["POST"]),
            Route("/exports/links/{nonce}", redeem_link_endpoint, methods=["GET"]),
            Route("/auth/link", sign_in_endpoint, methods=["POST"]),
            Route("/exports/{name}", export_endpoint, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *dashboard_routes(settings),
            static_mount(),
        ],
        middleware=[
            Middleware(CorsMiddleware, origins=settings.cors_origins),
            Middleware(ObserveMiddleware, access=settings.access_log),
        ],
        lifespan=lifespan,
    )
    if settings.access_log:
        configure_access_log()
    app.state.readiness = readiness
    return app
