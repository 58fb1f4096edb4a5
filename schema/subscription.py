"""The root Subscription: live changes, delivered over WebSocket (graphql-transport-ws)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.changes import LiveContext, service_request_changes
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.labels import SERVICE_REQUEST_ACTION
from resolvers.scope import Scope
from schema.enums import ServiceRequestAction
from schema.permissions import NEEDS_CALLER
from schema.service import ServiceRequest

Under = Annotated[
    str | None,
    strawberry.argument(
        description="Only changes under this region (a code), intersected with your "
        "jurisdiction; an unknown or foreign region gives no changes."
    ),
]
OVER_WEBSOCKET = (
    "Subscriptions are served over WebSocket at /graphql with the graphql-transport-ws protocol"
)


@strawberry.type(description="A service request as it stands after a change.")
class ServiceRequestChange:
    action: str = strawberry.field(
        description="The workflow action that made the change (`submit`, `accept`, …, or "
        "`imported`): the request's latest history entry.",
        deprecation_reason="Use `kind` (an enum) and `label` (its Chinese label).",
    )
    kind: ServiceRequestAction | None = strawberry.field(
        description="The workflow step that made the change (IMPORTED for ingestion): the "
        "request's latest history entry; null for a change outside the workflow."
    )
    label: str | None = strawberry.field(description="The step's Chinese label, e.g. 受理.")
    request: ServiceRequest | None = strawberry.field(
        description="The request as it stands after the change."
    )


def change(action: str, request: ServiceRequest) -> ServiceRequestChange:
    known = action in ServiceRequestAction._value2member_map_
    kind = ServiceRequestAction(action) if known else None
    return ServiceRequestChange(
        action=action,
        kind=kind,
        label=SERVICE_REQUEST_ACTION[kind.name] if kind else None,
        request=request,
    )


async def _changes(
    ctx: LiveContext, targets: Scope
) -> AsyncGenerator[ServiceRequestChange | None, None]:
    async for action, row in service_request_changes(ctx, targets):
        yield change(action, ServiceRequest.from_row(row))


@strawberry.type(description="Live changes, over WebSocket (graphql-transport-ws).")
class Subscription:
    @strawberry.subscription(
        directives=NEEDS_CALLER,
        description="Each change to a service request in your jurisdiction (under `under`, "
        "intersected with it), as it commits. Changes that commit in quick succession may "
        "arrive as one, with the request as it stands.",
    )
    async def service_request_changed(
        self, info: Info[Context, None], under: Under = None
    ) -> AsyncGenerator[ServiceRequestChange | None, None]:
        # A plain coroutine returning the stream, so that a bad `under` is refused when
        # subscribing (an `error` message), not after the first change.
        ctx = info.context
        if not isinstance(ctx, LiveContext):
            raise BadUserInput(OVER_WEBSOCKET, reason="SUBSCRIPTIONS_OVER_WEBSOCKET")
        targets = await ctx.directory.under(ctx.caller.read, under)
        return _changes(ctx, targets)
