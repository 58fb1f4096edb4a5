"""Organization: party organizations, committees, collective economies, service centres…"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any, cast

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.ids import global_id
from resolvers.labels import ORGANIZATION_KIND
from resolvers.loaders.records import OrganizationByIdLoader, OrganizationChildrenLoader
from schema.enums import OrganizationKind
from schema.region import Region
from schema.relay import Node, Person


@strawberry.input(description="Narrows an organization list; every given condition must hold.")
class OrganizationFilter:
    kinds: list[OrganizationKind] | None = strawberry.field(
        default=None, description="Only these kinds."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Text contained in the name, case-insensitive."
    )


@strawberry.federation.type(keys=["id"], description="A grassroots organization.")
class Organization(Node):
    id: strawberry.ID = strawberry.field(description="The global id.")
    name: str = strawberry.field(description="The organization's name.")
    kind: OrganizationKind = strawberry.field(description="What kind of organization it is.")
    member_count: int = strawberry.field(description="Its members.")
    party_member_count: int = strawberry.field(
        description="Party members held by this organization (counted once, at the lowest "
        "party organization that holds them; 0 for non-party organizations)."
    )
    leader: Person | None = strawberry.field(
        description="Who leads it; name and phone masked without `pii`."
    )
    founded_on: dt.date | None = strawberry.field(description="The day it was founded.")
    version: int = strawberry.field(description="Counts the changes; pass it as `expectedVersion`.")
    region: Region = strawberry.field(description="The region it belongs to.")
    key: strawberry.Private[uuid.UUID]
    region_code: strawberry.Private[str]
    parent_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: Any) -> Organization:
        leader = None
        if row["leader_name"] or row["leader_phone"]:
            leader = Person(
                name=row["leader_name"] or "", role=row["leader_role"], phone=row["leader_phone"]
            )
        return cls(
            id=strawberry.ID(global_id("Organization", row["id"])),
            name=row["name"],
            kind=OrganizationKind(row["kind"]),
            member_count=row["member_count"],
            party_member_count=row["party_member_count"],
            leader=leader,
            founded_on=row["founded_on"],
            version=row["version"],
            region=Region.from_record(row),
            key=row["id"],
            region_code=row["region_code"],
            parent_id=row["parent_id"],
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[Context, None], id: strawberry.ID
    ) -> Organization | None:
        from resolvers.ids import parse_global_id

        parsed = parse_global_id(str(id))
        if parsed is None or parsed[0] != "Organization":
            return None
        return await load_organization(info.context, uuid.UUID(parsed[1]))

    @strawberry.field(description="The kind's Chinese label, e.g. 党支部.")
    def kind_label(self) -> str:
        return ORGANIZATION_KIND[self.kind.value]

    @strawberry.field(description="The organization above; null when you cannot see it.")
    async def parent(self, info: Info[Context, None]) -> Organization | None:
        if self.parent_id is None:
            return None
        return await load_organization(info.context, self.parent_id)

    @strawberry.field(description="Organizations directly below that you can see.")
    async def children(self, info: Info[Context, None]) -> list[Organization]:
        rows = await info.context.loader(OrganizationChildrenLoader).load(self.key)
        return [Organization.from_row(row) for row in rows]


async def load_organization(ctx: Context, key: uuid.UUID) -> Organization | None:
    row = await ctx.loader(OrganizationByIdLoader).load(key)
    return Organization.from_row(row) if row is not None else None


def organization_future(ctx: Context, key: uuid.UUID) -> asyncio.Future[Organization | None]:
    """`load_organization` as a future, for a field on every row of a list: a sync resolver
    returning it costs graphql-core one await, where an async one costs three coroutines."""
    # Strawberry's DataLoader.load returns an asyncio.Future (typed as an Awaitable).
    loaded = cast("asyncio.Future[Any]", ctx.loader(OrganizationByIdLoader).load(key))
    answer: asyncio.Future[Organization | None] = loaded.get_loop().create_future()

    def done(row: asyncio.Future[Any]) -> None:
        if answer.cancelled():
            return
        if row.cancelled():
            answer.cancel()
        elif (error := row.exception()) is not None:
            answer.set_exception(error)
        else:
            found = row.result()
            answer.set_result(Organization.from_row(found) if found is not None else None)

    loaded.add_done_callback(done)
    return answer
