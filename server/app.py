"""The Starlette application: lifespan (database, pool, schema) and routes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from db import pool as db_pool
from db.roles import check_runtime_role
from db.setup import Database, prepare
from resolvers.changes import ChangeFeed
from resolvers.ids import CursorCodec
from resolvers.regions import RegionDirectory
from schema.build import build_schema
from server.auth import KeySet
from server.exports import export_endpoint
from server.graphql import Services, graphql_endpoint
from server.settings import Settings
from server.websocket import LiveEndpoint, graphql_socket

log = logging.getLogger("grassroots.app")


@dataclass
class Readiness:
    ready: bool = False
    reason: str = "starting"
    database: Database | None = field(default=None)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    readiness: Readiness = request.app.state.readiness
    if not readiness.ready:
        return JSONResponse({"ready": False, "reason": readiness.reason}, status_code=503)
    try:
        async with request.app.state.services.pool.acquire() as conn:
            await conn.fetchval("select 1")
    except Exception:  # any failure to reach the database means not ready
        return JSONResponse({"ready": False, "reason": "database unreachable"}, status_code=503)
    return JSONResponse({"ready": True})


def create_app(
    settings: Settings, *, database: Database | None = None, seed_demo: bool = False
) -> Starlette:
    """The hub. With `database` given (tests), that database is used as it is."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        readiness: Readiness = app.state.readiness
        readiness.reason = "migrating"
        db = database or await prepare(
            data_dir=settings.data_dir,
            database_url=settings.database_url,
            runtime_database_url=settings.runtime_database_url,
            runtime_password=settings.runtime_password,
        )
        readiness.database = db
        if seed_demo:
            readiness.reason = "seeding demo data"
            from db.demo_setup import ensure_demo

            await ensure_demo(db.owner_dsn)
        pool = await db_pool.create_pool(
            db.runtime_dsn,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
        # One LISTEN connection for every subscriber, as the runtime role.
        feed = ChangeFeed(db.runtime_dsn)
        try:
            async with pool.acquire() as conn:
                await check_runtime_role(conn)
            app.state.services = Services(
                settings=settings,
                schema=build_schema(production=settings.production),
                pool=pool,
                directory=RegionDirectory(pool),
                cursors=CursorCodec(settings.jwt_secret),
                keys=KeySet(settings.jwks_url) if settings.jwks_url else None,
            )
            await feed.start()
            app.state.live = LiveEndpoint(app.state.services, feed)
            readiness.ready, readiness.reason = True, "ready"
            yield
        finally:
            readiness.ready, readiness.reason = False, "stopping"
            await feed.stop()
            await pool.close()
            if database is None:
                db.stop()

    app = Starlette(
        debug=False,
        routes=[
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_socket),
            Route("/exports/{name}", export_endpoint, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.readiness = Readiness()
    return app
