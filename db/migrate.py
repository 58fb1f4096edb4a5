"""Forward-only migrations: `db/migrations/NNNN_name.sql`, each applied once in its own transaction.

Several processes may start at once; an advisory lock makes them take turns, and each
re-reads what is applied once it holds the lock.
"""

from __future__ import annotations

import re
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


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def available() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
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


async def migrate(conn: asyncpg.Connection) -> list[Migration]:
    """Apply what is missing, in order; returns what this call applied."""
    done: list[Migration] = []
    await conn.execute("select pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(CREATE_TABLE)
        already = await applied(conn)
        for migration in available():
            if migration.version in already:
                continue
            async with conn.transaction():
                await conn.execute(migration.path.read_text(encoding="utf-8"))
                await conn.execute(
                    "insert into schema_migration (version, name) values ($1, $2)",
                    migration.version,
                    migration.name,
                )
            done.append(migration)
    finally:
        await conn.execute("select pg_advisory_unlock($1)", LOCK_KEY)
    return done
