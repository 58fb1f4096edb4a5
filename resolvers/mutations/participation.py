"""Recording participation events and their resolutions."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass

from resolvers.context import Context
from resolvers.errors import BadUserInput, NotFound
from resolvers.labels import PARTICIPANT_GROUP
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

CST = dt.timezone(dt.timedelta(hours=8))

# name: participation-event-record
RECORD = """
insert into participation_event as t (region_code, organizer_id, kind, title, topic, starts_at,
    participant_count, participants_by_group)
values ($1, $2, $3::participation_kind, $4, $5, $6, $7, $8::jsonb)
returning t.id, to_jsonb(t) - 'path' as doc
"""

# name: participation-event-for-resolution — an event the caller can read, locked.
EVENT = f"""
select t.id, t.region_code, t.path::text as path from participation_event t
where t.id = $1 and {in_scope("t.path")}
for update
"""

# name: resolution-add
ADD = """
insert into resolution as r (event_id, region_code, position, text)
select $1, $2, coalesce(max(x.position), 0) + 1, $3 from resolution x where x.event_id = $1
returning r.id, to_jsonb(r) - 'path' as doc
"""

# name: resolution-current
RESOLUTION = f"""
select t.id, t.region_code, t.path::text as path, t.status::text as status, t.version,
       t.decided_on, to_jsonb(t) - 'path' as doc
from resolution t where t.id = $1 and {in_scope("t.path")}
for update
"""

# name: resolution-set-status
SET_STATUS = """
update resolution t set status = $2::resolution_status, decided_on = $3, implemented_on = $4,
    version = t.version + 1, updated_at = now()
where t.id = $1
returning to_jsonb(t) - 'path' as doc
"""

# name: resolution-set-votes
SET_VOTES = """
update resolution t set votes_for = $2, votes_against = $3, version = t.version + 1,
    updated_at = now()
