"""Participation events and their resolutions."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from resolvers.listing import ListSpec, Order
from resolvers.pagination import like_pattern
from resolvers.regions import RECORD_REGION, RECORD_REGION_COLUMNS
from resolvers.scope import Path
from resolvers.services import day_start
from resolvers.session import RequestSession

PII = "t.path <@ any($2::ltree[])"

COLUMNS = f"""t.id, {RECORD_REGION_COLUMNS},
    t.region_code, t.path::text as path, t.organizer_id, t.kind::text as kind,
    t.starts_at, t.participant_count, t.version, t.participants_by_group,
    case when {PII} then t.title else mask_text(t.title) end as title,
    case when {PII} then t.topic else mask_text(t.topic) end as topic"""

TEXT = f"""(case when {PII} then t.title else mask_text(t.title) end ilike $7
    or case when {PII} then t.topic else mask_text(t.topic) end ilike $7)"""

LIST = ListSpec(
    name="participationEvents",
    table="participation_event",
    join=RECORD_REGION,
    columns=COLUMNS,
    filters=f"""($4::participation_kind[] is null or t.kind = any($4::participation_kind[]))
    and ($5::timestamptz is null or t.starts_at >= $5)
    and ($6::timestamptz is null or t.starts_at < $6)
    and ($7::text is null or {TEXT})""",
    filter_count=4,
    record_type="ParticipationEvent",
    text_filter=7,
    orders={
        "DEFAULT": Order(
            "DEFAULT",
            "{t}.starts_at desc, {t}.id desc",
            "(t.starts_at, t.id) < ({0}::timestamptz, {1}::uuid)",
            lambda r: [r["starts_at"].isoformat(), str(r["id"])],
        )
    },
)


def filters(
    kinds: Sequence[str] | None, start: dt.date | None, end: dt.date | None, text: str | None
) -> tuple[Any, ...]:
    return (
        tuple(kinds) if kinds else None,
        day_start(start),
        day_start(end, 1),
        like_pattern(text),
    )


# name: participation-events-by-id
BY_ID = f"""select {COLUMNS} from participation_event t {RECORD_REGION}
where t.id = any($3::uuid[]) and t.path <@ any($1::ltree[])"""

RESOLUTION_COLUMNS = f"""t.id, t.path::text as path, t.event_id, t.position, t.version,
    t.status::text as status, t.decided_on,
    t.implemented_on, t.votes_for, t.votes_against,
    case when {PII} then t.text else mask_text(t.text) end as text"""

# name: resolutions-by-event — visible resolutions of the events in $3, in their order.
RESOLUTIONS = f"""
select {RESOLUTION_COLUMNS} from resolution t
where t.event_id = any($3::uuid[]) and t.path <@ any($1::ltree[])
order by t.event_id, t.position
"""

# name: resolutions-by-id
RESOLUTIONS_BY_ID = f"""
select {RESOLUTION_COLUMNS} from resolution t
where t.id = any($3::uuid[]) and t.path <@ any($1::ltree[])
"""


async def by_ids(
    session: RequestSession, read: tuple[Path, ...], pii: tuple[Path, ...], ids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    return await session.fetch_records("ParticipationEvent", BY_ID, list(read), list(pii), ids)


async def resolutions(
    session: RequestSession, read: tuple[Path, ...], pii: tuple[Path, ...], ids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    return await session.fetch_records("Resolution", RESOLUTIONS, list(read), list(pii), ids)


async def resolutions_by_id(
    session: RequestSession, read: tuple[Path, ...], pii: tuple[Path, ...], ids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    return await session.fetch_records("Resolution", RESOLUTIONS_BY_ID, list(read), list(pii), ids)
