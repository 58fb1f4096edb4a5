"""The schema object: the root types, federation v2.7 and the execution extensions."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.audit import AuditEntry
from schema.limits import QueryLimits
from schema.mutation import Mutation
from schema.organization import Organization
from schema.participation import ParticipationEvent, Resolution
from schema.query import Query
from schema.region import Region
from schema.service import ServiceRequest

SDL_PATH = Path(__file__).parent / "schema.graphql"


class HubSchema(strawberry.federation.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Refusals are answers, not incidents: only unexpected errors are logged (by the
        # endpoint, which also masks them).
        return None


def build_schema(*, production: bool = False) -> HubSchema:
    """The schema; in production without introspection or field suggestions."""
    hardening = [DisableIntrospection] if production else []
    return HubSchema(
        query=Query,
        mutation=Mutation,
        types=[Region, Organization, ServiceRequest, ParticipationEvent, Resolution, AuditEntry],
        extensions=[
            lambda: ParserCache(maxsize=1024),
            lambda: ValidationCache(maxsize=1024),
            QueryLimits,  # after validation: it measures only valid operations
            *hardening,
        ],
        config=StrawberryConfig(disable_field_suggestions=production),
        federation_version="2.7",
    )


def sdl(schema: HubSchema) -> str:
    return schema.as_str() + "\n"
