"""Ingestion sources as an office reads them: `Query.ingestSources` (README.md, "Ingestion")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from resolvers import sources
from resolvers.context import Context
from resolvers.pagination import make_page, page_size
from schema.relay import Connection, connection

SOURCE_LIST = "ingestSources"


@strawberry.type(description="Records a source holds now, per kind.")
class IngestSourceRecords:
    organizations: int = strawberry.field(description="Organizations.")
    service_requests: int = strawberry.field(description="Service requests.")
    participation_events: int = strawberry.field(description="Participation events.")
    resolutions: int = strawberry.field(description="Resolutions.")


@strawberry.type(description="A subordinate system registered to send records of one jurisdiction.")
class IngestSource:
    name: str = strawberry.field(description="The source's name, as batches give it.")
    jurisdiction: str = strawberry.field(
        description="The code of the region whose subtree it sends records for."
    )
    registered_at: dt.datetime = strawberry.field(description="When it was registered.")
    last_import_at: dt.datetime | None = strawberry.field(
        description="When its last batch was written; null when it has sent none."
    )
    batches: int = strawberry.field(description="Batches written (refused ones leave nothing).")
    records: IngestSourceRecords = strawberry.field(
        description="Its records in the hub now, per kind (records it created or updated)."
    )

    @classmethod
    def from_row(cls, row: Any) -> IngestSource:
        return cls(
            name=row["name"],
            jurisdiction=row["region_code"],
            registered_at=row["registered_at"],
            last_import_at=row["last_import_at"],
            batches=row["batches"],
            records=IngestSourceRecords(
                organizations=row["organizations"],
                service_requests=row["service_requests"],
                participation_events=row["participation_events"],
                resolutions=row["resolutions"],
            ),
        )


async def source_page(
    ctx: Context, first: int | None, after: str | None
) -> Connection[IngestSource]:
    """A page of the sources the caller's editor scope covers, by name."""
    size = page_size(first)
    position = ctx.cursors.decode(SOURCE_LIST, after)[0] if after is not None else None
    rows = await sources.page(ctx.session, position, size + 1)

    async def count() -> int | None:
        return await sources.count(ctx.session)

    page = make_page(rows, size, after, ctx.cursors, SOURCE_LIST, lambda r: [r["name"]], count)
    return connection(page, IngestSource.from_row)
