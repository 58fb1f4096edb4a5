"""Service requests: the scoped list with its filters and orders, lookups by id and reference."""

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
from resolvers.session import RequestSession

CST = dt.timezone(dt.timedelta(hours=8))
PII = unmasked("t.path")
OPEN = "('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED')"

COLUMNS = f"""t.id, {RECORD_REGION_COLUMNS},
    t.reference, t.region_code, t.path::text as path, t.handling_region_code,
    t.handled_by, t.category::text as category, t.channel::text as channel,
    t.status::text as status, t.submitted_at, t.first_responded_at, t.accepted_at, t.due_at,
    t.resolved_at, t.closed_at, t.satisfaction, t.version,
    case when {PII} then t.title else mask_text(t.title) end as title,
    case when {PII} then t.description else mask_text(t.description) end as description,
    case when {PII} then t.requester_name else mask_name(t.requester_name) end as requester_name,
    case when {PII} then t.requester_phone else mask_phone(t.requester_phone) end
        as requester_phone"""

TEXT = f"""(t.reference ilike $9
    or case when {PII} then t.title else mask_text(t.title) end ilike $9
    or case when {PII} then t.description else mask_text(t.description) end ilike $9)"""

FILTERS = f"""($2::service_status[] is null or t.status = any($2::service_status[]))
    and ($3::service_category[] is null or t.category = any($3::service_category[]))
    and ($4::service_channel[] is null or t.channel = any($4::service_channel[]))
    and ($5::timestamptz is null or t.submitted_at >= $5)
    and ($6::timestamptz is null or t.submitted_at < $6)
    and ($7::boolean is null
         or ($7 = (t.status in {OPEN} and coalesce(t.due_at < $8::timestamptz, false))))
    and ($9::text is null or {TEXT})
    and ($10::uuid is null or (t.handled_by = $10 and exists (
        select from organization o where o.id = $10 and {in_scope("o.path")})))
    and ($11::text is null or (t.handling_region_code = $11 and t.region_code <> $11))
    and ($12::timestamptz is null or t.resolved_at >= $12)
    and ($13::timestamptz is null or t.resolved_at < $13)
    and ($14::smallint[] is null or t.satisfaction = any($14::smallint[]))
    and ($15::boolean is null or $15 = (t.satisfaction is not null))
    and ($16::boolean is null or $16 = (t.status <> 'WITHDRAWN'))"""


def _due_order(name: str, direction: str, sentinel: str, compare: str) -> Order:
    due = f"coalesce({{t}}.due_at, '{sentinel}'::timestamptz)"
    return Order(
        name,
        f"{due} {direction}, {{t}}.id {direction}",
        f"({due.format(t='t')}, t.id) {compare} ({{0}}::timestamptz, {{1}}::uuid)",
        lambda r: [r["due_at"].isoformat() if r["due_at"] else sentinel, str(r["id"])],
    )


def _nulls_last_order(
    name: str, column: str, cast: str, direction: str, sentinel: str, compare: str
) -> Order:
    """An order on a nullable column, nulls last both ways (a sentinel beyond every value)."""
    value = f"coalesce({{t}}.{column}, '{sentinel}'::{cast})"
    return Order(
        name,
        f"{value} {direction}, {{t}}.id {direction}",
        f"({value.format(t='t')}, t.id) {compare} ({{0}}::{cast}, {{1}}::uuid)",
        lambda r: [_cursor_value(r[column], sentinel), str(r["id"])],
    )


def _cursor_value(value: Any, sentinel: str) -> str:
    if value is None:
        return sentinel
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _submitted_order(name: str, direction: str, compare: str) -> Order:
    return Order(
        name,
        f"{{t}}.submitted_at {direction}, {{t}}.id {direction}",
        f"(t.submitted_at, t.id) {compare} ({{0}}::timestamptz, {{1}}::uuid)",
        lambda r: [r["submitted_at"].isoformat(), str(r["id"])],
    )


