"""Ingestion batches, JSON Lines or CSV, read into typed records with every format error.

Each record names its `type` (organization, serviceRequest, participationEvent, resolution)
and carries
the fields of that type, named as in the GraphQL schema. Here each field is checked on its
own (type, enum value, length, time offset); whether a record is consistent, in scope and
not in conflict is checked by the database function that writes the batch.

A record becomes a list of values in the order the database function `ingest_batch` takes
them (db/migrations/0005_ingest.sql, 0012_personal_data.sql; resolutions `ingest_resolutions`,
0014_resolution_votes.sql): `line`, the 1-based line of the
file where it starts (for CSV: the header is line 1), then its fields in the order of its
Table below, then the names of the fields it names. A field a record leaves out (a JSON key
that is absent, a CSV column that is not in the header) keeps its stored value when the
record updates one sent before; a field named empty (`null`, an empty cell) clears it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from resolvers.labels import (
    ORGANIZATION_KIND,
    PARTICIPANT_GROUP,
    PARTICIPATION_KIND,
    RESOLUTION_STATUS,
    SERVICE_CATEGORY,
    SERVICE_CHANNEL,
    SERVICE_STATUS,
)
from resolvers.scope import REGION_CODE

MAX_RECORDS = 50_000
MAX_PROBLEMS = 1_000
MAX_COUNT = 10_000_000
PHONE = re.compile(r"^[0-9][0-9-]{0,29}$")


class Invalid(ValueError):
    """A field's value is refused; the message is the reason."""


@dataclass(frozen=True)
class Problem:
    line: int
    field: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


Record = list[Any]


@dataclass
class Batch:
    """Records as lists of values in the order `ingest_batch` takes them (see Table)."""

    organizations: list[Record] = field(default_factory=list)
    requests: list[Record] = field(default_factory=list)
    events: list[Record] = field(default_factory=list)
    resolutions: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def records(self) -> int:
        return (
            len(self.organizations) + len(self.requests) + len(self.events) + len(self.resolutions)
        )


Convert = Callable[[Any], Any]


def _text(limit: int) -> Convert:
    def convert(value: Any) -> str | None:
        if type(value) is not str:
            raise Invalid("must be a string")
        value = value.strip()
        if len(value) > limit:
            raise Invalid(f"takes at most {limit} characters")
        if "\x00" in value:
            raise Invalid("must not contain NUL")
        return value or None

    return convert


TEXT_200, TEXT_30 = _text(200), _text(30)


def _external_id(value: Any) -> str | None:
    number = isinstance(value, int) and not isinstance(value, bool)
    return cast("str | None", TEXT_200(str(value) if number else value))


def _region(value: Any) -> str | None:
    if not isinstance(value, str) or not REGION_CODE.match(value.strip()):
        raise Invalid("must be a statistical division code (2, 4, 6, 9 or 12 digits)")
    return value.strip()


def _enum(values: dict[str, str]) -> Convert:
    allowed = frozenset(values)
    listed = ", ".join(values)

    def convert(value: Any) -> str:
        if value in allowed:
            return str(value)
        if isinstance(value, str) and value.strip() in allowed:
            return value.strip()
        raise Invalid(f"must be one of {listed}")

    return convert


TIMESTAMP = "must be an ISO 8601 date and time with an offset"


def _timestamp(value: Any) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        if not isinstance(value, str) or value == value.strip():
            raise Invalid(TIMESTAMP) from None
        return _timestamp(value.strip())
    if parsed.tzinfo is None:
        raise Invalid("needs a UTC offset, e.g. 2026-03-01T09:30:00+08:00")
    # YYYY-MM-DDTHH:MM…: what PostgreSQL reads as Python does, so it travels as given; other
    # forms Python accepts (week dates, basic format, other separators) as Python read them.
    if value[10:11] == "T" and value[4:5] == value[7:8] == "-" and value[13:14] == ":":
        return str(value)
    return parsed.isoformat()


def _date(value: Any) -> str:
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except (AttributeError, ValueError):
        raise Invalid("must be a date, YYYY-MM-DD") from None


def _integer(low: int, high: int) -> Convert:
    def convert(value: Any) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid("must be a whole number")
        if not low <= value <= high:
            raise Invalid(f"must be from {low} to {high}")
        return value

    return convert


def _phone(value: Any) -> str | None:
    text = cast("str | None", TEXT_30(value))
    if text is not None and not PHONE.match(text):
        raise Invalid("takes up to 30 digits and dashes")
    return text


