"""The service request workflow (DESIGN.md §5): submit, then one action at a time.

Each action is checked here (who, from which status, at which version) and again by the
table's trigger and row-level security. Editors act where the request is handled, which
escalation moves one region up.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from resolvers.context import Context
from resolvers.errors import BadUserInput, Conflict, NotFound
from resolvers.loaders.records import OrganizationByIdLoader
from resolvers.mutations.common import (
    Written,
    audit,
    check_version,
    clean_text,
    record_key,
    region_for_write,
    require_role,
    write,
)
from resolvers.scope import is_under
from resolvers.scope_sql import in_scope
from resolvers.workflow import ACTIONS, Action, Standing, refusal

CST = dt.timezone(dt.timedelta(hours=8))

SNAPSHOT = "to_jsonb(t) - 'history' - 'path'"

# name: service-request-current — a request the caller can read.
CURRENT = f"""
select t.id, t.region_code, t.handling_region_code, t.status::text as status, t.version,
       t.handled_by, t.first_responded_at, t.accepted_at, t.resolved_at, t.closed_at,
       t.satisfaction, handling_path(t.handling_region_code)::text as handling_path,
       {SNAPSHOT} as doc
from service_request t where t.id = $1 and {in_scope("t.path")}
"""

# name: service-request-for-update — the same, locked: row-level security lets only editors
# of the handling region lock it, so the caller is checked on the unlocked read first.
FOR_UPDATE = CURRENT + "for update"

# name: service-request-transition
TRANSITION = f"""
update service_request t set status = $2::service_status, handling_region_code = $3,
    handled_by = $4, first_responded_at = $5, accepted_at = $6, resolved_at = $7,
    closed_at = $8, satisfaction = $9, history = t.history || $10::jsonb,
    version = t.version + 1, updated_at = now()
where t.id = $1
returning {SNAPSHOT} as doc
"""

# name: service-request-submit
SUBMIT = f"""
insert into service_request as t (reference, region_code, handling_region_code, category,
    channel, title, description, requester_name, requester_phone, submitted_at, due_at, history)
values (next_reference($1, $9), $1, $1, $2::service_category, $3::service_channel, $4, $5, $6,
    $7, $8::timestamptz,
    $8::timestamptz + make_interval(days => deadline_days($2::service_category)),
    $10::jsonb)
