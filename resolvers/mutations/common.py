"""What every write shares: role checks, database errors as refusals, audit, idempotency."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from resolvers.context import Context
from resolvers.errors import BadUserInput, Conflict, Forbidden, NotFound
from resolvers.ids import parse_global_id
from resolvers.scope import Path, check_region_code

# name: audit-write — one entry per write, with the record before and after.
AUDIT = """
insert into audit_log (actor, client, operation, region_code, record_type, record_id, before, after)
values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)
"""

# name: idempotency-find
IDEMPOTENCY_FIND = """
select operation, input_hash, result_type, result_id from idempotency_key
where subject = $1 and key = $2
"""

# name: idempotency-keep
IDEMPOTENCY_KEEP = """
insert into idempotency_key (subject, key, operation, input_hash, result_type, result_id)
values ($1, $2, $3, $4, $5, $6)
"""


MAX_TEXT = 10_000


def clean_text(
    value: str | None, argument: str, *, required: bool = False, limit: int = MAX_TEXT
) -> str | None:
    """Free text as stored: stripped, bounded, without NUL; empty means absent."""
    if value is None or value.strip() == "":
        if required:
            raise BadUserInput(f"`{argument}` must not be empty", reason="VALUE_REQUIRED")
        return None
    if len(value) > limit or "\x00" in value:
        raise BadUserInput(
            f"`{argument}` takes at most {limit} characters, without NUL", reason="TEXT_TOO_LONG"
        )
    return value.strip()


def require_role(ctx: Context, role: str) -> None:
    if not ctx.caller.scope(role):
        raise Forbidden(f"This needs the {role} role", reason="ROLE_REQUIRED")


def require_editor(ctx: Context, path: Path) -> None:
    if not ctx.caller.has("editor", path):
        raise Forbidden("You need the editor role for this record's region", reason="NOT_EDITOR")


def record_key(value: str, type_name: str, argument: str) -> uuid.UUID:
    """The UUID behind a global id of `type_name`; anything else is as absent as a foreign id."""
    parsed = parse_global_id(value)
    if parsed is None or parsed[0] != type_name:
        raise NotFound(f"No {type_name} matches `{argument}`", reason="RECORD_NOT_FOUND")
    return uuid.UUID(parsed[1])


async def region_for_write(ctx: Context, code: str, argument: str) -> Path:
    """The path of a region the caller may write in; a region it cannot see does not exist."""
    check_region_code(code, argument)
    known = (await ctx.directory.lookup([code])).get(code)
    if known is None or not ctx.caller.reads(known.path):
        raise NotFound(f"No region {code} in your jurisdiction", reason="REGION_NOT_FOUND")
    require_editor(ctx, known.path)
    return known.path


def check_version(expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise Conflict(
            f"The record is at version {actual}, not {expected}: re-read it and try again",
            version=actual,
            reason="VERSION_MISMATCH",
        )


@contextlib.asynccontextmanager
async def refusals() -> AsyncIterator[None]:
    """Database refusals, by class, as the one error shape clients know."""
    try:
        yield
    except asyncpg.CheckViolationError as error:
        raise BadUserInput(
            error.message or "The change breaks a rule of the workflow", reason="WORKFLOW_RULE"
        ) from None
    except asyncpg.InsufficientPrivilegeError:
        raise Forbidden(
            "You need the editor role for this record's region", reason="NOT_EDITOR"
        ) from None
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "The record was written at the same time by another request", reason="WRITTEN_MEANWHILE"
        ) from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(
            "A record this change links to does not exist", reason="RECORD_NOT_FOUND"
        ) from None


T = TypeVar("T")

# Every writer of a region and day adds to the same roll-up rows (0008_rollups.sql). A
# statement takes them in key order, but a transaction of several statements (ingestion) can
# still meet a writer in a deadlock, which PostgreSQL breaks by aborting one of them.
RETRIED = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
ATTEMPTS = 3


async def atomically(ctx: Context, work: Callable[[], Awaitable[T]]) -> T:
    """`work` in a savepoint, database refusals as errors; undone and run again when it is
    chosen to break a deadlock (rolling back to the savepoint releases its locks)."""
    for _ in range(ATTEMPTS):
        try:
            async with ctx.session.atomic(), refusals():
                return await work()
        except RETRIED:
            continue
    raise Conflict(
        "The records this write changes were busy; try again", reason="WRITTEN_MEANWHILE"
    )


async def audit(
    ctx: Context,
    operation: str,
    region_code: str,
    record_type: str,
    record_id: uuid.UUID,
    before: Any,
    after: Any,
) -> None:
    caller = ctx.caller
    await ctx.session.execute(
        AUDIT,
        caller.subject,
        caller.client,
        operation,
        region_code,
        record_type,
        record_id,
        before,
        after,
    )


Written = tuple[str, uuid.UUID]


async def write(
    ctx: Context,
    operation: str,
    key: str | None,
    inputs: dict[str, Any],
    run: Callable[[], Awaitable[Written]],
) -> Written:
    """Run a write once per idempotency key: the same key and input replay the first result;
    the same key with other input is a CONFLICT. All of it is undone if any part fails."""
    if key is not None and not 0 < len(key) <= 200:
        raise BadUserInput(
            "`idempotencyKey` takes 1 to 200 characters", reason="IDEMPOTENCY_KEY_LENGTH"
        )
    digest = hashlib.sha256(
        json.dumps([operation, inputs], sort_keys=True, default=str).encode()
    ).hexdigest()

    async def once() -> Written:
        if key is not None:
            kept = await ctx.session.fetchrow(IDEMPOTENCY_FIND, ctx.caller.subject, key)
            if kept is not None:
                if kept["operation"] != operation or kept["input_hash"] != digest:
                    raise Conflict(
                        "This idempotency key was used with another input",
                        reason="IDEMPOTENCY_KEY_REUSED",
                    )
                return kept["result_type"], kept["result_id"]
        written = await run()
        if key is not None:
            await ctx.session.execute(
                IDEMPOTENCY_KEEP, ctx.caller.subject, key, operation, digest, *written
            )
        return written

    return await atomically(ctx, once)