def _groups(value: Any) -> dict[str, int]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise Invalid("must be a JSON object of counts by group") from None
    if not isinstance(value, dict):
        raise Invalid("must be an object of counts by group")
    count = _integer(0, 1_000_000)
    for group, n in value.items():
        if group not in PARTICIPANT_GROUP:
            raise Invalid(f"has an unknown group {group!r}; use {', '.join(PARTICIPANT_GROUP)}")
        count(n)
    return value


@dataclass(frozen=True)
class Table:
    """A record type: its fields in the order `ingest_batch` takes them (after `line`), each
    with its column, converter and whether it is required."""

    fields: dict[str, tuple[str, Convert, bool]]

    @property
    def index(self) -> dict[str, tuple[int, Convert]]:
        """Each field's place in the record and converter; `type` has place 0 (skipped)."""
        places = {name: (i, f[1]) for i, (name, f) in enumerate(self.fields.items(), 1)}
        return {"type": (0, str), **places}

    @property
    def required(self) -> tuple[tuple[str, int], ...]:
        return tuple((name, i) for i, (name, f) in enumerate(self.fields.items(), 1) if f[2])


ORGANIZATION = Table(
    {
        "externalId": ("external_id", _external_id, True),
        "regionCode": ("region_code", _region, True),
        "kind": ("kind", _enum(ORGANIZATION_KIND), True),
        "name": ("name", _text(200), True),
        "parent": ("parent", _external_id, False),
        "memberCount": ("member_count", _integer(0, MAX_COUNT), False),
        "partyMemberCount": ("party_member_count", _integer(0, MAX_COUNT), False),
        "leaderName": ("leader_name", _text(50), False),
        "leaderRole": ("leader_role", _text(50), False),
        "leaderPhone": ("leader_phone", _phone, False),
        "foundedOn": ("founded_on", _date, False),
    }
)
SERVICE_REQUEST = Table(
    {
        "externalId": ("external_id", _external_id, True),
        "regionCode": ("region_code", _region, True),
        "category": ("category", _enum(SERVICE_CATEGORY), True),
        "channel": ("channel", _enum(SERVICE_CHANNEL), True),
        "status": ("status", _enum(SERVICE_STATUS), True),
        "title": ("title", _text(10_000), True),
        "description": ("description", _text(10_000), False),
        "requesterName": ("requester_name", _text(50), False),
        "requesterPhone": ("requester_phone", _phone, False),
        "submittedAt": ("submitted_at", _timestamp, True),
        "firstRespondedAt": ("first_responded_at", _timestamp, False),
        "acceptedAt": ("accepted_at", _timestamp, False),
        "dueAt": ("due_at", _timestamp, False),
        "resolvedAt": ("resolved_at", _timestamp, False),
        "closedAt": ("closed_at", _timestamp, False),
        "satisfaction": ("satisfaction", _integer(1, 5), False),
        "escalatedTo": ("escalated_to", _region, False),
        "handledBy": ("handled_by", _external_id, False),
    }
)
PARTICIPATION_EVENT = Table(
    {
        "externalId": ("external_id", _external_id, True),
        "regionCode": ("region_code", _region, True),
        "kind": ("kind", _enum(PARTICIPATION_KIND), True),
        "title": ("title", _text(500), True),
        "topic": ("topic", _text(10_000), False),
        "startsAt": ("starts_at", _timestamp, True),
        "organizer": ("organizer", _external_id, False),
        "participantCount": ("participant_count", _integer(0, MAX_COUNT), False),
        "participantsByGroup": ("participants_by_group", _groups, False),
    }
)
RESOLUTION = Table(
    {
        "externalId": ("external_id", _external_id, True),
        "event": ("event", _external_id, True),
        "text": ("text", _text(2000), True),
        "status": ("status", _enum(RESOLUTION_STATUS), False),
        "decidedOn": ("decided_on", _date, False),
        "implementedOn": ("implemented_on", _date, False),
        "votesFor": ("votes_for", _integer(0, MAX_COUNT), False),
        "votesAgainst": ("votes_against", _integer(0, MAX_COUNT), False),
    }
)
TYPES: dict[str, Table] = {
    "organization": ORGANIZATION,
    "serviceRequest": SERVICE_REQUEST,
    "participationEvent": PARTICIPATION_EVENT,
    "resolution": RESOLUTION,
}
TYPE_NAMES = ", ".join(TYPES)
COLUMNS = frozenset({"type"}.union(*(t.fields for t in TYPES.values())))


