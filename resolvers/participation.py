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
from resolvers.scope_sql import in_scope, unmasked
from resolvers.services import day_start
from resolvers.session import RequestSession

PII = unmasked("t.path")
VISIBLE = in_scope("t.path")

COLUMNS = f"""t.id, {RECORD_REGION_COLUMNS},
    t.region_code, t.path::text as path, t.organizer_id, t.kind::text as kind,
    t.starts_at, t.participant_count, t.version, t.participants_by_group,
    case when {PII} then t.title else mask_text(t.title) end as title,
    case when {PII} then t.topic else mask_text(t.topic) end as topic"""

TEXT = f"""(case when {PII} then t.title else mask_text(t.title) end ilike $5
    or case when {PII} then t.topic else mask_text(t.topic) end ilike $5)"""

LIST = ListSpec(
    name="participationEvents",
    table="participation_event",
    join=RECORD_REGION,
    columns=COLUMNS,
    filters=f"""($2::participation_kind[] is null or t.kind = any($2::participation_kind[]))
    and ($3::timestamptz is null or t.starts_at >= $3)
    and ($4::timestamptz is null or t.starts_at < $4)
    and ($5::text is null or {TEXT})
    and ($6::boolean is null or $6)""",  # in figures: the figures count every event
    filter_count=5,
    record_type="ParticipationEvent",
    text_filter=5,
    orders={
        "STARTS_AT_DESC": Order(
            "STARTS_AT_DESC",
            "{t}.starts_at desc, {t}.id desc",
            "(t.starts_at, t.id) < ({0}::timestamptz, {1}::uuid)",
            lambda r: [r["starts_at"].isoformat(), str(r["id"])],
        ),
        "STARTS_AT_ASC": Order(
            "STARTS_AT_ASC",
            "{t}.starts_at, {t}.id",
            "(t.starts_at, t.id) > ({0}::timestamptz, {1}::uuid)",
            lambda r: [r["starts_at"].isoformat(), str(r["id"])],
        ),
    },
)


def filters(
    kinds: Sequence[str] | None,
    start: dt.date | None,
    end: dt.date | None,
    text: str | None,
    in_figures: bool | None = None,
) -> tuple[Any, ...]:
    """The list filters' parameters. `in_figures`: the events the figures count (true:
    every event, as resolvers/stats.py counts them), or the others (false: none)."""
    return (
        tuple(kinds) if kinds else None,
        day_start(start),
        day_start(end, 1),
        like_pattern(text),
        in_figures,
    )


# name: participation-events-by-id
BY_ID = f"""select {COLUMNS} from participation_event t {RECORD_REGION}
where t.id = any($1::uuid[]) and {VISIBLE}"""

RESOLUTION_COLUMNS = f"""t.id, t.path::text as path, t.event_id, t.position, t.version,
    t.status::text as status, t.decided_on,
    t.implemented_on, t.votes_for, t.votes_against,
    case when {PII} then t.text else mask_text(t.text) end as text"""

# name: resolutions-by-event — visible resolutions of the events in $1, in their order.
RESOLUTIONS = f"""
select {RESOLUTION_COLUMNS} from resolution t
where t.event_id = any($1::uuid[]) and {VISIBLE}
order by t.event_id, t.position
"""

# name: resolutions-by-id
RESOLUTIONS_BY_ID = f"""
select {RESOLUTION_COLUMNS} from resolution t
where t.id = any($1::uuid[]) and {VISIBLE}
"""


async def by_ids(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch_records("ParticipationEvent", BY_ID, ids)


async def resolutions(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch_records("Resolution", RESOLUTIONS, ids)


async def resolutions_by_id(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch_records("Resolution", RESOLUTIONS_BY_ID, ids)
