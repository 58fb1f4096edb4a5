"""Migrations apply once each, in order, even when several processes start together; an
applied migration whose file has changed stops every migrate, naming the file."""

import asyncio
import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from db import embedded, migrate
from db.setup import Database


async def empty_database(template: Database) -> str:
    """The owner's DSN of a new, empty database on the test server."""
    assert template.server is not None
    name = f"hub_migrate_{uuid.uuid4().hex[:8]}"
    superuser = await asyncpg.connect(template.server.superuser_dsn())
    try:
        await superuser.execute(f"create database {name} owner {embedded.OWNER}")
    finally:
        await superuser.close()
    return template.server.owner_dsn(name)


@pytest.fixture
async def empty(template: Database) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(await empty_database(template))
    yield conn
    await conn.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the migrations, free to change."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, copy)
    return copy


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_every_migration_is_recorded_once(owner: asyncpg.Connection) -> None:
    applied = await migrate.applied(owner)
    assert sorted(applied) == [m.version for m in migrate.available()]


async def test_every_applied_migration_is_recorded_with_its_files_checksum(
    owner: asyncpg.Connection,
) -> None:
    rows = await owner.fetch("select version, checksum from schema_migration order by version")
    assert [(r["version"], r["checksum"]) for r in rows] == [
        (m.version, sha256(m.path)) for m in migrate.available()
    ]


async def test_migrating_again_applies_nothing(owner: asyncpg.Connection) -> None:
    assert await migrate.migrate(owner) == []


async def test_concurrent_migrations_of_an_empty_database_apply_each_file_once(
    template: Database,
) -> None:
    dsn = await empty_database(template)
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


async def test_a_changed_applied_migration_stops_migrating_and_names_the_file(
    empty: asyncpg.Connection, folder: Path
) -> None:
    first, *_, last = migrate.available(folder)
    last.path.rename(last.path.with_suffix(".later"))  # so there is one still to apply
    await migrate.migrate(empty, folder)
    with first.path.open("a", encoding="utf-8") as file:
        file.write("\n-- an afterthought\n")
    last.path.with_suffix(".later").rename(last.path)

    with pytest.raises(migrate.ChangedMigrationError) as refused:
        await migrate.migrate(empty, folder)

    assert refused.value.files == (first.path.name,)
    assert first.path.name in str(refused.value)
    assert await migrate.changed(empty, folder) == [first.path.name]
    assert last.version not in await migrate.applied(empty)  # nothing applied after the refusal


async def test_a_database_migrated_before_checksums_gets_the_files_checksums_once(
    empty: asyncpg.Connection, folder: Path
) -> None:
    await migrate.migrate(empty, folder)
    await empty.execute("alter table schema_migration drop column checksum")

    assert await migrate.migrate(empty, folder) == []

    rows = await empty.fetch("select version, checksum from schema_migration order by version")
    assert [(r["version"], r["checksum"]) for r in rows] == [
        (m.version, sha256(m.path)) for m in migrate.available(folder)
    ]
    first = migrate.available(folder)[0]
    first.path.write_text(first.path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(migrate.ChangedMigrationError):
        await migrate.migrate(empty, folder)
