"""The audit log: entries whose region lies in the caller's auditor scope, and the one rule
that places an audited read (`place`).

Reading entries is itself audited when their documents come unmasked (`pii`), and ids of
records the caller cannot read are removed from the documents.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import asyncpg

from resolvers.listing import ListSpec, Order
from resolvers.scope import Path, is_under
from resolvers.scope_sql import in_scope, scope, unmasked
from resolvers.services import day_start

if TYPE_CHECKING:
    from resolvers.session import RequestSession


def place(grants: Iterable[Path], paths: Mapping[Path, int]) -> dict[Path, int]:
    """Where an audited read is written, and how many rows each entry counts.

    `paths` counts the rows read by their region's path. An entry goes to each grant region
    whose subtree held rows, and one to each child region of that grant that held some, so
    that every auditor below sees who read their region. Rows under no grant are not placed.

    >>> place(["1.2"], {"1.2.3.4": 2, "1.2.5": 1, "1.2": 1})
    {'1.2': 4, '1.2.3': 2, '1.2.5': 1}
    """
    placed: Counter[Path] = Counter()
    for grant in sorted(set(grants)):
        depth = grant.count(".") + 1
        for path, count in paths.items():
            if not is_under(path, grant):
                continue
            placed[grant] += count
            if path != grant:
                placed[".".join(path.split(".")[: depth + 1])] += count
    return dict(sorted(placed.items()))


def region_code(path: Path) -> str:
    return path.rsplit(".", 1)[-1]


def document(column: str) -> str:
    """An entry's `before`/`after` as the caller may read it: without ids of records it cannot
    read, and masked without `pii`."""
    hidden = f"hide_unseen_ids({column}, {scope('read')})"
    return f"case when {unmasked('t.path')} then {hidden} else mask_json({hidden}) end"


COLUMNS = f"""t.id, t.at, t.actor, t.operation, t.region_code, t.path::text as path,
    t.record_type, t.record_id, t.record_ids,
    {document("t.before")} as before, {document("t.after")} as after"""

LIST = ListSpec(
    name="auditLog",
    table="audit_log",
    columns=COLUMNS,
    filters="($2::timestamptz is null or t.at >= $2) and ($3::timestamptz is null or t.at < $3)",
    scope="auditor",
    filter_count=2,
    orders={
        "DEFAULT": Order(
            "DEFAULT",
            "{t}.at desc, {t}.id desc",
            "(t.at, t.id) < ({0}::timestamptz, {1}::uuid)",
            lambda r: [r["at"].isoformat(), str(r["id"])],
        )
    },
    record_type="AuditEntry",
)


def filters(start: dt.date | None, end: dt.date | None) -> tuple[Any, ...]:
    return (day_start(start), day_start(end, 1))


# name: audit-entries-by-id
BY_ID = f"""select {COLUMNS} from audit_log t
where t.id = any($1::uuid[]) and {in_scope("t.path", "auditor")}"""


async def by_ids(session: RequestSession, ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await session.fetch_records("AuditEntry", BY_ID, ids)
