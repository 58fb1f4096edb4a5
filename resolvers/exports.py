"""Exports of the three record lists: the rows of a scoped list, read in chunks inside one
read-only, repeatable-read transaction, shaped into spreadsheet cells.

The lists are the GraphQL lists (`resolvers/listing.py`): the same statement, filters,
orders, masking and scope, with a few joined columns beside them, read through a cursor a
chunk at a time, so a million-row export holds one chunk at a time. Unmasked personal data is
audited chunk by chunk on a connection of its own, before the chunk leaves; the export itself
gets one audit entry when it ends (`audit_export`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from resolvers import audit, organizations, participation, services
from resolvers.ids import global_id
from resolvers.labels import (
    ORGANIZATION_KIND,
    PARTICIPANT_GROUP,
    PARTICIPATION_KIND,
    SERVICE_CATEGORY,
    SERVICE_CHANNEL,
    SERVICE_STATUS,
)
from resolvers.listing import ListSpec, root_sql, single_sql
from resolvers.scope import Caller, Path
from resolvers.scope_sql import in_scope
from resolvers.session import RequestSession

CST = dt.timezone(dt.timedelta(hours=8))
CHUNK_ROWS = 5_000
# Rows turned into cells, and yielded, at a time: shaping a whole fetched chunk held the
# event loop for 50-150 ms on a loaded machine (py-spy, issue 13's stall benchmark).
SHAPED_AT_ONCE = 250
CURSOR = "export_rows"

Cell = str | int | float | bool | None
Row = asyncpg.Record

# The export's transaction may wait on a slow reader between chunks: both limits are the
# export's own, not the GraphQL requests'.


# name: region-names — names of visible regions (in scope, or breadcrumbs above it).
REGION_NAMES = "select code, name from region where code = any($1::text[])"

# name: audit-export — one entry per export: what was asked for and how many rows went out.
AUDIT_EXPORT = """
insert into audit_log (actor, client, operation, region_code, record_type, after)
values ($1, $2, 'export', $3, $4, $5::jsonb)
"""

LEVELS = ("nation", "province", "city", "county", "township", "village")
LEVEL_BY_CODE_LENGTH = {2: 1, 4: 2, 6: 3, 9: 4, 12: 5}
REGION_HEADER = tuple(f"{level}_{part}" for level in LEVELS for part in ("code", "name"))
OPEN = ("SUBMITTED", "ACCEPTED", "IN_PROGRESS", "ESCALATED")


class RegionNames:
    """Names of the regions on the rows' paths, fetched once per export and code, and the
    level columns of each path, made once per path."""

    def __init__(self, limit: int = 100_000) -> None:
        self._names: dict[str, str] = {}
        self._cells: dict[Path, tuple[Cell, ...]] = {}
        self._limit = limit

    def __getitem__(self, code: str) -> str | None:
        return self._names.get(code)

    async def fill(self, conn: Any, paths: Sequence[Path]) -> None:
        needed = {code for path in set(paths) - self._cells.keys() for code in path.split(".")}
        missing = needed - self._names.keys()
        if not missing:
            return
        if len(self._names) + len(missing) > self._limit:
            self._names.clear()
            self._cells.clear()
            missing = {code for path in paths for code in path.split(".")}
        rows = await conn.fetch(REGION_NAMES, sorted(missing))
        self._names.update((row["code"], row["name"]) for row in rows)

    def cells(self, path: Path) -> tuple[Cell, ...]:
        """Code and name of every level from the nation down to the path's region; empty
        below it."""
        found = self._cells.get(path)
        if found is None:
            cells: list[Cell] = [None] * len(REGION_HEADER)
            for position, code in enumerate(path.split(".")):
                level = 0 if position == 0 else LEVEL_BY_CODE_LENGTH.get(len(code))
                if level is not None:
                    cells[2 * level], cells[2 * level + 1] = code, self[code]
            found = self._cells[path] = tuple(cells)
        return found


def iso(value: dt.datetime | dt.date | None) -> str | None:
    """Times in China Standard Time with their offset; days as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(CST).isoformat(timespec="seconds")
    return value.isoformat()


def labelled(code: str, labels: Mapping[str, str]) -> list[Cell]:
    return [code, labels.get(code)]


