"""Mutations of the service request workflow (DESIGN.md §5).

Every mutation takes an `idempotencyKey`; state changes take an `expectedVersion`. Refusals
come as errors with `extensions.code`, like every other error of the hub.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.loaders.records import ServiceRequestByIdLoader
from resolvers.mutations import service_requests as workflow
from schema.arguments import ID_ARGUMENT, INPUT, NOTE, REASON, ExpectedVersion, IdempotencyKey
from schema.enums import ServiceCategory, ServiceChannel
from schema.permissions import NEEDS_EDITOR
from schema.service import ServiceRequest, load_service_request

KEY = "Repeat a write safely: the same key with the same input returns the first result."
VERSION = "Refuse (CONFLICT) unless the record is still at this version."


@strawberry.input(description="A new request, raised in `regionCode`.")
class SubmitServiceRequestInput:
    region_code: str = strawberry.field(
        description="The region where it is raised (a code in your jurisdiction, where you "
        "are editor)."
    )
    category: ServiceCategory = strawberry.field(description="What it is about.")
    channel: ServiceChannel = strawberry.field(description="How it reached the office.")
    title: str = strawberry.field(description="A short title.")
    description: str | None = strawberry.field(default=None, description="The resident's account.")
    requester_name: str | None = strawberry.field(
        default=None, description="Who asks (personal data)."
    )
    requester_phone: str | None = strawberry.field(
        default=None, description="Their phone: digits and dashes (personal data)."
    )


async def _reread(ctx: Context, key: uuid.UUID) -> ServiceRequest | None:
    """The written request as the caller may read it now (null if it left their scope)."""
    loader = ctx.loader(ServiceRequestByIdLoader)
    if loader.cache_map.get(key) is not None:
        loader.clear(key)
    return await load_service_request(ctx, key)


async def _act(
    info: Info[Context, None],
    action: str,
    id: strawberry.ID,
    note: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> ServiceRequest | None:
    ctx = info.context
    key = await workflow.act(
        ctx, action, str(id), note=note, expected_version=expected_version, key=idempotency_key
    )
    return await _reread(ctx, key)


def _plain(action: str, description: str) -> Any:
    """A workflow mutation that takes no text."""

    async def resolve(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, ID_ARGUMENT],
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ServiceRequest | None:
        return await _act(info, action, id, None, expected_version, idempotency_key)

    return strawberry.mutation(resolver=resolve, directives=NEEDS_EDITOR, description=description)


def _with_reason(action: str, description: str) -> Any:
    """A workflow mutation that needs a `reason`."""

    async def resolve(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, ID_ARGUMENT],
        reason: Annotated[str, REASON],
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ServiceRequest | None:
        return await _act(info, action, id, reason, expected_version, idempotency_key)

    return strawberry.mutation(resolver=resolve, directives=NEEDS_EDITOR, description=description)


def _with_note(action: str, description: str) -> Any:
    """A workflow mutation that needs a `note`."""

    async def resolve(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, ID_ARGUMENT],
        note: Annotated[str, NOTE],
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ServiceRequest | None:
        return await _act(info, action, id, note, expected_version, idempotency_key)

    return strawberry.mutation(resolver=resolve, directives=NEEDS_EDITOR, description=description)


@strawberry.type
class ServiceRequestMutation:
    @strawberry.mutation(
        directives=NEEDS_EDITOR, description="Raise a request (editor on `regionCode`)."
    )
    async def submit_service_request(
        self,
        info: Info[Context, None],
        input: Annotated[SubmitServiceRequestInput, INPUT],
        idempotency_key: IdempotencyKey = None,
    ) -> ServiceRequest | None:
        ctx = info.context
        key = await workflow.submit(
            ctx,
            workflow.Submission(
                input.region_code,
                input.category.value,
                input.channel.value,
                input.title,
                input.description,
                input.requester_name,
                input.requester_phone,
            ),
            idempotency_key,
        )
        return await _reread(ctx, key)

    @strawberry.mutation(
        directives=NEEDS_EDITOR,
        description="Accept a SUBMITTED or ESCALATED request, optionally naming the handling "
        "organization (editor where it is handled).",
    )
    async def accept_service_request(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, ID_ARGUMENT],
        handled_by: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The organization that will handle it, in the handling region's "
                "subtree; omitted: none named."
            ),
        ] = None,
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ServiceRequest | None:
        ctx = info.context
        key = await workflow.act(
            ctx,
            "accept",
            str(id),
            handled_by=str(handled_by) if handled_by else None,
            expected_version=expected_version,
            key=idempotency_key,
        )
        return await _reread(ctx, key)

    start_service_request = _plain("start", "Start work on an ACCEPTED request.")
    escalate_service_request = _with_reason(
        "escalate", "Hand an ACCEPTED or IN_PROGRESS request to the region above, with a reason."
    )
    reject_service_request = _with_reason(
        "reject", "Refuse a SUBMITTED or ESCALATED request, with a reason."
    )
    resolve_service_request = _with_note(
        "resolve", "Resolve an ACCEPTED or IN_PROGRESS request, with a note."
    )
    close_service_request = _plain("close", "Close a RESOLVED request.")
    reopen_service_request = _with_reason(
        "reopen", "Reopen a RESOLVED request within 15 days, with a reason."
    )
    withdraw_service_request = _with_reason(
        "withdraw", "Withdraw a SUBMITTED or ACCEPTED request; it leaves every figure."
    )

    @strawberry.mutation(
        directives=NEEDS_EDITOR,
        description="Record the resident's rating (1–5) of a RESOLVED or CLOSED request, once.",
    )
    async def rate_service_request(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, ID_ARGUMENT],
        satisfaction: Annotated[
            int, strawberry.argument(description="The resident's rating, 1 (worst) to 5 (best).")
        ],
        comment: Annotated[
            str | None, strawberry.argument(description="The resident's words, if any.")
        ] = None,
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ServiceRequest | None:
        ctx = info.context
        key = await workflow.act(
            ctx,
            "rate",
            str(id),
            note=comment,
            satisfaction=satisfaction,
            expected_version=expected_version,
            key=idempotency_key,
        )
        return await _reread(ctx, key)
