"""Forward-only migrations: `db/migrations/NNNN_name.sql`, each applied once in its own transaction.

Several processes may start at once; an advisory lock makes them take turns, and each
re-reads what is applied once it holds the lock.

Each applied migration is recorded with the sha256 of the file's bytes. A file that no longer
matches what was applied stops every migrate (and so every start-up), naming the file: the
database was built by another text, and a change belongs in a new migration.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_KEY = 7_311_020_260  # any constant shared by every hub process

CREATE_TABLE = """
create table if not exists schema_migration (
    version    integer primary key,
    name       text not null,
    applied_at timestamptz not null default now()
)
"""
# Tables made before checksums were recorded get the column here, and their rows the
# checksums of the files as they are on the first run that knows about checksums.
ADD_CHECKSUM = "alter table schema_migration add column if not exists checksum text"
BACKFILL_CHECKSUM = """
update schema_migration set checksum = $2 where version = $1 and checksum is null
"""
RECORDED_CHECKSUMS = """
select version, checksum from schema_migration where checksum is not null order by version
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class ChangedMigrationError(RuntimeError):
    """Applied migrations whose files have changed since; nothing was migrated."""

    def __init__(self, files: Sequence[str]) -> None:
        self.files = tuple(files)
        several = len(self.files) > 1
        super().__init__(
            f"migration{'s' if several else ''} {', '.join(self.files)} "
            f"{'have' if several else 'has'} changed since {'they were' if several else 'it was'} "
            f"applied to this database: restore {'each' if several else 'the'} file as it was "
            "applied (see git log) and put the change in a new migration"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(files={self.files!r})"


def available(folder: Path = MIGRATIONS) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", path.name)
        if match:
            found.append(Migration(int(match[1]), match[2], path))
    return found


async def applied(conn: asyncpg.Connection) -> dict[int, str]:
    exists = await conn.fetchval("select to_regclass('schema_migration') is not null")
    if not exists:
        return {}
    rows = await conn.fetch("select version, name from schema_migration order by version")
    return {row["version"]: row["name"] for row in rows}


async def changed(conn: asyncpg.Connection, folder: Path = MIGRATIONS) -> list[str]:
    """File names of applied migrations whose bytes differ from the checksum recorded."""
    has_column = await conn.fetchval(
        "select exists (select from pg_attribute where attrelid = to_regclass('schema_migration')"
        " and attname = 'checksum' and not attisdropped)"
    )
    if not has_column:
        return []
    recorded = {row["version"]: row["checksum"] for row in await conn.fetch(RECORDED_CHECKSUMS)}
    return [
        m.path.name
        for m in available(folder)
        if m.version in recorded and recorded[m.version] != m.checksum
    ]


async def migrate(conn: asyncpg.Connection, folder: Path = MIGRATIONS) -> list[Migration]:
    """Apply what is missing, in order; returns what this call applied.

    Raises `ChangedMigrationError`, applying nothing, when an applied file has changed.
    """
    done: list[Migration] = []
    migrations = available(folder)
    await conn.execute("select pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(CREATE_TABLE)
        await conn.execute(ADD_CHECKSUM)
        await conn.executemany(BACKFILL_CHECKSUM, [(m.version, m.checksum) for m in migrations])
        if files := await changed(conn, folder):
            raise ChangedMigrationError(files)
        already = await applied(conn)
        for migration in migrations:
            if migration.version in already:
                continue
            text = migration.path.read_bytes()
            async with conn.transaction():
                await conn.execute(text.decode("utf-8"))
                await conn.execute(
                    "insert into schema_migration (version, name, checksum) values ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    hashlib.sha256(text).hexdigest(),
                )
            done.append(migration)
    finally:
        await conn.execute("select pg_advisory_unlock($1)", LOCK_KEY)
    return done
