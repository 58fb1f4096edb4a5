"""Creating and updating organizations: editor on their region, a parent the caller can see.

`update` is a patch: a field left out keeps its value, an explicit `null` clears it (refused
for the counts). Fields the caller reads masked (the leader's name and phone) change only
with `pii`, and never to a value that looks like its own mask. Names and leader roles hold
no phone or ID number (`PERSONAL_DATA_IN_NAME`), by the masking rule itself (SQL
`holds_personal_data`). Parent changes are serialised by one lock, so that two concurrent
updates cannot each close half of a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from resolvers.context import Context
from resolvers.errors import BadUserInput, Forbidden, NotFound
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
from resolvers.scope_sql import in_scope

SNAPSHOT = "to_jsonb(t) - 'path'"
COLUMNS = (
    "region_code",
    "kind",
    "name",
    "parent_id",
    "member_count",
    "party_member_count",
    "leader_name",
    "leader_role",
    "leader_phone",
    "founded_on",
)
# Read masked without `pii`: changed only with it.
MASKED = ("leader_name", "leader_phone")
DEFAULTS: dict[str, Any] = {c: None for c in COLUMNS} | {"member_count": 0, "party_member_count": 0}
ARGUMENTS = {
    "region_code": "regionCode",
    "parent_id": "parentId",
    "member_count": "memberCount",
    "party_member_count": "partyMemberCount",
    "leader_name": "leaderName",
    "leader_role": "leaderRole",
    "leader_phone": "leaderPhone",
    "founded_on": "foundedOn",
}

# name: organization-create
CREATE = f"""
insert into organization as t (region_code, kind, name, parent_id, member_count,
    party_member_count, leader_name, leader_role, leader_phone, founded_on)
values ($1, $2::organization_kind, $3, $4, $5, $6, $7, $8, $9, $10)
returning t.id, {SNAPSHOT} as doc
"""

# name: organization-current — an organization the caller can read, locked, as stored.
CURRENT = f"""
select t.id, t.path::text as path, t.version, {SNAPSHOT} as doc, t.region_code,
    t.kind::text as kind, t.name, t.parent_id, t.member_count, t.party_member_count,
    t.leader_name, t.leader_role, t.leader_phone, t.founded_on
from organization t where t.id = $1 and {in_scope("t.path")}
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

# name: personal-data-checks — the masking rule applied to what is about to be written.
CHECKS = """
select holds_personal_data($1) as name, holds_personal_data($2) as role,
    $3::text is not null and mask_name($3) = $3 as leader_name_masked,
    $4::text is not null and mask_phone($4) = $4 as leader_phone_masked
"""

# name: organization-parents-lock — one writer of parent links at a time, to its commit.
PARENTS_LOCK = "select pg_advisory_xact_lock(hashtext('organization.parent_id'))"

# name: organization-ancestors — whether `$2` is `$1` or one of its ancestors. Every
# organization of a cycle lies in one region (a parent is in the same region or above), which
# the caller reads, so the walk sees all of a cycle it can close.
CLOSES_CYCLE = f"""
with recursive up (id, depth) as (
    select $1::uuid, 0
    union all
    select t.parent_id, up.depth + 1 from up join organization t on t.id = up.id
    where t.parent_id is not null and {in_scope("t.path")} and up.depth < 1000
)
select exists (select from up where id = $2)
"""


def _personal_in_name(argument: str) -> BadUserInput:
    return BadUserInput(
        f"`{argument}` holds a phone or ID number; personal data goes in the leader's fields",
        reason="PERSONAL_DATA_IN_NAME",
    )


async def _check_personal(ctx: Context, values: Mapping[str, Any], named: set[str]) -> None:
    row = await ctx.session.fetchrow(
        CHECKS,
        values["name"],
        values["leader_role"],
        values["leader_name"] if "leader_name" in named else None,
        values["leader_phone"] if "leader_phone" in named else None,
    )
    assert row is not None
    if row["name"]:
        raise _personal_in_name("name")
    if row["role"]:
        raise _personal_in_name("leaderRole")
    for column in MASKED:
        if row[f"{column}_masked"]:
            raise BadUserInput(
                f"`{ARGUMENTS[column]}` looks like a masked value; send the real one",
                reason="MASKED_VALUE",
            )


def _cleaned(given: Mapping[str, Any]) -> dict[str, Any]:
    """The named fields, texts cleaned and numbers checked on their own."""
    out = dict(given)
    if "name" in out:
        out["name"] = clean_text(out["name"], "name", required=True, limit=200)
    for column, limit in (("leader_name", 50), ("leader_role", 50), ("leader_phone", 30)):
        if column in out:
            out[column] = clean_text(out[column], ARGUMENTS[column], limit=limit)
    for column in ("member_count", "party_member_count"):
        if column in out and out[column] is None:
            raise BadUserInput(
                f"`{ARGUMENTS[column]}` cannot be cleared; send a number", reason="VALUE_REQUIRED"
            )
    phone = out.get("leader_phone")
    if phone is not None and not phone.replace("-", "").isdigit():
        raise BadUserInput("`leaderPhone` takes digits (and dashes) only", reason="PHONE_MALFORMED")
    return out


