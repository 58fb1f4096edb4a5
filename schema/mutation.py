"""The root Mutation: every domain's mutation fields, merged into one type.

Every mutation takes an `idempotencyKey`; state changes take an `expectedVersion`. Refusals
come as errors with `extensions.code`, like every other error of the hub.
"""

from __future__ import annotations

from strawberry.tools import merge_types

from schema.mutations.ingest import IngestMutation
from schema.mutations.records import RecordMutation
from schema.mutations.service_requests import ServiceRequestMutation

Mutation = merge_types("Mutation", (ServiceRequestMutation, RecordMutation, IngestMutation))
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Every write: the service request workflow, records, ingestion. Each is refused with "
    "`extensions.code` and `extensions.reason`, like every other refusal."
)
