"""Maintenance of the roll-up tables (0008_rollups.sql): rebuild them from the base rows, or
check that they equal such a rebuild.

Both hold the base tables in SHARE mode while they run, so writers wait and none is missed.
"""

from __future__ import annotations

import time

import asyncpg

TABLES = ("rollup_service", "rollup_open", "rollup_participation", "rollup_organization")

# Rows of `kept` not in `rebuilt` or the reverse, leaving out rows whose counts came back to
# zero: writes leave those behind, a rebuild does not make them.
DIFFERENCES = """
with kept as (select * from {kept} k where not ({zero})),
     rebuilt as (select * from {table} k where not ({zero}))
select (select count(*) from (table kept except all table rebuilt) x)
     + (select count(*) from (table rebuilt except all table kept) y)
"""
ZERO = {
    "rollup_service": "(k.submitted, k.accepted, k.in_progress, k.escalated, k.resolved, k.closed,"
    " k.rejected, k.answered_in_time, k.rated, k.satisfied, k.resolve_micros, k.dated_open)"
    " = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
    "rollup_open": "k.open = 0",
    "rollup_participation": "(k.events, k.participants, k.adopted, k.implemented) = (0, 0, 0, 0)",
    "rollup_organization": "(k.organizations, k.party_members) = (0, 0)",
}


# name: rollup-rebuilt-age — seconds since the last full rebuild (the migration made one).
REBUILT_AGE = "select extract(epoch from now() - rebuilt_at)::float8 from rollup_state"


async def rebuilt_age(pool: asyncpg.Pool) -> float | None:
    """Seconds since the roll-ups were last rebuilt from the base rows. Writes keep them
    current in their own transaction, so this is no lag: it dates the last full check."""
    async with pool.acquire() as conn:
        age: float | None = await conn.fetchval(REBUILT_AGE)
        return age


async def rebuild(conn: asyncpg.Connection) -> dict[str, object]:
    """Rebuild every roll-up table from the base rows, then vacuum them (outside any
    transaction); their row counts and the time taken."""
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute("select rebuild_rollups()")
    for table in TABLES:
        await conn.execute(f"vacuum (analyze) {table}")
    rows = {t: await conn.fetchval(f"select count(*) from {t}") for t in TABLES}
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}


async def check(conn: asyncpg.Connection) -> dict[str, int]:
    """Rows that differ between each roll-up table and a rebuild, which is then rolled back."""
    differences: dict[str, int] = {}
    transaction = conn.transaction()
    await transaction.start()
    try:
        for table in TABLES:
            await conn.execute(
                f"create temporary table kept_{table} on commit drop as select * from {table}"
            )
        await conn.execute("select rebuild_rollups()")
        for table in TABLES:
            sql = DIFFERENCES.format(kept=f"kept_{table}", table=table, zero=ZERO[table])
            differences[table] = await conn.fetchval(sql)
    finally:
        await transaction.rollback()
    return differences
