"""Allow-list clients: applications (a token's `client` claim) that may run registered reports
only. The owner keeps the list (`allowlist_client`, db/migrations/0010_reporting.sql); the
request role reads one answer at a time through `allowlisted_client`.
"""

from __future__ import annotations

from typing import Any

import asyncpg

# name: allowlist-add — whether the client was not listed yet.
ADD = """
insert into allowlist_client (client) values ($1) on conflict (client) do nothing
returning client
"""
# name: allowlist-remove — whether the client was listed.
REMOVE = "delete from allowlist_client where client = $1 returning client"
# name: allowlist-list
LIST = "select client, added_at from allowlist_client order by client"
# name: allowlist-check — run as the request role.
CHECK = "select allowlisted_client($1)"


async def add(owner: asyncpg.Connection, client: str) -> bool:
    return await owner.fetchval(ADD, client) is not None


async def remove(owner: asyncpg.Connection, client: str) -> bool:
    return await owner.fetchval(REMOVE, client) is not None


async def clients(owner: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in await owner.fetch(LIST)]