LIST = ListSpec(
    name="serviceRequests",
    table="service_request",
    join=RECORD_REGION,
    columns=COLUMNS,
    filters=FILTERS,
    filter_count=15,
    record_type="ServiceRequest",
    text_filter=9,
    orders={
        "SUBMITTED_AT_DESC": _submitted_order("SUBMITTED_AT_DESC", "desc", "<"),
        "SUBMITTED_AT_ASC": _submitted_order("SUBMITTED_AT_ASC", "asc", ">"),
        "DUE_AT_ASC": _due_order("DUE_AT_ASC", "asc", "infinity", ">"),
        "DUE_AT_DESC": _due_order("DUE_AT_DESC", "desc", "-infinity", "<"),
        "RESOLVED_AT_DESC": _nulls_last_order(
            "RESOLVED_AT_DESC", "resolved_at", "timestamptz", "desc", "-infinity", "<"
        ),
        "RESOLVED_AT_ASC": _nulls_last_order(
            "RESOLVED_AT_ASC", "resolved_at", "timestamptz", "asc", "infinity", ">"
        ),
        "SATISFACTION_DESC": _nulls_last_order(
            "SATISFACTION_DESC", "satisfaction", "smallint", "desc", "0", "<"
        ),
        "SATISFACTION_ASC": _nulls_last_order(
            "SATISFACTION_ASC", "satisfaction", "smallint", "asc", "6", ">"
        ),
    },
)


# Days outside these bounds hold no records; clamping keeps every bound representable.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9000, 12, 31)


def day_start(day: dt.date | None, plus_days: int = 0) -> dt.datetime | None:
    """Midnight China Standard Time at the start of `day` (+ days)."""
    if day is None:
        return None
    day = min(max(day, FIRST_DAY), LAST_DAY)
    return dt.datetime.combine(day + dt.timedelta(days=plus_days), dt.time(), CST)


def filters(
    statuses: Sequence[str] | None,
    categories: Sequence[str] | None,
    channels: Sequence[str] | None,
    submitted_from: dt.date | None,
    submitted_to: dt.date | None,
    overdue: bool | None,
    text: str | None,
    now: dt.datetime,
    handled_by: uuid.UUID | None = None,
    escalated_to: str | None = None,
    resolved_from: dt.date | None = None,
    resolved_to: dt.date | None = None,
    satisfactions: Sequence[int] | None = None,
    rated: bool | None = None,
    in_figures: bool | None = None,
) -> tuple[Any, ...]:
    """The list filters' parameters ($2 … $16 of FILTERS). `in_figures`: the requests the
    figures count (true: not withdrawn, as resolvers/stats.py counts), or the others."""
    return (
        tuple(statuses) if statuses else None,
        tuple(categories) if categories else None,
        tuple(channels) if channels else None,
        day_start(submitted_from),
        day_start(submitted_to, 1),
        overdue,
        now,
        like_pattern(text),
        handled_by,
        escalated_to,
        day_start(resolved_from),
        day_start(resolved_to, 1),
        tuple(satisfactions) if satisfactions else None,
        rated,
        in_figures,
    )


VISIBLE = in_scope("t.path")

# name: service-requests-by-id
BY_ID = f"""select {COLUMNS} from service_request t {RECORD_REGION}
where t.id = any($1::uuid[]) and {VISIBLE}"""

# name: service-request-histories — read only when asked for: it is the widest column.
HISTORIES = f"""select t.id, t.path::text as path,
    case when {PII} then t.history else mask_history(t.history) end as history
from service_request t where t.id = any($1::uuid[]) and {VISIBLE}"""

# name: service-requests-by-reference
BY_REFERENCE = f"""select {COLUMNS} from service_request t {RECORD_REGION}
where t.reference = any($1::text[]) and {VISIBLE}"""


async def by_ids(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch_records("ServiceRequest", BY_ID, ids)


async def by_references(session: RequestSession, refs: list[str]) -> list[asyncpg.Record]:
    return await session.fetch_records("ServiceRequest", BY_REFERENCE, refs)


async def histories(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch_records("ServiceRequest", HISTORIES, ids)
