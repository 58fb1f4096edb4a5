"""A year of service requests: their volume over the calendar, and their rows in order."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta

from db.demo.columns import Row
from db.demo.directory import Directory
from db.demo.draws import Weighted, _at, _uuid
from db.demo.regions import County, _weighted_regions
from db.demo.request_texts import (
    CATEGORIES,
    CHANNEL_HOURS,
    CHANNELS,
    _places,
    _request_text,
    _requester,
)
from db.demo.timeline import ANCHOR, CST, WINDOW_DAYS, WINDOW_START
from db.demo.workflow import Draft, Step, plan_lifecycle

REQUEST_COUNT = 60_000


SPRING_FESTIVAL = (date(2026, 2, 15), date(2026, 2, 23))


def _calendar() -> Weighted[date]:
    """The window's days, weighted for growing use, quieter weekends and Spring Festival."""
    weights = {}
    for i in range(WINDOW_DAYS + 1):
        day = WINDOW_START.date() + timedelta(days=i)
        weight = 0.75 + 0.5 * i / WINDOW_DAYS
        weight *= 0.6 if day.weekday() >= 5 else 1.0
        weight *= 0.5 if SPRING_FESTIVAL[0] <= day <= SPRING_FESTIVAL[1] else 1.0
        weights[day] = weight
    return Weighted(weights)


def _submission_time(rng: random.Random, days: Weighted[date], channel: str) -> datetime:
    low, high = CHANNEL_HOURS[channel]
    while True:
        at = _at(days.pick(rng), int(rng.uniform(low, high) * 3600))
        if WINDOW_START <= at < ANCHOR:
            return at


def draft_requests(rng: random.Random, county: County) -> list[Draft]:
    places = _places(county)
    regions = _weighted_regions(rng, county, (0.87, 0.11, 0.02))
    days = _calendar()
    drafts = []
    for _ in range(REQUEST_COUNT):
        region = regions.pick(rng)
        place = places[region.code]
        category = CATEGORIES.pick(rng)
        channel = CHANNELS[region.level].pick(rng)
        title, description = _request_text(rng, place, category)
        parent = county.by_code.get(region.parent_code or "") if region.level != "COUNTY" else None
        drafts.append(
            Draft(
                _uuid(rng),
                place,
                parent,
                category,
                channel,
                title,
                description,
                _requester(rng, channel),
                _submission_time(rng, days, channel),
            )
        )
    drafts.sort(key=lambda d: d.submitted_at)
    return drafts


def _handled_by(draft: Draft, steps: Iterable[Step], handlers: Directory) -> uuid.UUID | None:
    region, org = draft.place.region, None
    for step in steps:
        if step.action == "escalate":
            region, org = draft.parent or region, None
        elif step.action == "accept":
            org = handlers.handler(region)
    return org.id if org else None


def _first(steps: Sequence[Step], *actions: str) -> datetime | None:
    return next((s.at for s in steps if s.action in actions), None)


def _last(steps: Sequence[Step], action: str) -> datetime | None:
    return next((s.at for s in reversed(steps) if s.action == action), None)


def request_row(draft: Draft, planned: list[Step], reference: str, handlers: Directory) -> Row:
    steps = [s for s in planned if s.at < ANCHOR]
    status = steps[-1].to_status
    escalated = any(s.action == "escalate" for s in steps)
    handling = draft.parent if escalated and draft.parent else draft.place.region
    satisfaction = next((s.satisfaction for s in steps if s.action == "rate"), None)
    history = "[" + ", ".join(s.json() for s in steps) + "]"
    return (
        draft.id,
        reference,
        draft.place.region.code,
        handling.code,
        _handled_by(draft, steps, handlers),
        draft.category,
        draft.channel,
        status,
        draft.title,
        draft.description,
        draft.requester[0],
        draft.requester[1],
        draft.submitted_at,
        _first(steps, "accept", "reject"),
        _first(steps, "accept"),
        draft.due_at,
        _last(steps, "resolve") if status in ("RESOLVED", "CLOSED") else None,
        _last(steps, "close") if status == "CLOSED" else None,
        satisfaction,
        history,
        len(steps),
        draft.submitted_at,
        steps[-1].at,
    )


class Requests:
    """Service request rows in submission order, and the reference counters they used
    (complete once the rows have all been taken)."""

    def __init__(self, rng: random.Random, county: County, handlers: Directory) -> None:
        self.rng = rng
        self.handlers = handlers
        self.drafts = draft_requests(rng, county)
        self.counters: dict[tuple[str, int], int] = {}

    def rows(self) -> Iterator[Row]:
        for draft in self.drafts:
            key = (draft.place.region.code, draft.submitted_at.astimezone(CST).year)
            self.counters[key] = self.counters.get(key, 0) + 1
            reference = f"{key[0]}-{key[1]}-{self.counters[key]:06d}"
            steps = plan_lifecycle(self.rng, draft, self.handlers)
            yield request_row(draft, steps, reference, self.handlers)

    def counter_rows(self) -> list[Row]:
        return [(code, year, last) for (code, year), last in sorted(self.counters.items())]
