"""Ingestion: a batch of a source's records, written whole or refused whole.

The GraphQL `ingest` mutation and `grassroots ingest FILE --token T` both call `ingest`. The
file is read and each field checked here (`resolvers.ingest_formats`); the batch then goes
to one security-definer function, `ingest_batch` (db/migrations/0012_personal_data.sql),
which first refuses a source unless the caller's editor scope covers its whole jurisdiction,
then checks consistency, links, conflicts and personal data for every record, and writes
the batch set-based or nothing at all. Refusals come as one BAD_USER_INPUT error with
`extensions.errors = [{line, field, reason}]`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from resolvers import sources
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.ingest_formats import MAX_PROBLEMS, Problem, read_batch
from resolvers.mutations.common import atomically, require_role

FORMATS = ("jsonl", "csv")
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
# A batch of 50,000 records takes a few seconds; the request default is shorter.
STATEMENT_TIMEOUT = "120s"

# name: ingest-timeout — raised for the ingest statement, and the one before it returned.
TIMEOUT = """select current_setting('statement_timeout') as before,
    set_config('statement_timeout', $1, true)"""
# name: ingest-timeout-end — the request's own timeout again, once the batch is written.
TIMEOUT_END = "select set_config('statement_timeout', $1, true)"

# name: ingest-batch — the whole batch in one call of the security-definer function.
INGEST = "select ingest_batch($1, $2, $3::text::jsonb, $4::text::jsonb, $5::text::jsonb)"
# name: ingest-resolutions — the batch's resolutions, after its events, in the same savepoint.
INGEST_RESOLUTIONS = "select ingest_resolutions($1, $2, $3::text::jsonb)"


def _json(records: list[list[Any]]) -> str:
    return json.dumps(records, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @classmethod
    def of(cls, result: dict[str, Any], key: str) -> Counts:
        given = result.get(key) or {}
        return cls(given.get("created", 0), given.get("updated", 0), given.get("unchanged", 0))

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class IngestReport:
    source: str
    organizations: Counts
    service_requests: Counts
    participation_events: Counts
    resolutions: Counts

    @property
    def _all(self) -> tuple[Counts, ...]:
        return (
            self.organizations,
            self.service_requests,
            self.participation_events,
            self.resolutions,
        )

    @property
    def created(self) -> int:
        return sum(c.created for c in self._all)

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self._all)

    @property
    def unchanged(self) -> int:
        return sum(c.unchanged for c in self._all)

    @property
    def records(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "records": self.records,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "organizations": self.organizations.as_dict(),
            "serviceRequests": self.service_requests.as_dict(),
            "participationEvents": self.participation_events.as_dict(),
            "resolutions": self.resolutions.as_dict(),
        }


def refused(errors: list[dict[str, Any]], count: int | None = None) -> BadUserInput:
    """The one refusal of a batch; `count` is the number of problems when more were found
    than listed (None: the list stopped at MAX_PROBLEMS, so there may be more)."""
    total = len(errors) if count is None else count
    many = "at least " if count is None and total >= MAX_PROBLEMS else ""
    shown = f" (the first {len(errors)} listed)" if total > len(errors) else ""
    noun = "problem" if total == 1 else "problems"
    return BadUserInput(
        f"The batch was refused with {many}{total} {noun}{shown}; nothing was written",
        errors=errors,
        errorCount=total,
        reason="BATCH_REFUSED",
    )


def _problem(field: str, reason: str) -> BadUserInput:
    return refused([Problem(0, field, reason).as_dict()])


async def ingest(ctx: Context, source: str, format: str, data: str) -> IngestReport:
    """Write the batch `data` (in `format`, "jsonl" or "csv") of `source`, or refuse it whole."""
    require_role(ctx, "editor")
    if not SOURCE_NAME.match(source):
        raise _problem("source", "must be a registered source name (letters, digits, . _ : -)")
    if format not in FORMATS:
        raise _problem("format", f"must be one of {', '.join(FORMATS)}")
    batch = read_batch(format, data)
    if batch.problems:
        raise refused([p.as_dict() for p in batch.problems])

    async def once() -> dict[str, Any]:
        # On a refusal the savepoint's rollback restores the timeout with everything else.
        before = await ctx.session.fetchval(TIMEOUT, STATEMENT_TIMEOUT)
        result: dict[str, Any] = await ctx.session.fetchval(
            INGEST,
            source,
            ctx.caller.client,
            _json(batch.organizations),
            _json(batch.requests),
            _json(batch.events),
        )
        if "errors" in result:
            raise refused(result["errors"], result["errorCount"])
        if batch.resolutions:
            voted: dict[str, Any] = await ctx.session.fetchval(
                INGEST_RESOLUTIONS, source, ctx.caller.client, _json(batch.resolutions)
            )
            if "errors" in voted:
                raise refused(voted["errors"], voted["errorCount"])
            result = {**result, **voted}
        await sources.log_import(
            ctx.session, source, {k: result.get(k) or {} for k in sources.KINDS}
        )
        await ctx.session.execute(TIMEOUT_END, before)
        return result

    try:
        result = await atomically(ctx, once)
    except asyncpg.DataError as error:  # a value Python read and PostgreSQL does not
        raise _problem("data", f"holds a value the database cannot read: {error}") from None
    return IngestReport(
        source,
        Counts.of(result, "organizations"),
        Counts.of(result, "serviceRequests"),
        Counts.of(result, "participationEvents"),
        Counts.of(result, "resolutions"),
    )
