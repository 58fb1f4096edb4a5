"""One embedded PostgreSQL per test run, one migrated and seeded template database, and a
fresh copy of it per test module (`CREATE DATABASE … TEMPLATE …`).

Set HUB_TEST_DATABASE_URL (an owner login with CREATEDB and CREATEROLE) to run against
another server instead of the embedded one.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from db import clock, demo, divisions, embedded
from db.setup import Database, migrate_and_grant, start_embedded
from server.app import create_app
from server.auth import issue
from server.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_DIVISIONS = ROOT.parent / "shared" / "data" / "divisions"
TEMPLATE = "hub_test_template"
FOREIGN_COUNTY = "341125"


def _replace_database(dsn: str, database: str) -> str:
    return re.sub(r"(@[^/]*/)[^?]*", lambda m: m.group(1) + database, dsn, count=1)


@pytest.fixture(scope="session")
def server() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="hub-test-") as folder:
        db = start_embedded(Path(folder), durable=False)
        yield db
        db.stop()


@pytest.fixture(scope="session")
async def template(server: Database) -> Database:
    assert server.server is not None
    credentials = server.server.credentials
    superuser = await asyncpg.connect(server.server.superuser_dsn())
    try:
        await superuser.execute(f"drop database if exists {TEMPLATE}")
        from db.roles import ensure_owner_and_database

        await ensure_owner_and_database(superuser, embedded.OWNER, credentials.owner, TEMPLATE)
    finally:
        await superuser.close()
    owner_dsn = server.server.owner_dsn(TEMPLATE)
    await migrate_and_grant(owner_dsn, (embedded.RUNTIME, credentials.runtime))
    owner = await asyncpg.connect(owner_dsn)
    try:
        await divisions.import_divisions(owner, divisions.DEMO_DIVISIONS)
        await divisions.import_divisions(owner, ROOT / "tests" / "fixtures" / "divisions")
        await demo.seed_demo(owner)
        # A sibling county with records of its own, for callers to try and fail to read.
        await demo.seed_demo(owner, FOREIGN_COUNTY, seed=7)
    finally:
        await owner.close()
    return Database(owner_dsn, server.server.runtime_dsn(TEMPLATE), server.server)


async def clone(template: Database) -> Database:
    """A fresh database copied from the template, for one test module."""
    assert template.server is not None
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    superuser = await asyncpg.connect(template.server.superuser_dsn())
    try:
        await superuser.execute(
            f"create database {name} template {TEMPLATE} owner {embedded.OWNER}"
        )
    finally:
        await superuser.close()
    return Database(
        _replace_database(template.owner_dsn, name),
        _replace_database(template.runtime_dsn, name),
        template.server,
    )


@pytest.fixture(scope="module")
async def database(template: Database) -> AsyncIterator[Database]:
    yield await clone(template)


@pytest.fixture
async def owner(database: Database) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database.owner_dsn)
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
def shared_divisions() -> Path:
    if not SHARED_DIVISIONS.is_dir():
        pytest.skip("../shared/data/divisions is not beside this checkout")
    return SHARED_DIVISIONS


os.environ.setdefault("HUB_ENV", "development")
# The one clock, pinned (HUB_TODAY) for the whole run: the demo is seeded and figures are read
# on this day, so they stay the same whenever the tests run.
TODAY = "2026-11-15"
clock.pin(clock.parse_day(TODAY))


SECRET = "test-secret-that-is-long-enough-for-hs256-signing"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        {
            "HUB_ENV": "development",
            "HUB_JWT_SECRET": SECRET,
            "HUB_TODAY": TODAY,
            "HUB_DATA_DIR": str(tmp_path_factory.mktemp("hub-data")),
            # Heavy queries run in-process here; tests/limits/test_lane.py runs the lane.
            "HUB_HEAVY_WORKERS": "0",
        }
    )


class Hub:
    """The app over HTTP, as a front end calls it, with tokens for any jurisdiction."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def token(
        self,
        *codes: str,
        roles: tuple[str, ...] = ("viewer",),
        sub: str = "tester",
        ttl: int = 3600,
    ) -> str:
        return issue(self.settings, sub, codes, roles, ttl=ttl)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        /,
        *,
        token: str | None = None,
        **headers: str,
    ) -> httpx.Response:
        sent = dict(headers)
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )

    async def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: str | tuple[str, ...] = "341126",
        roles: tuple[str, ...] = ("viewer",),
    ) -> dict[str, Any]:
        codes = (as_,) if isinstance(as_, str) else as_
        response = await self.post(query, variables, token=self.token(*codes, roles=roles))
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def running(database: Database, settings: Settings) -> AsyncIterator[Hub]:
    """The app on `database` with `settings`, started and stopped as a server would."""
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield Hub(client, settings)


@pytest.fixture(scope="module")
async def hub(database: Database, settings: Settings) -> AsyncIterator[Hub]:
    async with running(database, settings) as started:
        yield started
