"""Date and DateTime as the hub writes them: China Standard Time, DateTime to the second."""

from __future__ import annotations

import datetime as dt

import dateutil.parser  # type: ignore[import-untyped]
from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper

from resolvers.services import CST

EIGHT_HOURS = dt.timedelta(hours=8)


def serialize_datetime(value: dt.datetime) -> str:
    """`2026-03-01T09:30:05+08:00`: China Standard Time, whole seconds (truncated)."""
    if value.microsecond:
        value = value.replace(microsecond=0)
    if value.utcoffset() != EIGHT_HOURS:
        value = value.astimezone(CST)
    return value.isoformat()


def _serialize_date(value: dt.date) -> str:
    return value.isoformat()


DATE = ScalarDefinition(
    name="Date",
    description="A calendar day in China Standard Time (UTC+08:00), written YYYY-MM-DD "
    "(ISO 8601). Periods given as days are inclusive.",
    specified_by_url=None,
    serialize=_serialize_date,
    parse_value=wrap_parser(dt.date.fromisoformat, "Date"),
    parse_literal=None,
    origin=dt.date,
)

DATETIME = ScalarDefinition(
    name="DateTime",
    description="An instant, ISO 8601 to the whole second (fractions are cut off), always "
    "written in China Standard Time with its offset: 2026-03-01T09:30:05+08:00. Inputs are "
    "ISO 8601 with an offset.",
    specified_by_url=None,
    serialize=serialize_datetime,
    parse_value=wrap_parser(dateutil.parser.isoparse, "DateTime"),
    parse_literal=None,
    origin=dt.datetime,
)

SCALARS: dict[object, type | ScalarWrapper | ScalarDefinition] = {
    dt.date: DATE,
    dt.datetime: DATETIME,
}
