"""Mutations of the service request workflow (DESIGN.md §5).

Every mutation takes an `idempotencyKey`; state changes take an `expectedVersion`. Refusals
come as errors with `extensions.code`, like every other error of the hub.
"""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.loaders.records import ServiceRequestByIdLoader
from resolvers.mutations import service_requests as workflow
from schema.enums import ServiceCategory, ServiceChannel
from schema.permissions import NEEDS_EDITOR
from schema.service import ServiceRequest, load_service_request

KEY = "Repeat a write safely: the same key with the same input returns the first result."
VERSION = "Refuse (CONFLICT) unless the record is still at this version."


@strawberry.input(description="A new request, raised in `regionCode`.")
class SubmitServiceRequestInput:
    region_code: str
    category: ServiceCategory
    channel: ServiceChannel
    title: str
    description: str | None = None
    requester_name: str | None = None
    requester_phone: str | None = None


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
        id: strawberry.ID,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceRequest | None:
        return await _act(info, action, id, None, expected_version, idempotency_key)

    return strawberry.mutation(resolver=resolve, directives=NEEDS_EDITOR, description=description)


def _with_reason(action: str, description: str) -> Any:
    """A workflow mutation that needs a `reason`."""

    async def resolve(
        info: Info[Context, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceRequest | None:
        return await _act(info, action, id, reason, expected_version, idempotency_key)

    return strawberry.mutation(resolver=resolve, directives=NEEDS_EDITOR, description=description)


def _with_note(action: str, description: str) -> Any:
    """A workflow mutation that needs a `note`."""

    async def resolve(
        info: Info[Context, None],
        id: strawberry.ID,
        note: str,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
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
        input: SubmitServiceRequestInput,
        idempotency_key: str | None = None,
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
        id: strawberry.ID,
        handled_by: strawberry.ID | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
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
        id: strawberry.ID,
        satisfaction: int,
        comment: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
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
