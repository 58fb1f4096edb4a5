"""Mutations of organizations, participation events and resolutions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.loaders.records import (
    OrganizationByIdLoader,
    ParticipationEventByIdLoader,
    ResolutionByIdLoader,
)
from resolvers.mutations import organizations, participation
from schema.enums import OrganizationKind, ParticipationKind, ResolutionStatus
from schema.organization import Organization
from schema.participation import ParticipationEvent, Resolution
from schema.permissions import NEEDS_EDITOR


@strawberry.input(description="How many of one group took part (VILLAGERS, PARTY_MEMBERS, …).")
class ParticipantCountInput:
    group: str
    count: int


@strawberry.input(description="A participation event held in `regionCode`.")
class ParticipationEventInput:
    region_code: str
    kind: ParticipationKind
    title: str
    starts_at: dt.datetime
    topic: str | None = None
    organizer_id: strawberry.ID | None = None
    participants: list[ParticipantCountInput] = strawberry.field(default_factory=list)


@strawberry.input(
    description="An organization's fields. Creating: a field left out is empty (the counts "
    "0). Updating: a field left out keeps its value, an explicit null clears it (the counts "
    "cannot be cleared); the leader's name and phone change only with `pii`. Names and "
    "leader roles take no phone or ID number (reason PERSONAL_DATA_IN_NAME)."
)
class OrganizationInput:
    region_code: str
    kind: OrganizationKind
    name: str
    parent_id: strawberry.ID | None = strawberry.UNSET
    member_count: int | None = strawberry.UNSET
    party_member_count: int | None = strawberry.UNSET
    leader_name: str | None = strawberry.UNSET
    leader_role: str | None = strawberry.UNSET
    leader_phone: str | None = strawberry.UNSET
    founded_on: dt.date | None = strawberry.UNSET


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
        input: ParticipationEventInput,
        idempotency_key: str | None = None,
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
        event_id: strawberry.ID,
        text: str,
        idempotency_key: str | None = None,
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
        id: strawberry.ID,
        status: ResolutionStatus,
        on: dt.date | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Resolution | None:
        ctx = info.context
        key = await participation.set_status(
            ctx, str(id), status.value, on, expected_version, idempotency_key
        )
        row = await _fresh(ctx, ResolutionByIdLoader, key)
        return Resolution.from_row(row) if row is not None else None

    @strawberry.mutation(directives=NEEDS_EDITOR, description="Create an organization.")
    async def create_organization(
        self,
        info: Info[Context, None],
        input: OrganizationInput,
        idempotency_key: str | None = None,
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
        id: strawberry.ID,
        input: OrganizationInput,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Organization | None:
        ctx = info.context
        key = await organizations.update(
            ctx, str(id), _organization_fields(input), expected_version, idempotency_key
        )
        return await _organization(ctx, key)