class _Reader:
    def __init__(self) -> None:
        self.batch = Batch()
        targets = {
            "organization": self.batch.organizations,
            "serviceRequest": self.batch.requests,
            "participationEvent": self.batch.events,
            "resolution": self.batch.resolutions,
        }
        self._types = {
            kind: (table.index, table.required, len(table.fields) + 2, targets[kind])
            for kind, table in TYPES.items()
        }

    @property
    def full(self) -> bool:
        return len(self.batch.problems) >= MAX_PROBLEMS

    def problem(self, line: int, field: str | None, reason: str) -> None:
        if not self.full:
            self.batch.problems.append(Problem(line, field, reason))

    def record(self, line: int, given: dict[str, Any]) -> None:
        """One record: its fields converted, or its problems noted."""
        kind = given.get("type")
        found = self._types.get(kind) if isinstance(kind, str) else None
        if found is None:
            self.problem(line, "type", f"must be one of {TYPE_NAMES}")
            return
        fields, required, width, target = found
        row: list[Any] = [None] * width
        row[0] = line
        refused: set[str] | None = None
        for name, value in given.items():
            try:
                index, convert = fields[name]
            except KeyError:
                reason = f"does not apply to {kind}" if name in COLUMNS else "is not a known field"
                self.problem(line, name, reason)
                refused = (refused or set()) | {name}
                continue
            if value is None or index == 0:  # absent, or `type`
                continue
            try:
                row[index] = convert(value)
            except Invalid as error:
                self.problem(line, name, str(error))
                refused = (refused or set()) | {name}
        for name, index in required:
            if row[index] is None and (refused is None or name not in refused):
                self.problem(line, name, "is required")
                refused = (refused or set()) | {name}
        if refused is None:
            row[-1] = sorted(name for name in given if name != "type")
            target.append(row)

    def count(self, line: int) -> bool:
        """Whether there is room for one more record."""
        room = self.batch.records + len(self.batch.problems) < MAX_RECORDS
        if not room:
            self.problem(line, None, f"a batch holds at most {MAX_RECORDS} records")
        return room and not self.full


def _jsonl(reader: _Reader, data: str) -> None:
    numbered = [(n, text) for n, text in enumerate(data.split("\n"), 1) if text.strip()]
    if len(numbered) > MAX_RECORDS:
        line = numbered[MAX_RECORDS][0]
        reader.problem(line, None, f"a batch holds at most {MAX_RECORDS} records")
        return
    try:
        # One call for the whole file is much faster than one per line; a file with a broken
        # line is read line by line, to say which.
        records = json.loads("[" + ",".join(text for _, text in numbered) + "]")
    except json.JSONDecodeError:
        records = None
    for index, (number, text) in enumerate(numbered):
        if reader.full:
            return
        if records is not None:
            given = records[index]
        else:
            try:
                given = json.loads(text)
            except json.JSONDecodeError as error:
                reader.problem(number, None, f"is not valid JSON: {error.msg}")
                continue
        if type(given) is not dict:
            reader.problem(number, None, "must be a JSON object")
            continue
        reader.record(number, given)


def _csv(reader: _Reader, data: str) -> None:
    rows = csv.reader(io.StringIO(data, newline=""))
    names: list[str] | None = None
    while not reader.full:
        number = rows.line_num + 1
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            reader.problem(rows.line_num, None, f"is not valid CSV: {error}")
            return
        if names is None:
            names = [name.strip() for name in cells]
            if not _header(reader, number, names):
                return
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if not reader.count(number):
            return
        if len(cells) != len(names):
            reader.problem(number, None, f"has {len(cells)} cells; the header has {len(names)}")
            continue
        reader.record(
            number, {n: c if c.strip() else None for n, c in zip(names, cells, strict=True)}
        )


def _header(reader: _Reader, line: int, names: list[str]) -> bool:
    for name in names:
        if name not in COLUMNS:
            reader.problem(line, name, "is not a known column")
        elif names.count(name) > 1:
            reader.problem(line, name, "appears more than once in the header")
    if "type" not in names:
        reader.problem(line, "type", "is a required column")
    return not reader.batch.problems


def read_batch(format: str, data: str) -> Batch:
    """The records of `data` in `format` ("jsonl" or "csv"), and every format problem."""
    reader = _Reader()
    data = data.removeprefix("\ufeff")
    if format == "csv":
        _csv(reader, data)
    else:
        _jsonl(reader, data)
    if not reader.batch.problems and reader.batch.records == 0:
        reader.problem(0, None, "the batch holds no records")
    return reader.batch
