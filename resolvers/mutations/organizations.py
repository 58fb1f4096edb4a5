"""Creating and updating organizations: editor on their region, a parent the caller can see."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass

from resolvers.context import Context
from resolvers.errors import BadUserInput, NotFound
from resolvers.loaders.records import OrganizationByIdLoader
from resolvers.mutations.common import (
    Written,
    audit,
    check_version,
    clean_text,
    record_key,
    region_for_write,
    require_editor,
    require_role,
    write,
)

SNAPSHOT = "to_jsonb(t) - 'path'"

# name: organization-create
CREATE = f"""
insert into organization as t (region_code, kind, name, parent_id, member_count,
    party_member_count, leader_name, leader_role, leader_phone, founded_on)
values ($1, $2::organization_kind, $3, $4, $5, $6, $7, $8, $9, $10)
returning t.id, {SNAPSHOT} as doc
"""

# name: organization-current — an organization the caller can read, locked.
CURRENT = f"""
select t.id, t.region_code, t.path::text as path, t.version, {SNAPSHOT} as doc
from organization t where t.id = $2 and t.path <@ any($1::ltree[])
for update
"""

# name: organization-update
UPDATE = f"""
update organization t set region_code = $2, kind = $3::organization_kind, name = $4,
    parent_id = $5, member_count = $6, party_member_count = $7, leader_name = $8,
    leader_role = $9, leader_phone = $10, founded_on = $11, version = t.version + 1,
    updated_at = now()
where t.id = $1
returning {SNAPSHOT} as doc
"""


@dataclass(frozen=True)
class OrganizationFields:
    region_code: str
    kind: str
    name: str
    parent_id: str | None
    member_count: int
    party_member_count: int
    leader_name: str | None
    leader_role: str | None
    leader_phone: str | None
    founded_on: dt.date | None


async def _checked(ctx: Context, given: OrganizationFields, own: uuid.UUID | None) -> list[object]:
    """The column values, after every check: region, counts, texts and a visible parent."""
    path = await region_for_write(ctx, given.region_code, "regionCode")
    name = clean_text(given.name, "name", required=True, limit=200)
    if given.member_count < 0 or given.party_member_count < 0:
        raise BadUserInput("Member counts cannot be negative")
    if given.party_member_count > given.member_count:
        raise BadUserInput("`partyMemberCount` cannot exceed `memberCount`")
    phone = clean_text(given.leader_phone, "leaderPhone", limit=30)
    if phone is not None and not phone.replace("-", "").isdigit():
        raise BadUserInput("`leaderPhone` takes digits (and dashes) only")
    parent = None
    if given.parent_id is not None:
        parent = record_key(given.parent_id, "Organization", "parentId")
        row = await ctx.loader(OrganizationByIdLoader).load(parent)
        if row is None:
            raise NotFound("No organization matches `parentId`")
        if parent == own:
            raise BadUserInput("An organization cannot be its own parent")
        if not (path == row["path"] or path.startswith(row["path"] + ".")):
            raise BadUserInput("The parent must belong to the same region or one above it")
    return [
        given.region_code,
        given.kind,
        name,
        parent,
        given.member_count,
        given.party_member_count,
        clean_text(given.leader_name, "leaderName", limit=50),
        clean_text(given.leader_role, "leaderRole", limit=50),
        phone,
        given.founded_on,
    ]


async def create(ctx: Context, given: OrganizationFields, key: str | None) -> uuid.UUID:
    require_role(ctx, "editor")

    async def run() -> Written:
        values = await _checked(ctx, given, None)
        row = await ctx.session.fetchrow(CREATE, *values)
        assert row is not None
        await audit(
            ctx,
            "createOrganization",
            given.region_code,
            "Organization",
            row["id"],
            None,
            row["doc"],
        )
        return "Organization", row["id"]

    return (await write(ctx, "createOrganization", key, asdict(given), run))[1]


async def update(
    ctx: Context,
    ident: str,
    given: OrganizationFields,
    expected_version: int | None,
    key: str | None,
) -> uuid.UUID:
    require_role(ctx, "editor")
    own = record_key(ident, "Organization", "id")

    async def run() -> Written:
        row = await ctx.session.fetchrow(CURRENT, list(ctx.caller.read), own)
        if row is None:
            raise NotFound("No organization matches `id`")
        require_editor(ctx, row["path"])
        check_version(expected_version, row["version"])
        values = await _checked(ctx, given, own)
        after = await ctx.session.fetchrow(UPDATE, own, *values)
        assert after is not None
        await audit(
            ctx,
            "updateOrganization",
            row["region_code"],
            "Organization",
            own,
            row["doc"],
            after["doc"],
        )
        return "Organization", own

    inputs = {"id": ident, **asdict(given), "expectedVersion": expected_version}
    return (await write(ctx, "updateOrganization", key, inputs, run))[1]
