"""Organizations: the scoped list, lookups by id, children of an organization."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from resolvers.listing import ListSpec, Order
from resolvers.pagination import like_pattern
from resolvers.regions import RECORD_REGION, RECORD_REGION_COLUMNS
from resolvers.scope_sql import in_scope, unmasked
from resolvers.session import RequestSession

PII = unmasked("t.path")
VISIBLE = in_scope("t.path")

COLUMNS = f"""t.id, {RECORD_REGION_COLUMNS},
    t.region_code, t.path::text as path, t.parent_id, t.kind::text as kind, t.name,
    t.member_count, t.party_member_count, t.version, t.leader_role, t.founded_on,
    case when {PII} then t.leader_name else mask_name(t.leader_name) end as leader_name,
    case when {PII} then t.leader_phone else mask_phone(t.leader_phone) end as leader_phone"""

LIST = ListSpec(
    name="organizations",
    table="organization",
    join=RECORD_REGION,
    columns=COLUMNS,
    filters="($2::organization_kind[] is null or t.kind = any($2::organization_kind[])) "
    "and ($3::text is null or t.name ilike $3)",
    filter_count=2,
    record_type="Organization",
    orders={
        "DEFAULT": Order(
            "DEFAULT",
            "{t}.region_code, {t}.name, {t}.id",
            "(t.region_code, t.name, t.id) > ({0}, {1}, {2}::uuid)",
            lambda r: [r["region_code"], r["name"], str(r["id"])],
        ),
        "NAME_ASC": Order(
            "NAME_ASC",
            "{t}.name, {t}.id",
            "(t.name, t.id) > ({0}, {1}::uuid)",
            lambda r: [r["name"], str(r["id"])],
        ),
        "NAME_DESC": Order(
            "NAME_DESC",
            "{t}.name desc, {t}.id desc",
            "(t.name, t.id) < ({0}, {1}::uuid)",
            lambda r: [r["name"], str(r["id"])],
        ),
        "MEMBER_COUNT_DESC": Order(
            "MEMBER_COUNT_DESC",
            "{t}.member_count desc, {t}.id desc",
            "(t.member_count, t.id) < ({0}::int, {1}::uuid)",
            lambda r: [str(r["member_count"]), str(r["id"])],
        ),
        "MEMBER_COUNT_ASC": Order(
            "MEMBER_COUNT_ASC",
            "{t}.member_count, {t}.id",
            "(t.member_count, t.id) > ({0}::int, {1}::uuid)",
            lambda r: [str(r["member_count"]), str(r["id"])],
        ),
    },
)


def filters(kinds: Sequence[str] | None, name_contains: str | None) -> tuple[Any, ...]:
    return (tuple(kinds) if kinds else None, like_pattern(name_contains))


# name: organizations-by-id — visible organizations among the ids in $1.
BY_ID = f"""select {COLUMNS} from organization t {RECORD_REGION}
where t.id = any($1::uuid[]) and {VISIBLE}"""

# name: organization-children — visible child organizations of the parents in $1.
CHILDREN = f"""
select {COLUMNS} from organization t {RECORD_REGION}
where t.parent_id = any($1::uuid[]) and {VISIBLE}
order by t.region_code, t.name, t.id
"""


async def by_ids(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch_records("Organization", BY_ID, ids)


async def children(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch_records("Organization", CHILDREN, ids)
