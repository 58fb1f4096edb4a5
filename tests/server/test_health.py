"""/readyz says whether the hub can serve, not whether it is busy."""

from __future__ import annotations

import dataclasses

import httpx

from db.setup import Database
from server.app import create_app
from server.settings import Settings


async def test_readyz_stays_ready_while_every_pooled_connection_is_busy(
    database: Database, settings: Settings
) -> None:
    one = dataclasses.replace(settings, pool_min_size=1, pool_max_size=1)
    app = create_app(one, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://hub") as client,
            app.state.services.pool.acquire(),  # a slow request holds the only connection
        ):
            ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
