"""Mutations of organizations, participation events and resolutions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.loaders.records import (
    OrganizationByIdLoader,
    ParticipationEventByIdLoader,
    ResolutionByIdLoader,
)
from resolvers.mutations import organizations, participation
from schema.arguments import ID_ARGUMENT, INPUT, ExpectedVersion, IdempotencyKey
from schema.enums import OrganizationKind, ParticipationKind, ResolutionStatus
from schema.organization import Organization
from schema.participation import ParticipationEvent, Resolution
from schema.permissions import NEEDS_EDITOR


@strawberry.input(description="How many of one group took part (VILLAGERS, PARTY_MEMBERS, …).")
class ParticipantCountInput:
    group: str = strawberry.field(
        description="VILLAGERS, PARTY_MEMBERS, REPRESENTATIVES, OFFICIALS, EXPERTS or OTHERS."
    )
    count: int = strawberry.field(description="How many of the group took part (0 or more).")


@strawberry.input(description="A participation event held in `regionCode`.")
class ParticipationEventInput:
    region_code: str = strawberry.field(
        description="The region where it was held (a code where you are editor)."
    )
    kind: ParticipationKind = strawberry.field(description="What form of participation.")
    title: str = strawberry.field(description="Its title.")
    starts_at: dt.datetime = strawberry.field(
        description="When it started, with a time zone offset."
    )
    topic: str | None = strawberry.field(default=None, description="What it was about.")
    organizer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The organizing organization, in the region or above it."
    )
    participants: list[ParticipantCountInput] = strawberry.field(
        default_factory=list, description="How many took part, per group."
    )


@strawberry.input(
    description="An organization's fields. Creating: a field left out is empty (the counts "
    "0). Updating: a field left out keeps its value, an explicit null clears it (the counts "
    "cannot be cleared); the leader's name and phone change only with `pii`. Names and "
    "leader roles take no phone or ID number (reason PERSONAL_DATA_IN_NAME)."
)
class OrganizationInput:
    region_code: str = strawberry.field(
        description="The region it belongs to (a code where you are editor)."
    )
    kind: OrganizationKind = strawberry.field(description="What kind of organization.")
    name: str = strawberry.field(description="Its name (no phone or ID number).")
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="The organization above it, in the same region or one above.",
    )
    member_count: int | None = strawberry.field(
        default=strawberry.UNSET, description="Its members (0 or more)."
    )
    party_member_count: int | None = strawberry.field(
        default=strawberry.UNSET, description="Its party members, at most memberCount."
    )
    leader_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The leader's name (personal data)."
    )
    leader_role: str | None = strawberry.field(
        default=strawberry.UNSET, description="The leader's title (no phone or ID number)."
    )
    leader_phone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The leader's phone: digits and dashes (personal data).",
    )
    founded_on: dt.date | None = strawberry.field(
        default=strawberry.UNSET, description="The day it was founded."
    )


async def _fresh(ctx: Context, loader: Any, key: uuid.UUID) -> Any:
    """The written row as the caller may read it now."""
    instance = ctx.loader(loader)
    if instance.cache_map.get(key) is not None:
        instance.clear(key)
    return await instance.load(key)


def _organization_fields(given: OrganizationInput) -> dict[str, Any]:
    """The fields the input names, by column; `kind` as its value, ids as strings."""
    named: dict[str, Any] = {
        column: getattr(given, column)
        for column in organizations.COLUMNS
        if getattr(given, column) is not strawberry.UNSET
    }
    named["kind"] = given.kind.value
    if named.get("parent_id") is not None:
        named["parent_id"] = str(named["parent_id"])
    return named


async def _organization(ctx: Context, key: uuid.UUID) -> Organization | None:
    row = await _fresh(ctx, OrganizationByIdLoader, key)
    return Organization.from_row(row) if row is not None else None


@strawberry.type
class RecordMutation:
    @strawberry.mutation(directives=NEEDS_EDITOR, description="Record a participation event.")
    async def record_participation_event(
        self,
        info: Info[Context, None],
        input: Annotated[ParticipationEventInput, INPUT],
        idempotency_key: IdempotencyKey = None,
    ) -> ParticipationEvent | None:
        ctx = info.context
        key = await participation.record_event(
            ctx,
            participation.EventFields(
                input.region_code,
                input.kind.value,
                input.title,
                input.topic,
                input.starts_at,
                str(input.organizer_id) if input.organizer_id else None,
                tuple((p.group, p.count) for p in input.participants),
            ),
            idempotency_key,
        )
        row = await _fresh(ctx, ParticipationEventByIdLoader, key)
        return ParticipationEvent.from_row(row) if row is not None else None

    @strawberry.mutation(
        directives=NEEDS_EDITOR, description="Put a resolution, PROPOSED, to an event."
    )
    async def add_resolution(
        self,
        info: Info[Context, None],
        event_id: Annotated[
            strawberry.ID, strawberry.argument(description="The participation event's global id.")
        ],
        text: Annotated[str, strawberry.argument(description="What was resolved.")],
        idempotency_key: IdempotencyKey = None,
    ) -> Resolution | None:
        ctx = info.context
        key = await participation.add_resolution(ctx, str(event_id), text, idempotency_key)
        row = await _fresh(ctx, ResolutionByIdLoader, key)
        return Resolution.from_row(row) if row is not None else None

    @strawberry.mutation(
        directives=NEEDS_EDITOR,
        description="PROPOSED → ADOPTED or REJECTED (decided `on`), ADOPTED → IMPLEMENTED "
        "(implemented `on`); `on` defaults to today (China Standard Time).",
    )
    async def set_resolution_status(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, ID_ARGUMENT],
        status: Annotated[ResolutionStatus, strawberry.argument(description="The new status.")],
        on: Annotated[
            dt.date | None,
            strawberry.argument(
                description="The day it was decided or implemented; omitted: today."
            ),
        ] = None,
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Resolution | None:
        ctx = info.context
        key = await participation.set_status(
            ctx, str(id), status.value, on, expected_version, idempotency_key
        )
        row = await _fresh(ctx, ResolutionByIdLoader, key)
        return Resolution.from_row(row) if row is not None else None

    @strawberry.mutation(
        directives=NEEDS_EDITOR,
        description="Set the votes on a decided (ADOPTED, REJECTED or IMPLEMENTED) resolution: "
        "each 0 or more, `votesFor + votesAgainst` at most its event's `participantCount` (all "
        "groups together). Refusals: VOTES_NEGATIVE, RESOLUTION_NOT_DECIDED, "
        "VOTES_EXCEED_PARTICIPANTS.",
    )
    async def set_resolution_votes(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, ID_ARGUMENT],
        votes_for: Annotated[int, strawberry.argument(description="Votes for it (0 or more).")],
        votes_against: Annotated[
            int, strawberry.argument(description="Votes against it (0 or more).")
        ],
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Resolution | None:
        ctx = info.context
        key = await participation.set_votes(
            ctx, str(id), votes_for, votes_against, expected_version, idempotency_key
        )
        row = await _fresh(ctx, ResolutionByIdLoader, key)
        return Resolution.from_row(row) if row is not None else None

    @strawberry.mutation(directives=NEEDS_EDITOR, description="Create an organization.")
    async def create_organization(
        self,
        info: Info[Context, None],
        input: Annotated[OrganizationInput, INPUT],
        idempotency_key: IdempotencyKey = None,
    ) -> Organization | None:
        ctx = info.context
        key = await organizations.create(ctx, _organization_fields(input), idempotency_key)
        return await _organization(ctx, key)

    @strawberry.mutation(
        directives=NEEDS_EDITOR,
        description="Change the fields `input` names; the others keep their values.",
    )
    async def update_organization(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, ID_ARGUMENT],
        input: Annotated[OrganizationInput, INPUT],
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Organization | None:
        ctx = info.context
        key = await organizations.update(
            ctx, str(id), _organization_fields(input), expected_version, idempotency_key
        )
        return await _organization(ctx, key)
