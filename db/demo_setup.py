"""The demo database: the shipped county's divisions and its synthetic records, once."""

from __future__ import annotations

import asyncpg

from db import demo, divisions


async def ensure_demo(owner_dsn: str) -> None:
    conn = await asyncpg.connect(owner_dsn)
    try:
        await divisions.import_divisions(conn, divisions.DEMO_DIVISIONS)
        await demo.seed_demo(conn)
    finally:
        await conn.close()
