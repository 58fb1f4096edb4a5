"""What a bulk load sets aside and puts back: keys, indexes, foreign keys and user triggers.

The definitions are read back from the catalog, so they stay those of the migrations. Keys
and indexes are built once over the loaded rows (in parallel where PostgreSQL can), and
foreign keys are checked once with a join instead of row by row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

TABLES = (
    "organization",
    "service_request",
    "participation_event",
    "resolution",
    "reference_counter",
)
# Tables whose user triggers (row paths, workflow checks, change notifications) a load skips.
TRIGGER_TABLES = ("organization", "service_request", "participation_event", "resolution")

# Stage 1: foreign keys of the loaded tables; 2: their primary keys and unique constraints
# that no other table's foreign key relies on; 3: their indexes that back no constraint.
SELECT_REBUILDABLE = """
select 1 as stage, c.relname::text as table_name, k.conname::text as name,
       format('ALTER TABLE %I DROP CONSTRAINT %I', c.relname, k.conname) as drop_sql,
       format('ALTER TABLE %I ADD CONSTRAINT %I %s', c.relname, k.conname,
              pg_get_constraintdef(k.oid)) as create_sql
from pg_constraint k
join pg_class c on c.oid = k.conrelid
where k.contype = 'f' and c.relnamespace = 'public'::regnamespace
  and c.relname = any($1::text[])
union all
select 2, c.relname::text, k.conname::text,
       format('ALTER TABLE %I DROP CONSTRAINT %I', c.relname, k.conname),
       format('ALTER TABLE %I ADD CONSTRAINT %I %s', c.relname, k.conname,
              pg_get_constraintdef(k.oid))
from pg_constraint k
join pg_class c on c.oid = k.conrelid
where k.contype in ('p', 'u') and c.relnamespace = 'public'::regnamespace
  and c.relname = any($1::text[])
  and not exists (
      select from pg_constraint f
      join pg_class fc on fc.oid = f.conrelid
      where f.contype = 'f' and f.conindid = k.conindid and not fc.relname = any($1::text[]))
union all
select 3, c.relname::text, ic.relname::text,
       format('DROP INDEX %I', ic.relname), pg_get_indexdef(i.indexrelid)
from pg_index i
join pg_class ic on ic.oid = i.indexrelid
join pg_class c on c.oid = i.indrelid
where c.relnamespace = 'public'::regnamespace and c.relname = any($1::text[])
  and not exists (select from pg_constraint k where k.conindid = i.indexrelid)
order by 1, 2, 3
"""
# The foreign keys to organization's key, from any table.
REFERENCES_TO_ORGANIZATION = """
select 1 as stage, c.relname::text as table_name, k.conname::text as name,
       format('ALTER TABLE %I DROP CONSTRAINT %I', c.relname, k.conname) as drop_sql,
       format('ALTER TABLE %I ADD CONSTRAINT %I %s', c.relname, k.conname,
              pg_get_constraintdef(k.oid)) as create_sql
from pg_constraint k
join pg_class c on c.oid = k.conrelid
where k.contype = 'f' and k.confrelid = 'organization'::regclass
order by 2, 3
"""
LOCK_TABLES = (
    "LOCK TABLE organization, service_request, participation_event, resolution, "
    "reference_counter IN ACCESS EXCLUSIVE MODE"
)
DISABLE_TRIGGERS = tuple(f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in TRIGGER_TABLES)
ENABLE_TRIGGERS = tuple(f"ALTER TABLE {t} ENABLE TRIGGER USER" for t in TRIGGER_TABLES)
BUILD_SETTINGS = (
    "SET maintenance_work_mem = '512MB'",
    "SET max_parallel_maintenance_workers = 1",
)


@dataclass(frozen=True)
class Rebuild:
    stage: int
    table: str
    name: str
    drop_sql: str
    create_sql: str


async def set_aside(conn: asyncpg.Connection) -> list[Rebuild]:
    """Drop what a bulk load would maintain row by row; returns how to put it back."""
    return await _drop(conn, await conn.fetch(SELECT_REBUILDABLE, list(TABLES)))


async def set_aside_references(conn: asyncpg.Connection) -> list[Rebuild]:
    """Drop the foreign keys to organizations, which a delete would check row by row."""
    return await _drop(conn, await conn.fetch(REFERENCES_TO_ORGANIZATION))


async def _drop(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[Rebuild]:
    rebuilds = [Rebuild(*row) for row in rows]
    for rebuild in rebuilds:
        await conn.execute(rebuild.drop_sql)
    return rebuilds


async def put_back(conn: asyncpg.Connection, rebuilds: list[Rebuild]) -> dict[str, float]:
    """Keys and indexes first (foreign keys need the keys they reference), then foreign keys.
    Returns the seconds each took."""
    for statement in BUILD_SETTINGS:
        await conn.execute(statement)
    seconds = {}
    for rebuild in sorted(rebuilds, key=lambda r: (r.stage == 1, r.stage, r.table, r.name)):
        started = time.perf_counter()
        await conn.execute(rebuild.create_sql)
        seconds[f"rebuild {rebuild.name}"] = round(time.perf_counter() - started, 3)
    return seconds


async def set_triggers(conn: asyncpg.Connection, *, enabled: bool) -> None:
    for statement in ENABLE_TRIGGERS if enabled else DISABLE_TRIGGERS:
        await conn.execute(statement)
