"""Migrations apply once each, in order, even when several processes start together."""

import asyncio
import uuid

import asyncpg

from db import embedded, migrate
from db.setup import Database


async def test_every_migration_is_recorded_once(owner: asyncpg.Connection) -> None:
    applied = await migrate.applied(owner)
    assert sorted(applied) == [m.version for m in migrate.available()]


async def test_migrating_again_applies_nothing(owner: asyncpg.Connection) -> None:
    assert await migrate.migrate(owner) == []


async def test_concurrent_migrations_of_an_empty_database_apply_each_file_once(
    template: Database,
) -> None:
    assert template.server is not None
    name = f"hub_migrate_{uuid.uuid4().hex[:8]}"
    superuser = await asyncpg.connect(template.server.superuser_dsn())
    try:
        await superuser.execute(f"create database {name} owner {embedded.OWNER}")
    finally:
        await superuser.close()
    dsn = template.server.owner_dsn(name)
    conns = [await asyncpg.connect(dsn) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate.migrate(c) for c in conns))
        applied = sorted(m.version for r in results for m in r)
        assert applied == [m.version for m in migrate.available()]
        rows = await conns[0].fetch("select version from schema_migration order by version")
        assert [r["version"] for r in rows] == applied
    finally:
        for c in conns:
            await c.close()