where t.id = $1
returning to_jsonb(t) - 'path' as doc
"""

# name: resolution-event-participants — the event's recorded participant count.
PARTICIPANTS = """
select e.participant_count from participation_event e
join resolution r on r.event_id = e.id where r.id = $1
"""

DECIDED = frozenset({"ADOPTED", "REJECTED", "IMPLEMENTED"})

NEXT = {"PROPOSED": {"ADOPTED", "REJECTED"}, "ADOPTED": {"IMPLEMENTED"}}
MAX_PARTICIPANTS = 1_000_000


@dataclass(frozen=True)
class EventFields:
    region_code: str
    kind: str
    title: str
    topic: str | None
    starts_at: dt.datetime
    organizer_id: str | None
    participants: tuple[tuple[str, int], ...]


async def record_event(ctx: Context, given: EventFields, key: str | None) -> uuid.UUID:
    require_role(ctx, "editor")
    title = clean_text(given.title, "title", required=True, limit=500)
    topic = clean_text(given.topic, "topic")
    if given.starts_at.tzinfo is None:
        raise BadUserInput("`startsAt` needs a time zone offset", reason="TIME_ZONE_REQUIRED")
    groups: dict[str, int] = {}
    for group, count in given.participants:
        if group not in PARTICIPANT_GROUP:
            raise BadUserInput(
                f"Unknown participant group {group!r}; use one of {', '.join(PARTICIPANT_GROUP)}",
                reason="UNKNOWN_VALUE",
            )
        if not 0 <= count <= MAX_PARTICIPANTS or group in groups:
            raise BadUserInput(
                "Each participant group is given once, with a count ≥ 0",
                reason="PARTICIPANTS_MALFORMED",
            )
        groups[group] = count

    async def run() -> Written:
        path = await region_for_write(ctx, given.region_code, "regionCode")
        organizer = None
        if given.organizer_id is not None:
            organizer = record_key(given.organizer_id, "Organization", "organizerId")
            row = await ctx.loader(OrganizationByIdLoader).load(organizer)
            if row is None:
                raise NotFound("No organization matches `organizerId`", reason="RECORD_NOT_FOUND")
            if not (path == row["path"] or path.startswith(row["path"] + ".")):
                raise BadUserInput(
                    "The organizer must belong to the region or one above it",
                    reason="ORGANIZER_OUTSIDE_REGION",
                )
        row = await ctx.session.fetchrow(
            RECORD,
            given.region_code,
            organizer,
            given.kind,
            title,
            topic,
            given.starts_at,
            sum(groups.values()),
            groups,
        )
        assert row is not None
        await audit(
            ctx,
            "recordParticipationEvent",
            given.region_code,
            "ParticipationEvent",
            row["id"],
            None,
            row["doc"],
        )
        return "ParticipationEvent", row["id"]

    return (await write(ctx, "recordParticipationEvent", key, asdict(given), run))[1]


async def add_resolution(ctx: Context, event_id: str, text: str, key: str | None) -> uuid.UUID:
    require_role(ctx, "editor")
    event = record_key(event_id, "ParticipationEvent", "eventId")
    body = clean_text(text, "text", required=True, limit=2000)

    async def run() -> Written:
        row = await ctx.session.fetchrow(EVENT, event)
        if row is None:
            raise NotFound("No participation event matches `eventId`", reason="RECORD_NOT_FOUND")
        require_editor(ctx, row["path"])
        added = await ctx.session.fetchrow(ADD, event, row["region_code"], body)
        assert added is not None
        await audit(
            ctx, "addResolution", row["region_code"], "Resolution", added["id"], None, added["doc"]
        )
        return "Resolution", added["id"]

    return (await write(ctx, "addResolution", key, {"eventId": event_id, "text": body}, run))[1]


async def set_status(
    ctx: Context,
    ident: str,
    status: str,
    on: dt.date | None,
    expected_version: int | None,
    key: str | None,
) -> uuid.UUID:
    require_role(ctx, "editor")
    own = record_key(ident, "Resolution", "id")
    day = on or ctx.now.astimezone(CST).date()

    async def run() -> Written:
        row = await ctx.session.fetchrow(RESOLUTION, own)
        if row is None:
            raise NotFound("No resolution matches `id`", reason="RECORD_NOT_FOUND")
        require_editor(ctx, row["path"])
        check_version(expected_version, row["version"])
        if status not in NEXT.get(row["status"], set()):
            raise BadUserInput(
                f"A {row['status']} resolution cannot become {status}",
                reason="INVALID_TRANSITION",
                status=row["status"],
            )
        decided, implemented = row["decided_on"], None
        if status == "IMPLEMENTED":
            if decided is not None and day < decided:
                raise BadUserInput(
                    "A resolution is implemented on or after the day it was adopted",
                    reason="DATES_REVERSED",
                )
            implemented = day
        else:
            decided = day
        after = await ctx.session.fetchrow(SET_STATUS, own, status, decided, implemented)
        assert after is not None
        await audit(
            ctx,
            "setResolutionStatus",
            row["region_code"],
            "Resolution",
            own,
            row["doc"],
            after["doc"],
        )
        return "Resolution", own

    inputs = {"id": ident, "status": status, "on": on, "expectedVersion": expected_version}
    return (await write(ctx, "setResolutionStatus", key, inputs, run))[1]


async def set_votes(
    ctx: Context,
    ident: str,
    votes_for: int,
    votes_against: int,
    expected_version: int | None,
    key: str | None,
) -> uuid.UUID:
    """Votes on a decided resolution: each ≥ 0, together at most the event's participantCount."""
    require_role(ctx, "editor")
    own = record_key(ident, "Resolution", "id")
    if votes_for < 0 or votes_against < 0:
        raise BadUserInput("Votes are counted from 0", reason="VOTES_NEGATIVE")

    async def run() -> Written:
        row = await ctx.session.fetchrow(RESOLUTION, own)
        if row is None:
            raise NotFound("No resolution matches `id`", reason="RECORD_NOT_FOUND")
        require_editor(ctx, row["path"])
        check_version(expected_version, row["version"])
        if row["status"] not in DECIDED:
            raise BadUserInput(
                f"Votes are set only on a decided resolution, not a {row['status']} one",
                reason="RESOLUTION_NOT_DECIDED",
                status=row["status"],
            )
        participants = await ctx.session.fetchval(PARTICIPANTS, own)
        if votes_for + votes_against > (participants or 0):
            raise BadUserInput(
                f"{votes_for + votes_against} votes, but the event had {participants or 0} "
                "participants",
                reason="VOTES_EXCEED_PARTICIPANTS",
                participants=participants or 0,
            )
        after = await ctx.session.fetchrow(SET_VOTES, own, votes_for, votes_against)
        assert after is not None
        await audit(
            ctx,
            "setResolutionVotes",
            row["region_code"],
            "Resolution",
            own,
            row["doc"],
            after["doc"],
        )
        return "Resolution", own

    inputs = {
        "id": ident,
        "votesFor": votes_for,
        "votesAgainst": votes_against,
        "expectedVersion": expected_version,
    }
    return (await write(ctx, "setResolutionVotes", key, inputs, run))[1]
