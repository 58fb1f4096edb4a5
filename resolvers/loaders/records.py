"""Record loaders: organizations, service requests, events and resolutions by key, and the
per-region pages and counts behind `Region.organizations` and its siblings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from resolvers import audit, organizations, participation, services
from resolvers.listing import nested_counts, nested_rows
from resolvers.loaders.base import (
    ContextLoader,
    CountByKeyLoader,
    Row,
    RowByKeyLoader,
    RowsByKeyLoader,
)


class OrganizationByIdLoader(RowByKeyLoader[uuid.UUID]):
    async def fetch(self, keys: list[uuid.UUID]) -> Sequence[Row]:
        c = self.ctx
        return await organizations.by_ids(c.session, c.caller.read, c.caller.pii, keys)


class OrganizationChildrenLoader(RowsByKeyLoader[uuid.UUID]):
    key_column = "parent_id"

    async def fetch(self, keys: list[uuid.UUID]) -> Sequence[Row]:
        c = self.ctx
        return await organizations.children(c.session, c.caller.read, c.caller.pii, keys)


class ServiceRequestByIdLoader(RowByKeyLoader[uuid.UUID]):
    async def fetch(self, keys: list[uuid.UUID]) -> Sequence[Row]:
        c = self.ctx
        return await services.by_ids(c.session, c.caller.read, c.caller.pii, keys)


class ServiceRequestHistoryLoader(RowByKeyLoader[uuid.UUID]):
    """The (masked) history of requests by id."""

    async def fetch(self, keys: list[uuid.UUID]) -> Sequence[Row]:
        c = self.ctx
        return await services.histories(c.session, c.caller.read, c.caller.pii, keys)


class ServiceRequestByReferenceLoader(RowByKeyLoader[str]):
    key_column = "reference"

    async def fetch(self, keys: list[str]) -> Sequence[Row]:
        c = self.ctx
        return await services.by_references(c.session, c.caller.read, c.caller.pii, keys)


class ParticipationEventByIdLoader(RowByKeyLoader[uuid.UUID]):
    async def fetch(self, keys: list[uuid.UUID]) -> Sequence[Row]:
        c = self.ctx
        return await participation.by_ids(c.session, c.caller.read, c.caller.pii, keys)


class ResolutionByIdLoader(RowByKeyLoader[uuid.UUID]):
    async def fetch(self, keys: list[uuid.UUID]) -> Sequence[Row]:
        c = self.ctx
        return await participation.resolutions_by_id(c.session, c.caller.read, c.caller.pii, keys)


class ResolutionsByEventLoader(RowsByKeyLoader[uuid.UUID]):
    key_column = "event_id"

    async def fetch(self, keys: list[uuid.UUID]) -> Sequence[Row]:
        c = self.ctx
        return await participation.resolutions(c.session, c.caller.read, c.caller.pii, keys)


class RegionListLoader(ContextLoader[str, list[Row]]):
    """A page of a domain's records per region path; args: (spec, include descendants, ListArgs)."""

    async def load_batch(self, keys: list[str]) -> list[list[Row]]:
        spec, deep, args = self.args
        c = self.ctx
        grouped = await nested_rows(
            c.session, c.cursors, spec, c.caller.read, c.caller.pii, keys, deep, args
        )
        return [grouped[key] for key in keys]


class RegionListCountLoader(CountByKeyLoader[str]):
    """How many of a domain's records each region path holds; args: (spec, deep, filters)."""

    async def counts(self, keys: list[str]) -> Mapping[str, int]:
        spec, deep, filters = self.args
        c = self.ctx
        return await nested_counts(
            c.session, spec, c.caller.read, c.caller.pii, keys, deep, filters
        )


class AuditEntryByIdLoader(RowByKeyLoader[uuid.UUID]):
    async def fetch(self, keys: list[uuid.UUID]) -> Sequence[Row]:
        c = self.ctx
        return await audit.by_ids(c.session, keys)
