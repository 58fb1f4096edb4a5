"""The schema object: the root types, federation v2.7 and the execution extensions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.errors import BadUserInput
from schema.audit import AuditEntry
from schema.compiled import ListCompiler, execution_context
from schema.limits import QueryLimits
from schema.mutation import Mutation
from schema.operation import OperationName
from schema.organization import Organization
from schema.participation import ParticipationEvent, Resolution
from schema.query import Query
from schema.region import Region
from schema.scalars import SCALARS
from schema.service import ServiceRequest
from schema.subscription import OVER_WEBSOCKET, Subscription

SDL_PATH = Path(__file__).parent / "schema.graphql"


class HubSchema(strawberry.federation.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Refusals are answers, not incidents: only unexpected errors are logged (by the
        # endpoint, which also masks them).
        return None

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Queries and mutations (subscriptions stream over WebSocket); a document without
        the named operation, or a subscription, is refused as BAD_USER_INPUT."""
        if allowed_operation_types is None:
            allowed_operation_types = (OperationType.QUERY, OperationType.MUTATION)
        try:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        except InvalidOperationTypeError as error:
            refused = (
                OVER_WEBSOCKET
                if error.operation_type is OperationType.SUBSCRIPTION
                else f"{error.operation_type.value.capitalize()}s are not served here"
            )
            return ExecutionResult(
                data=None, errors=[BadUserInput(refused, reason="OPERATION_NOT_SERVED")]
            )
        except CannotGetOperationTypeError as error:
            return ExecutionResult(
                data=None,
                errors=[BadUserInput(error.as_http_error_reason(), reason="OPERATION_NOT_FOUND")],
            )


def build_schema(
    *,
    production: bool = False,
    extensions: Sequence[type[SchemaExtension]] = (),
    compiled_lists: bool = True,
) -> HubSchema:
    """The schema; in production without introspection or field suggestions. `extensions`
    are added last (tracing). `compiled_lists`: connections' edges completed by
    `schema/compiled.py` where their selection allows (HUB_COMPILED_LISTS)."""
    hardening = [DisableIntrospection] if production else []
    schema = HubSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Region, Organization, ServiceRequest, ParticipationEvent, Resolution, AuditEntry],
        extensions=[
            lambda: ParserCache(maxsize=1024),
            OperationName,
            lambda: ValidationCache(maxsize=1024),
            QueryLimits,  # after validation: it measures only valid operations
            *hardening,
            *extensions,
        ],
        config=StrawberryConfig(disable_field_suggestions=production),
        federation_version="2.7",
        scalar_overrides=SCALARS,
    )
    if compiled_lists:
        schema.execution_context_class = execution_context(ListCompiler(schema._schema))
    return schema


def sdl(schema: HubSchema) -> str:
    return schema.as_str() + "\n"