async def _check_parent(
    ctx: Context, path: str, parent: uuid.UUID | None, own: uuid.UUID | None, *, named: bool
) -> None:
    """A named parent: visible, in the region or above, closing no cycle. A kept one is
    checked against a new region only when the caller sees it (else it lies above the
    caller's jurisdiction, which holds the new region too)."""
    if parent is None:
        return
    row = await ctx.loader(OrganizationByIdLoader).load(parent)
    if row is None:
        if not named:
            return
        raise NotFound("No organization matches `parentId`", reason="RECORD_NOT_FOUND")
    if parent == own:
        raise BadUserInput("An organization cannot be its own parent", reason="PARENT_CYCLE")
    if not (path == row["path"] or path.startswith(row["path"] + ".")):
        raise BadUserInput(
            "The parent must belong to the same region or one above it",
            reason="PARENT_OUTSIDE_REGION",
        )
    if own is not None and named:
        await ctx.session.execute(PARENTS_LOCK)
        if await ctx.session.fetchval(CLOSES_CYCLE, parent, own):
            raise BadUserInput(
                "The parent lies below this organization: the link would close a cycle",
                reason="PARENT_CYCLE",
            )


def _row(values: Mapping[str, Any]) -> list[Any]:
    return [values[c] for c in COLUMNS]


async def create(ctx: Context, given: Mapping[str, Any], key: str | None) -> uuid.UUID:
    """`given`: the named columns (`parent_id` a global id); the rest take their defaults."""
    require_role(ctx, "editor")

    async def run() -> Written:
        named = set(given)
        values = DEFAULTS | _cleaned(given)
        path = await region_for_write(ctx, values["region_code"], "regionCode")
        if values["parent_id"] is not None:
            values["parent_id"] = record_key(values["parent_id"], "Organization", "parentId")
        _check_counts(values)
        await _check_personal(ctx, values, named)
        await _check_parent(ctx, path, values["parent_id"], None, named=True)
        row = await ctx.session.fetchrow(CREATE, *_row(values))
        assert row is not None
        await audit(
            ctx,
            "createOrganization",
            values["region_code"],
            "Organization",
            row["id"],
            None,
            row["doc"],
        )
        return "Organization", row["id"]

    return (await write(ctx, "createOrganization", key, dict(given), run))[1]


def _check_counts(values: Mapping[str, Any]) -> None:
    if values["member_count"] < 0 or values["party_member_count"] < 0:
        raise BadUserInput("Member counts cannot be negative", reason="COUNT_NEGATIVE")
    if values["party_member_count"] > values["member_count"]:
        raise BadUserInput(
            "`partyMemberCount` cannot exceed `memberCount`", reason="COUNT_EXCEEDS_MEMBERS"
        )


async def update(
    ctx: Context,
    ident: str,
    given: Mapping[str, Any],
    expected_version: int | None,
    key: str | None,
) -> uuid.UUID:
    """`given`: the named columns only; an absent one keeps its value, `None` clears it."""
    require_role(ctx, "editor")
    own = record_key(ident, "Organization", "id")

    async def run() -> Written:
        row = await ctx.session.fetchrow(CURRENT, own)
        if row is None:
            raise NotFound("No organization matches `id`", reason="RECORD_NOT_FOUND")
        require_editor(ctx, row["path"])
        check_version(expected_version, row["version"])
        named = set(given)
        changes = _cleaned(given)
        # Refused whatever the value: an equal value let through would test the hidden one.
        masked = [c for c in MASKED if c in named]
        if masked and not ctx.caller.has("pii", row["path"]):
            raise Forbidden(
                f"Changing `{ARGUMENTS[masked[0]]}` needs the pii role: you read it masked",
                reason="PII_REQUIRED",
            )
        values = {c: row[c] for c in COLUMNS} | changes
        path = row["path"]
        if "region_code" in named:
            path = await region_for_write(ctx, values["region_code"], "regionCode")
        if "parent_id" in named and values["parent_id"] is not None:
            values["parent_id"] = record_key(values["parent_id"], "Organization", "parentId")
        _check_counts(values)
        await _check_personal(ctx, values, named)
        if "parent_id" in named or path != row["path"]:
            await _check_parent(ctx, path, values["parent_id"], own, named="parent_id" in named)
        after = await ctx.session.fetchrow(UPDATE, own, *_row(values))
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

    inputs = {"id": ident, **given, "expectedVersion": expected_version}
    return (await write(ctx, "updateOrganization", key, inputs, run))[1]
