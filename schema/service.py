"""ServiceRequest: a resident's request and its workflow."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import services, workflow
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.ids import global_id, parse_global_id
from resolvers.labels import (
    SERVICE_CATEGORY,
    SERVICE_CHANNEL,
    SERVICE_REQUEST_ACTION,
    SERVICE_STATUS,
)
from resolvers.loaders.records import (
    ServiceRequestByIdLoader,
    ServiceRequestByReferenceLoader,
    ServiceRequestHistoryLoader,
)
from resolvers.scope import check_region_code
from schema.compiled import page_future
from schema.enums import ServiceCategory, ServiceChannel, ServiceRequestAction, ServiceStatus
from schema.region import Region
from schema.relay import Node, Person

if TYPE_CHECKING:
    from schema.organization import Organization

RegionT = Annotated["Region", strawberry.lazy("schema.region")]
OrganizationT = Annotated["Organization", strawberry.lazy("schema.organization")]
CST = services.CST


@strawberry.input(description="Narrows a service request list; every given condition must hold.")
class ServiceRequestFilter:
    statuses: list[ServiceStatus] | None = strawberry.field(
        default=None, description="Only these statuses."
    )
    categories: list[ServiceCategory] | None = strawberry.field(
        default=None, description="Only these categories."
    )
    channels: list[ServiceChannel] | None = strawberry.field(
        default=None, description="Only these channels."
    )
    submitted_from: dt.date | None = strawberry.field(
        default=None, description="First day (China Standard Time), inclusive."
    )
    submitted_to: dt.date | None = strawberry.field(
        default=None, description="Last day (China Standard Time), inclusive."
    )
    overdue: bool | None = strawberry.field(
        default=None, description="Open requests whose due time has passed (true), or the rest."
    )
    text: str | None = strawberry.field(
        default=None,
        description="Text contained in the title, the description or the reference; without "
        "`pii` it matches the masked title and description only.",
    )
    handled_by: strawberry.ID | None = strawberry.field(
        default=None,
        description="Requests handled by this organization (a global id); an organization "
        "you cannot see matches none.",
    )
    escalated_to: str | None = strawberry.field(
        default=None,
        description="Requests escalated to (and now handled by) this region, a code.",
    )
    resolved_from: dt.date | None = strawberry.field(
        default=None,
        description="First day (China Standard Time) of the latest resolution, inclusive.",
    )
    resolved_to: dt.date | None = strawberry.field(
        default=None,
        description="Last day (China Standard Time) of the latest resolution, inclusive.",
    )
    satisfactions: list[int] | None = strawberry.field(
        default=None, description="Requests rated one of these (1 to 5)."
    )
    rated: bool | None = strawberry.field(
        default=None, description="Rated requests (true), or those not rated yet (false)."
    )
    in_figures: bool | None = strawberry.field(
        default=None,
        description="Exactly the requests the figures count (true: every status but "
        "WITHDRAWN), or the others (false). With the same region and "
        "`submittedFrom`/`submittedTo` days, `totalCount` equals the figure "
        "`serviceRequests.total`.",
    )


def service_filters(f: ServiceRequestFilter | None, now: dt.datetime) -> tuple[Any, ...]:
    def values(items: list[Any] | None) -> list[str] | None:
        return [i.value for i in items] if items else None

    return services.filters(
        values(f.statuses) if f else None,
        values(f.categories) if f else None,
        values(f.channels) if f else None,
        f.submitted_from if f else None,
        f.submitted_to if f else None,
        f.overdue if f else None,
        f.text if f else None,
        now,
        _organization_key(f.handled_by) if f and f.handled_by is not None else None,
        _region_code(f.escalated_to) if f else None,
        f.resolved_from if f else None,
        f.resolved_to if f else None,
        _ratings(f.satisfactions) if f else None,
        f.rated if f else None,
        f.in_figures if f else None,
    )


def _organization_key(value: strawberry.ID) -> uuid.UUID:
    """The organization's key; an id of anything else matches no organization."""
    parsed = parse_global_id(str(value))
    if parsed is None or parsed[0] != "Organization":
        return uuid.UUID(int=0)
    return uuid.UUID(parsed[1])


