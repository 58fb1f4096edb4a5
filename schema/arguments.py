"""Arguments that recur across fields, each with its one description."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

First = Annotated[
    int | None,
    strawberry.argument(
        description="How many items from the start (after `after`): 0 to 500, 50 when omitted."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="An `endCursor` (or edge cursor) of this list and order: "
        "the page starts after it."
    ),
]
IdempotencyKey = Annotated[
    str | None,
    strawberry.argument(
        description="Any 1 to 200 characters of your choosing: sending the same key with the "
        "same input again returns the first result instead of writing twice."
    ),
]
ExpectedVersion = Annotated[
    int | None,
    strawberry.argument(
        description="The record's `version` as you last read it: the write is refused "
        "(CONFLICT, reason VERSION_MISMATCH) if it changed meanwhile."
    ),
]
IncludeDescendants = Annotated[
    bool,
    strawberry.argument(
        description="Records of this region's whole subtree (true) or of this region itself "
        "(false)."
    ),
]
Until = Annotated[
    dt.date | None,
    strawberry.argument(
        description="Last day (China Standard Time), inclusive; omitted: unbounded."
    ),
]
ORDER_BY = strawberry.argument(description="The order; ties are broken by id.")
FILTER = strawberry.argument(description="Narrows the list; every condition given must hold.")
ID_ARGUMENT = strawberry.argument(description="The record's global id.")
REASON = strawberry.argument(description="Why, in a few words; kept in the request's history.")
NOTE = strawberry.argument(description="What was done; kept in the request's history.")
INPUT = strawberry.argument(description="The record's fields.")
Last = Annotated[
    int | None,
    strawberry.argument(
        description="Page backward: how many items from the end (before `before`), 0 to 500, "
        "50 when only `before` is given. Not with `first` or `after`."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(
        description="A `startCursor` (or edge cursor) of this list and order: the page ends "
        "before it. Not with `first` or `after`."
    ),
]
