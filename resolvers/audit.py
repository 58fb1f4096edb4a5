"""The audit log: entries whose region lies in the caller's auditor scope."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

from resolvers.listing import ListSpec, Order
from resolvers.scope_sql import in_scope, unmasked
from resolvers.services import day_start
from resolvers.session import RequestSession

PII = unmasked("t.path")

COLUMNS = f"""t.id, t.at, t.actor, t.operation, t.region_code, t.path::text as path,
    t.record_type, t.record_id, t.record_ids,
    case when {PII} then t.before else mask_json(t.before) end as before,
    case when {PII} then t.after else mask_json(t.after) end as after"""

LIST = ListSpec(
    name="auditLog",
    table="audit_log",
    columns=COLUMNS,
    filters="($2::timestamptz is null or t.at >= $2) and ($3::timestamptz is null or t.at < $3)",
    scope="auditor",
    filter_count=2,
    orders={
        "DEFAULT": Order(
            "DEFAULT",
            "{t}.at desc, {t}.id desc",
            "(t.at, t.id) < ({0}::timestamptz, {1}::uuid)",
            lambda r: [r["at"].isoformat(), str(r["id"])],
        )
    },
)


def filters(start: dt.date | None, end: dt.date | None) -> tuple[Any, ...]:
    return (day_start(start), day_start(end, 1))


# name: audit-entries-by-id
BY_ID = f"""select {COLUMNS} from audit_log t
where t.id = any($1::uuid[]) and {in_scope("t.path", "auditor")}"""


async def by_ids(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch(BY_ID, ids)