returning t.id, {SNAPSHOT} as doc
"""


def _entry(ctx: Context, action: str, old: str | None, new: str, note: str | None) -> list[Any]:
    return [
        {
            "at": ctx.now.astimezone(CST).isoformat(),
            "action": action,
            "fromStatus": old,
            "toStatus": new,
            "actor": ctx.caller.subject,
            "note": note,
        }
    ]


@dataclass(frozen=True)
class Submission:
    region_code: str
    category: str
    channel: str
    title: str
    description: str | None
    requester_name: str | None
    requester_phone: str | None


async def submit(ctx: Context, given: Submission, key: str | None) -> uuid.UUID:
    require_role(ctx, "editor")
    title = clean_text(given.title, "title", required=True)
    description = clean_text(given.description, "description")
    name = clean_text(given.requester_name, "requesterName")
    phone = clean_text(given.requester_phone, "requesterPhone")
    if phone is not None and not phone.replace("-", "").isdigit():
        raise BadUserInput(
            "`requesterPhone` takes digits (and dashes) only", reason="PHONE_MALFORMED"
        )

    async def run() -> Written:
        await region_for_write(ctx, given.region_code, "regionCode")
        submitted = ctx.now
        row = await ctx.session.fetchrow(
            SUBMIT,
            given.region_code,
            given.category,
            given.channel,
            title,
            description,
            name,
            phone,
            submitted,
            submitted.astimezone(CST).year,
            _entry(ctx, "submit", None, "SUBMITTED", None),
        )
        assert row is not None
        await audit(
            ctx,
            "submitServiceRequest",
            given.region_code,
            "ServiceRequest",
            row["id"],
            None,
            row["doc"],
        )
        return "ServiceRequest", row["id"]

    inputs = {**given.__dict__}
    return (await write(ctx, "submitServiceRequest", key, inputs, run))[1]


def _parent_code(handling_path: str) -> str:
    labels = handling_path.split(".")
    if len(labels) < 2:
        raise BadUserInput(
            "The nation handles this request; there is no region above it", reason="NO_PARENT"
        )
    return labels[-2]


async def act(
    ctx: Context,
    action_name: str,
    request_id: str,
    *,
    note: str | None = None,
    handled_by: str | None = None,
    satisfaction: int | None = None,
    expected_version: int | None = None,
    key: str | None = None,
) -> uuid.UUID:
    """One workflow action on the request `request_id` (a global id)."""
    action = ACTIONS[action_name]
    require_role(ctx, "editor")
    ident = record_key(request_id, "ServiceRequest", "id")
    needs_note = action_name in ("escalate", "reject", "resolve", "reopen", "withdraw")
    note = clean_text(note, "reason" if action_name != "resolve" else "note", required=needs_note)
    if action_name == "rate" and (satisfaction is None or not 1 <= satisfaction <= 5):
        raise BadUserInput(
            "`satisfaction` is a whole number from 1 to 5", reason="SATISFACTION_RANGE"
        )

    async def run() -> Written:
        seen = await ctx.session.fetchrow(CURRENT, ident)
        if seen is None:
            raise NotFound("No service request matches `id`", reason="RECORD_NOT_FOUND")
        if (refused := refusal(ctx.caller, action_name, Standing.of(seen), ctx.now)) is not None:
            raise refused
        row = await ctx.session.fetchrow(FOR_UPDATE, ident)
        if row is None:  # escalated above the caller since the first read
            raise Conflict(
                "The request moved on meanwhile: re-read it and try again",
                reason="WRITTEN_MEANWHILE",
            )
        check_version(expected_version, row["version"])
        if (refused := refusal(ctx.caller, action_name, Standing.of(row), ctx.now)) is not None:
            raise refused
        status = row["status"]
        values = await _next_values(ctx, action, row, handled_by, satisfaction)
        target = action.target or status
        after = await ctx.session.fetchrow(
            TRANSITION, ident, target, *values, _entry(ctx, action_name, status, target, note)
        )
        assert after is not None
        operation = f"{action_name}ServiceRequest"
        await audit(
            ctx, operation, row["region_code"], "ServiceRequest", ident, row["doc"], after["doc"]
        )
        return "ServiceRequest", ident

    inputs = {
        "id": request_id,
        "note": note,
        "handledBy": handled_by,
        "satisfaction": satisfaction,
        "expectedVersion": expected_version,
    }
    return (await write(ctx, f"{action_name}ServiceRequest", key, inputs, run))[1]


async def _next_values(
    ctx: Context, action: Action, row: Any, handled_by: str | None, satisfaction: int | None
) -> list[Any]:
    now = ctx.now
    handling, organization = row["handling_region_code"], row["handled_by"]
    responded, accepted = row["first_responded_at"], row["accepted_at"]
    resolved, closed, rating = row["resolved_at"], row["closed_at"], row["satisfaction"]
    if action.name in ("accept", "reject"):
        responded = responded or now
    if action.name == "accept":
        accepted = accepted or now
        if handled_by is not None:
            organization = await _handler(ctx, handled_by, row["handling_path"])
    elif action.name == "escalate":
        handling, organization = _parent_code(row["handling_path"]), None
    elif action.name == "resolve":
        resolved = now
    elif action.name == "close":
        closed = now
    elif action.name == "rate":
        rating = satisfaction
    return [handling, organization, responded, accepted, resolved, closed, rating]


async def _handler(ctx: Context, handled_by: str, handling_path: str) -> uuid.UUID:
    """An organization the caller can see, in the handling region's subtree."""
    key = record_key(handled_by, "Organization", "handledBy")
    row = await ctx.loader(OrganizationByIdLoader).load(key)
    if row is None:
        raise NotFound("No organization matches `handledBy`", reason="RECORD_NOT_FOUND")
    if not is_under(row["path"], handling_path):
        raise BadUserInput(
            "`handledBy` must belong to the region handling the request",
            reason="HANDLER_OUTSIDE_REGION",
        )
    return key
