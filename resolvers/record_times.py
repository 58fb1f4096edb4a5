"""When each subtree last received a record of each kind (`Region.lastRecordAt`).

The newest `created_at` (when the record reached the hub, by a mutation, an import or the
demo) of the records the figures count, over the subtree's rows in the read scope only, so
a caller learns nothing about regions it cannot see. One statement for all the regions
asked.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from resolvers.figures import subtree_args, subtrees
from resolvers.session import RequestSession

KINDS = ("serviceRequest", "participationEvent", "organization")

# name: record-times — per asking region, the newest record of each kind in its subtree.
RECORD_TIMES = f"""
select s.owner, 'serviceRequest' as kind, max(t.created_at) as at
from {subtrees("service_request")} and t.status <> 'WITHDRAWN'
group by 1
union all
select s.owner, 'participationEvent', max(t.created_at)
from {subtrees("participation_event")}
group by 1
union all
select s.owner, 'organization', max(t.created_at)
from {subtrees("organization")}
group by 1
"""

Times = dict[str, dt.datetime | None]


async def record_times(session: RequestSession, asked: list[tuple[str, str]]) -> list[Times]:
    """The newest record time of each kind (None: none) for each (path, code), in order."""
    found: dict[str, Times] = defaultdict(dict)
    for row in await session.fetch(RECORD_TIMES, *subtree_args([(p, c, 0) for p, c in asked])):
        found[row["owner"]][row["kind"]] = row["at"]
    return [{kind: found[code].get(kind) for kind in KINDS} for _, code in asked]
