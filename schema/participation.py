"""ParticipationEvent: meetings, deliberations, hearings… with their resolutions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import participation
from resolvers.context import Context
from resolvers.ids import global_id, parse_global_id
from resolvers.labels import PARTICIPANT_GROUP, PARTICIPATION_KIND
from resolvers.loaders.records import ParticipationEventByIdLoader, ResolutionsByEventLoader
from resolvers.services import CST
from schema.enums import ParticipationKind, ResolutionStatus
from schema.region import Region
from schema.relay import KindCount, Node

if TYPE_CHECKING:
    from schema.organization import Organization

OrganizationT = Annotated["Organization", strawberry.lazy("schema.organization")]


@strawberry.input(description="Narrows an event list; every given condition must hold.")
class ParticipationEventFilter:
    kinds: list[ParticipationKind] | None = strawberry.field(
        default=None, description="Only these kinds."
    )
    from_: dt.date | None = strawberry.field(
        default=None, name="from", description="First day of `startsAt` (CST), inclusive."
    )
    to: dt.date | None = strawberry.field(
        default=None, description="Last day of `startsAt` (CST), inclusive."
    )
    text: str | None = strawberry.field(
        default=None, description="Text contained in the title or topic."
    )
    in_figures: bool | None = strawberry.field(
        default=None,
        description="Exactly the events the figures count (true; today every event), or "
        "the others (false). With the same region and `from`/`to` days, `totalCount` equals "
        "the figure `participation.events`.",
    )


def event_filters(f: ParticipationEventFilter | None) -> tuple[Any, ...]:
    if f is None:
        return participation.filters(None, None, None, None)
    kinds = [k.value for k in f.kinds] if f.kinds else None
    return participation.filters(kinds, f.from_, f.to, f.text, f.in_figures)


@strawberry.type(description="A decision taken at a participation event.")
class Resolution(Node):
    id: strawberry.ID = strawberry.field(description="The global id.")
    text: str = strawberry.field(description="What was resolved.")
    status: ResolutionStatus = strawberry.field(description="Where it stands.")
    decided_on: dt.date | None = strawberry.field(description="The day it was adopted or rejected.")
    implemented_on: dt.date | None = strawberry.field(description="The day it was implemented.")
    votes_for: int | None = strawberry.field(description="Votes for, if a vote was held.")
    votes_against: int | None = strawberry.field(description="Votes against, if a vote was held.")
    version: int = strawberry.field(description="Counts the changes; pass it as `expectedVersion`.")

    @classmethod
    def from_row(cls, row: Any) -> Resolution:
        return cls(
            id=strawberry.ID(global_id("Resolution", row["id"])),
            text=row["text"],
            status=ResolutionStatus(row["status"]),
            decided_on=row["decided_on"],
            implemented_on=row["implemented_on"],
            votes_for=row["votes_for"],
            votes_against=row["votes_against"],
            version=row["version"],
        )


@strawberry.federation.type(keys=["id"], description="A participation event.")
class ParticipationEvent(Node):
    id: strawberry.ID = strawberry.field(description="The global id.")
    title: str = strawberry.field(description="The event's title.")
    kind: ParticipationKind = strawberry.field(description="What form of participation it was.")
    starts_at: dt.datetime = strawberry.field(description="When it started.")
    topic: str | None = strawberry.field(description="What it was about.")
    participant_count: int = strawberry.field(description="How many took part.")
    participants_by_group: list[KindCount] = strawberry.field(
        description="Participants per group (villagers, party members, …)."
    )
    version: int = strawberry.field(description="Counts the changes; pass it as `expectedVersion`.")
    region: Region = strawberry.field(description="The region it belongs to.")
    key: strawberry.Private[uuid.UUID]
    region_code: strawberry.Private[str]
    organizer_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: Any) -> ParticipationEvent:
        groups = row["participants_by_group"] or {}
        return cls(
            id=strawberry.ID(global_id("ParticipationEvent", row["id"])),
            title=row["title"],
            kind=ParticipationKind(row["kind"]),
            starts_at=row["starts_at"].astimezone(CST),
            topic=row["topic"],
            participant_count=row["participant_count"],
            version=row["version"],
            participants_by_group=[
                KindCount(key=k, label=PARTICIPANT_GROUP.get(k, k), count=int(v))
                for k, v in groups.items()
            ],
            region=Region.from_record(row),
            key=row["id"],
            region_code=row["region_code"],
            organizer_id=row["organizer_id"],
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, None], id: strawberry.ID
    ) -> ParticipationEvent | None:
        parsed = parse_global_id(str(id))
        if parsed is None or parsed[0] != "ParticipationEvent":
            return None
        return await load_event(info.context, uuid.UUID(parsed[1]))

    @strawberry.field(description="The kind's Chinese label, e.g. 议事协商.")
    def kind_label(self) -> str:
        return PARTICIPATION_KIND[self.kind.value]

    @strawberry.field(description="The organizing organization; null when you cannot see it.")
    async def organizer(self, info: Info[Context, None]) -> OrganizationT | None:
        from schema.organization import load_organization

        if self.organizer_id is None:
            return None
        return await load_organization(info.context, self.organizer_id)

    @strawberry.field(description="Resolutions taken, in the order they were put.")
    async def resolutions(self, info: Info[Context, None]) -> list[Resolution]:
        rows = await info.context.loader(ResolutionsByEventLoader).load(self.key)
        return [Resolution.from_row(row) for row in rows]


async def load_event(ctx: Context, key: uuid.UUID) -> ParticipationEvent | None:
    row = await ctx.loader(ParticipationEventByIdLoader).load(key)
    return ParticipationEvent.from_row(row) if row is not None else None