def _region_code(code: str | None) -> str | None:
    if code is not None:
        check_region_code(code, "escalatedTo")
    return code


def _ratings(values: list[int] | None) -> list[int] | None:
    if values is not None and (len(values) > 5 or any(not 1 <= v <= 5 for v in values)):
        raise BadUserInput(
            "`satisfactions` takes up to five whole numbers from 1 to 5",
            reason="SATISFACTION_RANGE",
        )
    return values


@strawberry.type(description="One step of a request's workflow.")
class ServiceRequestEvent:
    at: dt.datetime = strawberry.field(description="When the step was taken.")
    action: str = strawberry.field(
        description="The step as a lower-case verb (`submit`, `accept`, …, `imported`).",
        deprecation_reason="Use `kind` (an enum) and `label` (its Chinese label).",
    )
    kind: ServiceRequestAction = strawberry.field(description="The step taken.")
    label: str = strawberry.field(description="The step's Chinese label, e.g. 受理.")
    from_status: ServiceStatus | None = strawberry.field(
        description="The status before the step; null for the first one."
    )
    to_status: ServiceStatus = strawberry.field(description="The status after the step.")
    actor: str = strawberry.field(description="Who took the step (the token's subject).")
    note: str | None = strawberry.field(
        description="The reason or note given with the step; masked without `pii`."
    )


def action_kind(action: str) -> ServiceRequestAction:
    """The enum value of a history entry's verb."""
    return ServiceRequestAction(action)


