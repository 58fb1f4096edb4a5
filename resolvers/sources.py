"""Ingestion sources as an office reads them: each source's last import and its counts.

A source is shown to callers whose editor scope covers its jurisdiction (the rule that lets
them ingest for it), by the scope predicate here and by row-level security
(0019_source_imports.sql). Its records all lie in its jurisdiction, so they are counted in
full for such a caller.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from resolvers.scope_sql import in_scope
from resolvers.session import RequestSession

KINDS = ("organizations", "serviceRequests", "participationEvents", "resolutions")

# A source `s` with its imports and records counted.
COLUMNS = """s.name, s.region_code, s.registered_at,
    (select max(i.imported_at) from source_import i where i.source = s.name) as last_import_at,
    (select count(*) from source_import i where i.source = s.name) as batches,
    (select count(*) from organization t where t.source = s.name) as organizations,
    (select count(*) from service_request t where t.source = s.name) as service_requests,
    (select count(*) from participation_event t where t.source = s.name) as participation_events,
    (select count(*) from resolution t where t.source = s.name) as resolutions"""

# name: ingest-sources — a page of the sources in the caller's editor scope, by name after
# `$1` (null: from the first), `$2` of them.
SOURCES = f"""
select {COLUMNS}
from source s
where {in_scope("s.path", "editor")} and ($1::text is null or s.name > $1)
order by s.name
limit $2
"""

# name: every-source — for the owner's CLI (`grassroots source list`), which no scope limits.
EVERY_SOURCE = f"select {COLUMNS} from source s order by s.name"

# name: ingest-sources-count — how many sources the caller's editor scope covers.
COUNT = f"select count(*) from source s where {in_scope('s.path', 'editor')}"

# name: source-import — one row per batch written, in the batch's transaction.
LOG_IMPORT = f"""
insert into source_import (source, path, counts)
select s.name, s.path, $2::text::jsonb from source s
where s.name = $1 and {in_scope("s.path", "editor")}
"""


async def page(session: RequestSession, after: str | None, size: int) -> list[asyncpg.Record]:
    return await session.fetch(SOURCES, after, size)


async def count(session: RequestSession) -> int:
    found: int = await session.fetchval(COUNT)
    return found


async def log_import(session: RequestSession, source: str, counts: dict[str, Any]) -> None:
    await session.execute(LOG_IMPORT, source, json.dumps(counts))
