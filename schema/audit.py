"""AuditEntry: who did or read what, where; for callers holding `auditor` there."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.context import Context
from resolvers.ids import global_id
from resolvers.loaders.records import AuditEntryByIdLoader
from resolvers.services import CST
from schema.relay import Node

if TYPE_CHECKING:
    from schema.region import Region

RegionT = Annotated["Region", strawberry.lazy("schema.region")]


@strawberry.type(
    description="One audited action. `before`/`after` are masked without `pii`, read with it "
    "they are themselves audited, and they name no organization the caller cannot read."
)
class AuditEntry(Node):
    id: strawberry.ID = strawberry.field(description="The global id.")
    at: dt.datetime = strawberry.field(description="When it happened.")
    actor: str = strawberry.field(description="Who acted (the token's subject).")
    operation: str = strawberry.field(
        description="The mutation's name; read_personal_data for reads of unmasked data; "
        "ingest, export; update for the names migration 0012 masked."
    )
    record_id: strawberry.ID | None = strawberry.field(
        description="The record written, as a global id."
    )
    record_ids: list[strawberry.ID] | None = strawberry.field(
        description="For reads: every record returned unmasked or matched by a text filter "
        "in clear, as global ids (at each grant region and each child region that held them)."
    )
    before: JSON | None = strawberry.field(
        description="The record before the change (masked without `pii`); null for a "
        "creation or a read."
    )
    after: JSON | None = strawberry.field(
        description="The record after the change (masked without `pii`)."
    )
    region_code: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        kind = row["record_type"]
        return cls(
            id=strawberry.ID(global_id("AuditEntry", row["id"])),
            at=row["at"].astimezone(CST),
            actor=row["actor"],
            operation=row["operation"],
            record_id=strawberry.ID(global_id(kind, row["record_id"]))
            if kind and row["record_id"]
            else None,
            record_ids=[strawberry.ID(global_id(kind, i)) for i in row["record_ids"]]
            if kind and row["record_ids"] is not None
            else None,
            before=row["before"],
            after=row["after"],
            region_code=row["region_code"],
        )

    @strawberry.field(description="The region the entry belongs to.")
    async def region(self, info: Info[Context, None]) -> RegionT:
        from schema.region import load_region

        found = await load_region(info.context, self.region_code)
        assert found is not None
        return found


async def load_audit_entry(ctx: Context, key: uuid.UUID) -> AuditEntry | None:
    row = await ctx.loader(AuditEntryByIdLoader).load(key)
    return AuditEntry.from_row(row) if row is not None else None