def _cst(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(CST) if value is not None else None


def _history(entries: list[dict[str, Any]]) -> list[ServiceRequestEvent]:
    return [
        ServiceRequestEvent(
            at=dt.datetime.fromisoformat(e["at"]).astimezone(CST),
            action=e["action"],
            kind=ServiceRequestAction(e["action"]),
            label=SERVICE_REQUEST_ACTION[ServiceRequestAction(e["action"]).name],
            from_status=ServiceStatus(e["fromStatus"]) if e.get("fromStatus") else None,
            to_status=ServiceStatus(e["toStatus"]),
            actor=e["actor"],
            note=e.get("note"),
        )
        for e in entries
    ]


@strawberry.federation.type(keys=["id", "reference"], description="A resident's service request.")
class ServiceRequest(Node):
    id: strawberry.ID = strawberry.field(description="The global id.")
    reference: str = strawberry.field(
        description="Human reference, numbered per raising region and year."
    )
    title: str = strawberry.field(
        description="A short title; phone and ID numbers masked without `pii`."
    )
    description: str | None = strawberry.field(
        description="The resident's account; phone and ID numbers masked without `pii`."
    )
    category: ServiceCategory = strawberry.field(description="What the request is about.")
    channel: ServiceChannel = strawberry.field(description="How it reached the office.")
    status: ServiceStatus = strawberry.field(description="Where it stands in the workflow.")
    requester: Person | None = strawberry.field(description="Who asked; masked without `pii`.")
    submitted_at: dt.datetime = strawberry.field(description="When it was submitted.")
    first_responded_at: dt.datetime | None = strawberry.field(description="First accept or reject.")
    accepted_at: dt.datetime | None = strawberry.field(description="When it was first accepted.")
    due_at: dt.datetime | None = strawberry.field(
        description="When it falls due: submission + the category's deadline in days."
    )
    resolved_at: dt.datetime | None = strawberry.field(description="The latest resolution.")
    closed_at: dt.datetime | None = strawberry.field(description="When it was closed.")
    satisfaction: int | None = strawberry.field(description="The resident's rating, 1 to 5.")
    version: int = strawberry.field(description="Counts the changes; pass it as `expectedVersion`.")
    region: Region = strawberry.field(description="Where the request was raised; never changes.")
    key: strawberry.Private[uuid.UUID]
    region_code: strawberry.Private[str]
    handling_region_code: strawberry.Private[str]
    handled_by_id: strawberry.Private[uuid.UUID | None]
    path: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> ServiceRequest:
        requester = None
        if row["requester_name"] or row["requester_phone"]:
            requester = Person(
                name=row["requester_name"] or "", role=None, phone=row["requester_phone"]
            )
        return cls(
            id=strawberry.ID(global_id("ServiceRequest", row["id"])),
            reference=row["reference"],
            title=row["title"],
            description=row["description"],
            category=ServiceCategory(row["category"]),
            channel=ServiceChannel(row["channel"]),
            status=ServiceStatus(row["status"]),
            requester=requester,
            submitted_at=row["submitted_at"].astimezone(CST),
            first_responded_at=_cst(row["first_responded_at"]),
            accepted_at=_cst(row["accepted_at"]),
            due_at=_cst(row["due_at"]),
            resolved_at=_cst(row["resolved_at"]),
            closed_at=_cst(row["closed_at"]),
            satisfaction=row["satisfaction"],
            version=row["version"],
            region=Region.from_record(row),
            key=row["id"],
            region_code=row["region_code"],
            handling_region_code=row["handling_region_code"],
            handled_by_id=row["handled_by"],
            path=row["path"],
        )

    @classmethod
    async def resolve_reference(
        cls,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        reference: str | None = None,
    ) -> ServiceRequest | None:
        if reference is not None:
            return await load_service_request_by_reference(info.context, reference)
        parsed = parse_global_id(str(id))
        if parsed is None or parsed[0] != "ServiceRequest":
            return None
        return await load_service_request(info.context, uuid.UUID(parsed[1]))

    @strawberry.field(
        description="The workflow steps you may take on this request now — your role on the "
        "handling region, its status, the reopening window and whether it was rated — "
        "by the same rules the mutations enforce; empty when you may take none."
    )
    def available_actions(self, info: Info[Context, None]) -> list[ServiceRequestAction]:
        standing = workflow.Standing(
            self.status.value,
            workflow.handling_path(self.path, self.handling_region_code),
            self.resolved_at,
            self.satisfaction,
        )
        return [
            ServiceRequestAction(name)
            for name in workflow.available(info.context.caller, standing, info.context.now)
        ]

    @strawberry.field(description="The status's Chinese label, e.g. 已受理.")
    def status_label(self) -> str:
        return SERVICE_STATUS[self.status.value]

    @strawberry.field(description="The category's Chinese label, e.g. 养老服务.")
    def category_label(self) -> str:
        return SERVICE_CATEGORY[self.category.value]

    @strawberry.field(description="The channel's Chinese label, e.g. 热线电话.")
    def channel_label(self) -> str:
        return SERVICE_CHANNEL[self.channel.value]

    @strawberry.field(
        description="The region now handling the request, when it was escalated above the "
        "raising region (a breadcrumb if above your jurisdiction)."
    )
    async def escalated_to(self, info: Info[Context, None]) -> RegionT | None:
        from schema.region import load_region

        if self.handling_region_code == self.region_code:
            return None
        return await load_region(info.context, self.handling_region_code)

    @strawberry.field(description="The handling organization; null when you cannot see it.")
    @page_future(lambda request, ctx: handler_future(request, ctx))
    def handled_by(self, info: Info[Context, None]) -> OrganizationT | None:
        # A future, which graphql-core awaits: one per row instead of three coroutines.
        return handler_future(self, info.context)  # type: ignore[return-value]

    @strawberry.field(description="Each transition, oldest first.")
    async def history(self, info: Info[Context, None]) -> list[ServiceRequestEvent]:
        row = await info.context.loader(ServiceRequestHistoryLoader).load(self.key)
        return _history(row["history"]) if row is not None else []


def handler_future(request: ServiceRequest, ctx: Context) -> asyncio.Future[Any] | None:
    """The handling organization as the loader's future (None when there is none): the
    resolver's answer, and what compiled lists await for a whole page."""
    from schema.organization import organization_future

    if request.handled_by_id is None:
        return None
    return organization_future(ctx, request.handled_by_id)


async def load_service_request(ctx: Context, key: uuid.UUID) -> ServiceRequest | None:
    row = await ctx.loader(ServiceRequestByIdLoader).load(key)
    return ServiceRequest.from_row(row) if row is not None else None


async def load_service_request_by_reference(ctx: Context, reference: str) -> ServiceRequest | None:
    row = await ctx.loader(ServiceRequestByReferenceLoader).load(reference)
    return ServiceRequest.from_row(row) if row is not None else None
