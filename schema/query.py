"""The root Query: entry points into the tree and the three domains, all scoped."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import audit, listing, organizations, participation, regions, services
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.ids import parse_global_id
from resolvers.loaders.records import ResolutionByIdLoader
from resolvers.scope import check_region_code
from schema.arguments import FILTER, ORDER_BY, After, Before, First, Last, Until
from schema.audit import AuditEntry, load_audit_entry
from schema.enums import (
    OrganizationOrder,
    ParticipationEventOrder,
    RegionLevel,
    ServiceRequestOrder,
)
from schema.organization import Organization, OrganizationFilter, load_organization
from schema.participation import (
    ParticipationEvent,
    ParticipationEventFilter,
    Resolution,
    event_filters,
    load_event,
)
from schema.permissions import NEEDS_AUDITOR, NEEDS_CALLER, HoldsAuditor
from schema.region import Region, load_region
from schema.relay import Connection, Node, connection
from schema.service import (
    ServiceRequest,
    ServiceRequestFilter,
    load_service_request,
    load_service_request_by_reference,
    service_filters,
)
from schema.source import IngestSource, source_page

UNDER_DESCRIPTION = (
    "Only records under this region (a code), intersected with your jurisdiction; an unknown "
    "or foreign region gives an empty list."
)
MAX_IDS = 500
Under = Annotated[str | None, strawberry.argument(description=UNDER_DESCRIPTION)]


@strawberry.type(description="Who is calling, and where.")
class Viewer:
    subject: str = strawberry.field(description="The token's subject.")
    roles: list[str] = strawberry.field(description="Your roles, in any region.")
    codes: strawberry.Private[list[str]]

    @strawberry.field(description="The regions your token grants.")
    async def jurisdictions(self, info: Info[Context, None]) -> list[Region]:
        found = [await load_region(info.context, code) for code in self.codes]
        return [region for region in found if region is not None]


async def resolve_node(ctx: Context, value: str) -> Node | None:
    parsed = parse_global_id(value)
    if parsed is None:
        return None
    type_name, key = parsed
    if type_name == "Region":
        return await load_region(ctx, key)
    if type_name == "Organization":
        return await load_organization(ctx, uuid.UUID(key))
    if type_name == "ServiceRequest":
        return await load_service_request(ctx, uuid.UUID(key))
    if type_name == "ParticipationEvent":
        return await load_event(ctx, uuid.UUID(key))
    if type_name == "AuditEntry":
        return await load_audit_entry(ctx, uuid.UUID(key))
    row = await ctx.loader(ResolutionByIdLoader).load(uuid.UUID(key))
    return Resolution.from_row(row) if row is not None else None


async def _root_list(
    info: Info[Context, None],
    spec: listing.ListSpec,
    under: str | None,
    filters: tuple[Any, ...],
    order: str | None,
    first: int | None,
    after: str | None,
    convert: Any,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Any]:
    ctx = info.context
    args = listing.list_args(spec, ctx.cursors, filters, order, first, after, last, before)
    targets = await ctx.directory.under(ctx.caller.scope(spec.scope), under)
    page = await listing.root_page(ctx.session, ctx.cursors, spec, targets, args)
    return connection(page, convert)


@strawberry.type(description="Every read starts here; all of it scoped to your jurisdiction.")
class Query:
    @strawberry.field(
        directives=NEEDS_CALLER,
        description="Any object by its global id; null if you cannot see it.",
    )
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> Node | None:
        return await resolve_node(info.context, str(id))

    @strawberry.field(
        directives=NEEDS_CALLER,
        description="Objects by global id, in order; null where you cannot see one.",
    )
    async def nodes(
        self,
        info: Info[Context, None],
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Global ids, at most 500.")
        ],
    ) -> list[Node | None]:
        if len(ids) > MAX_IDS:
            raise BadUserInput(f"`ids` takes at most {MAX_IDS} ids", reason="TOO_MANY_IDS")
        # Resolved together, so each type's loader reads all its ids in one statement.
        return await asyncio.gather(*(resolve_node(info.context, str(i)) for i in ids))

    @strawberry.field(directives=NEEDS_CALLER, description="The caller.")
    def viewer(self, info: Info[Context, None]) -> Viewer:
        caller = info.context.caller
        return Viewer(
            subject=caller.subject, roles=caller.roles, codes=[g.code for g in caller.grants]
        )

    @strawberry.field(
        directives=NEEDS_CALLER,
        description="A region by code; null if it is neither in nor above your jurisdiction.",
    )
    async def region(
        self,
        info: Info[Context, None],
        code: Annotated[
            str, strawberry.argument(description="A statistical division code, e.g. 341126.")
        ],
    ) -> Region | None:
        check_region_code(code, "code")
        return await load_region(info.context, code)

    @strawberry.field(directives=NEEDS_CALLER, description="Regions in your jurisdiction, by code.")
    async def regions(
        self,
        info: Info[Context, None],
        level: Annotated[
            RegionLevel | None, strawberry.argument(description="Only regions of this level.")
        ] = None,
        under: Under = None,
        name_contains: Annotated[
            str | None, strawberry.argument(description="Text contained in the name.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Region] | None:
        ctx = info.context
        targets = await ctx.directory.under(ctx.caller.read, under)
        page = await regions.region_list(
            ctx.session,
            ctx.cursors,
            targets,
            level.value if level else None,
            name_contains,
            first,
            after,
        )
        return connection(page, Region.from_row)

    @strawberry.field(
        directives=NEEDS_CALLER,
        description="Organizations in your jurisdiction, by region, name and id.",
    )
    async def organizations(
        self,
        info: Info[Context, None],
        under: Under = None,
        filter: Annotated[OrganizationFilter | None, FILTER] = None,
        order_by: Annotated[OrganizationOrder | None, ORDER_BY] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Organization] | None:
        f = filter
        filters = organizations.filters(
            [k.value for k in f.kinds] if f and f.kinds else None, f.name_contains if f else None
        )
        return await _root_list(
            info,
            organizations.LIST,
            under,
            filters,
            order_by.value if order_by else None,
            first,
            after,
            Organization.from_row,
            last=last,
            before=before,
        )

    @strawberry.field(
        directives=NEEDS_CALLER,
        description="A service request by its human reference (as a resident quotes it); null "
        "if it is unknown or you cannot see it, like `node`.",
    )
    async def service_request(
        self,
        info: Info[Context, None],
        reference: Annotated[
            str, strawberry.argument(description="The reference, e.g. 341126101001-2026-000123.")
        ],
    ) -> ServiceRequest | None:
        return await load_service_request_by_reference(info.context, reference)

    @strawberry.field(
        directives=NEEDS_CALLER,
        description="Service requests in your jurisdiction, newest first by default.",
    )
    async def service_requests(
        self,
        info: Info[Context, None],
        under: Under = None,
        filter: Annotated[ServiceRequestFilter | None, FILTER] = None,
        order_by: Annotated[ServiceRequestOrder | None, ORDER_BY] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ServiceRequest] | None:
        return await _root_list(
            info,
            services.LIST,
            under,
            service_filters(filter, info.context.now),
            order_by.value if order_by else None,
            first,
            after,
            ServiceRequest.from_row,
            last=last,
            before=before,
        )

    @strawberry.field(
        directives=NEEDS_CALLER,
        description="Participation events in your jurisdiction, newest first.",
    )
    async def participation_events(
        self,
        info: Info[Context, None],
        under: Under = None,
        filter: Annotated[ParticipationEventFilter | None, FILTER] = None,
        order_by: Annotated[ParticipationEventOrder | None, ORDER_BY] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ParticipationEvent] | None:
        return await _root_list(
            info,
            participation.LIST,
            under,
            event_filters(filter),
            order_by.value if order_by else None,
            first,
            after,
            ParticipationEvent.from_row,
            last=last,
            before=before,
        )

    @strawberry.field(
        directives=NEEDS_CALLER,
        description="Ingestion sources whose jurisdiction your `editor` scope covers, by name, "
        "with their last import and counts; none without `editor`.",
    )
    async def ingest_sources(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> Connection[IngestSource] | None:
        return await source_page(info.context, first, after)

    @strawberry.field(
        description="Audit entries of regions where you hold `auditor`, newest first.",
        permission_classes=[HoldsAuditor],
        directives=NEEDS_AUDITOR,
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        under: Under = None,
        from_: Annotated[
            dt.date | None,
            strawberry.argument(
                name="from", description="First day (China Standard Time), inclusive."
            ),
        ] = None,
        to: Until = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AuditEntry] | None:
        return await _root_list(
            info,
            audit.LIST,
            under,
            audit.filters(from_, to),
            None,
            first,
            after,
            AuditEntry.from_row,
            last=last,
            before=before,
        )
