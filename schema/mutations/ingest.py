"""The `ingest` mutation: a subordinate system's batch of records (README.md, "Ingestion")."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.mutations import ingest as ingestion
from schema.permissions import NEEDS_EDITOR


@strawberry.enum(description="How an ingestion batch is written.")
class IngestFormat(Enum):
    JSONL = strawberry.enum_value("jsonl", description="JSON Lines: one JSON object per line.")
    CSV = strawberry.enum_value("csv", description="CSV with a header row of field names.")


@strawberry.type(description="What a batch did to the records of one type.")
class IngestCounts:
    created: int = strawberry.field(description="Records new to the hub, now written.")
    updated: int = strawberry.field(
        description="Records imported before and changed by this batch (their version moves on)."
    )
    unchanged: int = strawberry.field(
        description="Records imported before and sent again as they are: nothing written."
    )


@strawberry.type(description="A batch that was written whole.")
class IngestResult:
    source: str = strawberry.field(description="The source the batch came from.")
    records: int = strawberry.field(
        description="Records in the batch: created + updated + unchanged."
    )
    created: int = strawberry.field(description="Records created, of every type.")
    updated: int = strawberry.field(description="Records updated, of every type.")
    unchanged: int = strawberry.field(description="Records left as they were, of every type.")
    organizations: IngestCounts = strawberry.field(description="The batch's organizations.")
    service_requests: IngestCounts = strawberry.field(description="The batch's service requests.")
    participation_events: IngestCounts = strawberry.field(
        description="The batch's participation events."
    )
    resolutions: IngestCounts = strawberry.field(
        description="The batch's resolutions (each linked to an event of the same source)."
    )


def _counts(given: ingestion.Counts) -> IngestCounts:
    return IngestCounts(created=given.created, updated=given.updated, unchanged=given.unchanged)


@strawberry.type
class IngestMutation:
    @strawberry.mutation(
        directives=NEEDS_EDITOR,
        description="Write a batch of a registered source's organizations, service requests, "
        "participation events and resolutions, keyed by `externalId` (editor on each record's "
        "region, inside the source's jurisdiction). A batch with any problem is refused whole "
        "with BAD_USER_INPUT and `extensions.errors` = [{line, field, reason}].",
    )
    async def ingest(
        self,
        info: Info[Context, None],
        source: Annotated[
            str,
            strawberry.argument(
                description="Names the sending system; its records are keyed by it."
            ),
        ],
        format: Annotated[IngestFormat, strawberry.argument(description="How `data` is written.")],
        data: Annotated[str, strawberry.argument(description="The batch, one record per line.")],
    ) -> IngestResult | None:
        report = await ingestion.ingest(info.context, source, format.name.lower(), data)
        return IngestResult(
            source=report.source,
            records=report.records,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            organizations=_counts(report.organizations),
            service_requests=_counts(report.service_requests),
            participation_events=_counts(report.participation_events),
            resolutions=_counts(report.resolutions),
        )