def visible_id(type_name: str, key: Any) -> str | None:
    return global_id(type_name, key) if key is not None else None


@dataclass(frozen=True, eq=False)
class RecordKind:
    """One exportable list: its rows as the GraphQL list selects them, and their cells."""

    name: str
    record_type: str
    spec: ListSpec
    header: tuple[str, ...]
    shape: Callable[[Row, RegionNames, dt.datetime], list[Cell]]


def _with(spec: ListSpec, name: str, join: str, columns: str) -> ListSpec:
    """The list's statement with organizations joined beside it, visible ones only."""
    return dataclasses.replace(
        spec, name=name, join=f"{spec.join} {join}", columns=f"{spec.columns}, {columns}"
    )


def _service_request(row: Row, names: RegionNames, now: dt.datetime) -> list[Cell]:
    escalated = row["handling_region_code"]
    escalated = escalated if escalated != row["region_code"] else None
    return [
        global_id("ServiceRequest", row["id"]),
        row["reference"],
        *names.cells(row["path"]),
        row["title"],
        row["description"],
        *labelled(row["category"], SERVICE_CATEGORY),
        *labelled(row["channel"], SERVICE_CHANNEL),
        *labelled(row["status"], SERVICE_STATUS),
        escalated,
        names[escalated] if escalated else None,
        visible_id("Organization", row["handler_id"]),
        row["handler_name"],
        row["requester_name"],
        row["requester_phone"],
        iso(row["submitted_at"]),
        iso(row["first_responded_at"]),
        iso(row["accepted_at"]),
        iso(row["due_at"]),
        iso(row["resolved_at"]),
        iso(row["closed_at"]),
        row["status"] in OPEN and row["due_at"] is not None and row["due_at"] < now,
        row["satisfaction"],
        row["version"],
    ]


SERVICE_REQUESTS = RecordKind(
    name="service-requests",
    record_type="ServiceRequest",
    spec=_with(
        services.LIST,
        "export:serviceRequests",
        "left join organization h on h.id = t.handled_by and " + in_scope("h.path"),
        "h.id as handler_id, h.name as handler_name",
    ),
    header=(
        "id",
        "reference",
        *REGION_HEADER,
        "title",
        "description",
        "category",
        "category_label",
        "channel",
        "channel_label",
        "status",
        "status_label",
        "escalated_to_code",
        "escalated_to_name",
        "handled_by_id",
        "handled_by_name",
        "requester_name",
        "requester_phone",
        "submitted_at",
        "first_responded_at",
        "accepted_at",
        "due_at",
        "resolved_at",
        "closed_at",
        "overdue",
        "satisfaction",
        "version",
    ),
    shape=_service_request,
)


def _organization(row: Row, names: RegionNames, now: dt.datetime) -> list[Cell]:
    return [
        global_id("Organization", row["id"]),
        *names.cells(row["path"]),
        row["name"],
        *labelled(row["kind"], ORGANIZATION_KIND),
        visible_id("Organization", row["parent_visible_id"]),
        row["parent_name"],
        row["member_count"],
        row["party_member_count"],
        row["leader_name"],
        row["leader_role"],
        row["leader_phone"],
        iso(row["founded_on"]),
        row["version"],
    ]


ORGANIZATIONS = RecordKind(
    name="organizations",
    record_type="Organization",
    spec=_with(
        organizations.LIST,
        "export:organizations",
        "left join organization p on p.id = t.parent_id and " + in_scope("p.path"),
        "p.id as parent_visible_id, p.name as parent_name",
    ),
    header=(
        "id",
        *REGION_HEADER,
        "name",
        "kind",
        "kind_label",
        "parent_id",
        "parent_name",
        "member_count",
        "party_member_count",
        "leader_name",
        "leader_role",
        "leader_phone",
        "founded_on",
        "version",
    ),
    shape=_organization,
)


def _participation_event(row: Row, names: RegionNames, now: dt.datetime) -> list[Cell]:
    groups = row["participants_by_group"] or {}
    if isinstance(groups, str):
        groups = json.loads(groups)
    return [
        global_id("ParticipationEvent", row["id"]),
        *names.cells(row["path"]),
        row["title"],
        *labelled(row["kind"], PARTICIPATION_KIND),
        visible_id("Organization", row["organizer_visible_id"]),
        row["organizer_name"],
        iso(row["starts_at"]),
        row["topic"],
        row["participant_count"],
        *(groups.get(group) for group in PARTICIPANT_GROUP),
        row["version"],
    ]


PARTICIPATION_EVENTS = RecordKind(
    name="participation-events",
    record_type="ParticipationEvent",
    spec=_with(
        participation.LIST,
        "export:participationEvents",
        "left join organization o on o.id = t.organizer_id and " + in_scope("o.path"),
        "o.id as organizer_visible_id, o.name as organizer_name",
    ),
    header=(
        "id",
        *REGION_HEADER,
        "title",
        "kind",
        "kind_label",
        "organizer_id",
        "organizer_name",
        "starts_at",
        "topic",
        "participant_count",
        *(f"participants_{group.lower()}" for group in PARTICIPANT_GROUP),
        "version",
    ),
    shape=_participation_event,
)

RECORD_KINDS = {kind.name: kind for kind in (SERVICE_REQUESTS, ORGANIZATIONS, PARTICIPATION_EVENTS)}


async def audit_export(
    pool: asyncpg.Pool,
    caller: Caller,
    region_code: str,
    record_type: str,
    details: Mapping[str, Any],
    reads: Mapping[Path, int] | None = None,
) -> None:
    """The export's entries: placed by `audit.place` from `reads` (rows by region path, as
    `record_chunks` counts them), each with its own count of rows; without rows, one entry at
    `region_code`."""
    placed = audit.place(caller.read, reads or {})
    entries = [(audit.region_code(p), dict(details) | {"rows": n}) for p, n in placed.items()]
    session = RequestSession(pool, caller)
    committed = False
    try:
        for code, after in entries or [(region_code, dict(details))]:
            await session.execute(
                AUDIT_EXPORT, caller.subject, caller.client, code, record_type, after
            )
        await session.close(commit=True)
        committed = True
    finally:
        if not committed:
            await session.close(commit=False)


async def record_chunks(
    pool: asyncpg.Pool,
    caller: Caller,
    kind: RecordKind,
    targets: tuple[Path, ...],
    filters: tuple[Any, ...],
    order: str | None,
    timeout_ms: int,
    now: dt.datetime,
    chunk_rows: int | None = None,
    reads: Counter[Path] | None = None,
) -> AsyncGenerator[list[list[Cell]], None]:
    """The rows under `targets` (the caller's read scope intersected with `under`), in the
    list's order, as chunks of cells. Nothing when there are no targets. `reads`, if given,
    counts the rows sent by region path, for `audit_export`.

    The list's own statement, without its limit and cursor, runs once as a server-side
    cursor (`declare`) fetched a chunk at a time: one plan for the whole export. (Keyset
    pages of 5,000 rows were planned one by one, and where no index walks the order, as for
    `dueAt`, or where the planner misjudged the subtree's size, each page sorted the whole
    subtree again: 2,300 rows/s over 100,000 requests, and slower the more there are.)"""
    if not targets:
        return
    size = chunk_rows or CHUNK_ROWS
    spec = kind.spec
    chosen = spec.order(order)
    single = len(targets) == 1
    sql = single_sql(spec, chosen.name, True) if single else root_sql(spec, chosen.name)
    base = [targets[0] if single else list(targets)]
    # No limit (`limit null`) and no cursor position (nulls): every row, in order.
    unbounded = [None] * (1 + chosen.after.count("{"))
    names = RegionNames()
    session = RequestSession(
        pool, caller, readonly=True, isolation="repeatable_read", timeout_ms=timeout_ms
    )

    async def named(rows: list[Row]) -> None:
        await names.fill(session, [row["path"] for row in rows])

    try:
        chunks = session.cursor(sql, *base, *filters, *unbounded, size=size, each=named)
        async with contextlib.aclosing(chunks):
            async for rows in chunks:
                await session.audit_personal_now(kind.record_type, rows)
                if reads is not None:
                    reads.update(row["path"] for row in rows)
                for start in range(0, len(rows), SHAPED_AT_ONCE):
                    if start:  # a turn of the event loop between slices
                        await asyncio.sleep(0)
                    yield [
                        kind.shape(row, names, now) for row in rows[start : start + SHAPED_AT_ONCE]
                    ]
    finally:
        await session.close(commit=True)
