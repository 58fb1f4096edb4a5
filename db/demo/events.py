"""Participation events and the resolutions of the deliberative ones."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from db.demo.columns import Row
from db.demo.directory import Directory
from db.demo.draws import Weighted, _at, _day, _hours, _one, _uuid
from db.demo.event_topics import (
    GENERIC_RESOLUTIONS,
    TITLE_FORMS,
    UPPER_TOPICS,
    VILLAGE_TOPICS,
    VOLUNTEER_TOPICS,
)
from db.demo.regions import County, Region, _weighted_regions
from db.demo.timeline import ANCHOR, WINDOW_START

EVENT_COUNT = 6_000

PARTICIPANT_GROUPS = (
    "VILLAGERS",
    "PARTY_MEMBERS",
    "REPRESENTATIVES",
    "OFFICIALS",
    "EXPERTS",
    "OTHERS",
)
DELIBERATIVE_KINDS = frozenset({"DELIBERATION", "VILLAGERS_ASSEMBLY", "JOINT_MEETING", "HEARING"})
VOTING_KINDS = frozenset({"DELIBERATION", "VILLAGERS_ASSEMBLY"})


EVENT_KINDS: dict[str, Weighted[str]] = {
    "VILLAGE": Weighted(
        {
            "VILLAGERS_ASSEMBLY": 12,
            "DELIBERATION": 22,
            "JOINT_MEETING": 8,
            "HEARING": 4,
            "OPINION_SOLICITATION": 12,
            "PUBLIC_SUPERVISION": 14,
            "VOLUNTEER_ACTIVITY": 28,
        }
    ),
    "TOWNSHIP": Weighted(
        {
            "JOINT_MEETING": 25,
            "DELIBERATION": 15,
            "HEARING": 12,
            "OPINION_SOLICITATION": 20,
            "PUBLIC_SUPERVISION": 10,
            "VOLUNTEER_ACTIVITY": 18,
        }
    ),
    "COUNTY": Weighted(
        {"JOINT_MEETING": 20, "HEARING": 30, "OPINION_SOLICITATION": 30, "VOLUNTEER_ACTIVITY": 20}
    ),
}
ORGANIZER_ROLES: dict[str, tuple[str, ...]] = {
    "VILLAGERS_ASSEMBLY": ("committee",),
    "DELIBERATION": ("committee", "party"),
    "JOINT_MEETING": ("party",),
    "HEARING": ("committee", "service"),
    "OPINION_SOLICITATION": ("committee", "service"),
    "PUBLIC_SUPERVISION": ("supervision",),
    "VOLUNTEER_ACTIVITY": ("volunteer", "party"),
}
GROUP_RANGES: dict[str, dict[str, tuple[int, int]]] = {
    "VILLAGERS_ASSEMBLY": {
        "VILLAGERS": (30, 260),
        "PARTY_MEMBERS": (5, 30),
        "REPRESENTATIVES": (0, 40),
        "OFFICIALS": (2, 6),
    },
    "DELIBERATION": {
        "VILLAGERS": (5, 30),
        "PARTY_MEMBERS": (2, 10),
        "REPRESENTATIVES": (3, 15),
        "OFFICIALS": (1, 4),
        "EXPERTS": (0, 2),
    },
    "JOINT_MEETING": {
        "OFFICIALS": (5, 20),
        "REPRESENTATIVES": (0, 10),
        "PARTY_MEMBERS": (0, 8),
        "OTHERS": (0, 5),
    },
    "HEARING": {
        "VILLAGERS": (5, 40),
        "REPRESENTATIVES": (5, 20),
        "OFFICIALS": (3, 10),
        "EXPERTS": (1, 6),
        "OTHERS": (0, 10),
    },
    "OPINION_SOLICITATION": {"VILLAGERS": (20, 400), "PARTY_MEMBERS": (0, 20), "OTHERS": (0, 50)},
    "PUBLIC_SUPERVISION": {
        "VILLAGERS": (5, 50),
        "PARTY_MEMBERS": (2, 8),
        "REPRESENTATIVES": (3, 10),
    },
    "VOLUNTEER_ACTIVITY": {
        "VILLAGERS": (5, 60),
        "PARTY_MEMBERS": (3, 20),
        "OFFICIALS": (0, 4),
        "OTHERS": (0, 20),
    },
}
START_SECONDS = (
    9 * 3600,
    9 * 3600 + 1800,
    14 * 3600 + 1800,
    15 * 3600,
    19 * 3600,
    19 * 3600 + 1800,
)
RESOLUTION_STATUSES = Weighted({"PROPOSED": 8, "ADOPTED": 37, "REJECTED": 10, "IMPLEMENTED": 45})
RESOLUTIONS_PER_EVENT = Weighted({0: 10, 1: 30, 2: 30, 3: 20, 4: 10})
RESOLUTION_VERSIONS = {"PROPOSED": 1, "ADOPTED": 2, "REJECTED": 2, "IMPLEMENTED": 3}


@dataclass(frozen=True)
class Event:
    id: uuid.UUID
    region: Region
    kind: str
    starts_at: datetime
    created_at: datetime
    participants: dict[str, int]
    topic: str
    resolution_texts: tuple[str, ...]

    @property
    def participant_count(self) -> int:
        return sum(self.participants.values())


def _event_topic(rng: random.Random, region: Region, kind: str) -> tuple[str, tuple[str, ...]]:
    if kind == "VOLUNTEER_ACTIVITY":
        return _one(rng, VOLUNTEER_TOPICS), ()
    topics = VILLAGE_TOPICS if region.level == "VILLAGE" else UPPER_TOPICS
    topic = _one(rng, sorted(topics))
    return topic, topics[topic] + GENERIC_RESOLUTIONS


def _event_title(region: Region, kind: str, topic: str) -> str:
    rural = region.is_rural or region.level != "VILLAGE"
    return TITLE_FORMS[kind].format(
        place=region.base,
        topic=topic,
        assembly="村民代表会议" if rural else "居民代表会议",
        affairs="村务" if rural else "居务",
    )


def _participants(rng: random.Random, kind: str) -> dict[str, int]:
    drawn = {
        group: rng.randint(*GROUP_RANGES[kind][group])
        for group in PARTICIPANT_GROUPS
        if group in GROUP_RANGES[kind]
    }
    return {group: count for group, count in drawn.items() if count > 0}


def _event_start(rng: random.Random) -> datetime:
    while True:
        at = _at(_day(rng, WINDOW_START.date(), ANCHOR.date()), _one(rng, START_SECONDS))
        if WINDOW_START <= at < ANCHOR:
            return at


def _organizer(
    rng: random.Random, directory: Directory, region: Region, kind: str
) -> uuid.UUID | None:
    if rng.random() < 0.05:
        return None
    for role in ORGANIZER_ROLES[kind]:
        org = directory.role(region, role)
        if org is not None:
            return org.id
    return None


def _resolution_status(rng: random.Random, held: date) -> str:
    if (ANCHOR.date() - held).days < 3 and rng.random() < 0.6:
        return "PROPOSED"
    return RESOLUTION_STATUSES.pick(rng)


def _votes(rng: random.Random, event: Event, status: str) -> tuple[int | None, int | None]:
    if event.kind not in VOTING_KINDS or status == "PROPOSED":
        return None, None
    voters = event.participant_count - rng.randint(0, event.participant_count // 10)
    if status == "REJECTED":
        against = rng.randint(voters // 2 + 1, voters)
        return rng.randint(0, voters - against), against
    votes_for = rng.randint(voters // 2 + 1, voters)
    return votes_for, rng.randint(0, voters - votes_for)


def _touched(created: datetime, *days: date | None) -> datetime:
    """When a row was last changed: the latest of its dates (at 17:00), before ANCHOR."""
    latest = max((_at(d, 17 * 3600) for d in days if d is not None), default=created)
    return max(created, min(latest, ANCHOR - timedelta(minutes=1)))


def _resolution(rng: random.Random, event: Event, position: int, text: str) -> Row:
    held = event.starts_at.date()
    status = _resolution_status(rng, held)
    decided = implemented = None
    if status != "PROPOSED":
        decided = min(held + timedelta(days=rng.randint(0, 2)), ANCHOR.date())
    if status == "IMPLEMENTED":
        assert decided is not None
        implemented = decided + timedelta(days=rng.randint(7, 150))
        if implemented > ANCHOR.date():
            status, implemented = "ADOPTED", None
    votes_for, votes_against = _votes(rng, event, status)
    return (
        _uuid(rng),
        event.id,
        event.region.code,
        position,
        text,
        status,
        decided,
        implemented,
        votes_for,
        votes_against,
        RESOLUTION_VERSIONS[status],
        event.created_at,
        _touched(event.created_at, decided, implemented),
    )


def _resolutions(rng: random.Random, event: Event) -> list[Row]:
    if event.kind not in DELIBERATIVE_KINDS:
        return []
    count = RESOLUTIONS_PER_EVENT.pick(rng)
    texts = rng.sample(event.resolution_texts, count)
    return [_resolution(rng, event, i + 1, text) for i, text in enumerate(texts)]


def _event(rng: random.Random, region: Region) -> Event:
    kind = EVENT_KINDS[region.level].pick(rng)
    topic, texts = _event_topic(rng, region, kind)
    starts = _event_start(rng)
    created = min(starts + _hours(rng, 1, 48), ANCHOR - timedelta(minutes=1))
    return Event(_uuid(rng), region, kind, starts, created, _participants(rng, kind), topic, texts)


def build_participation(
    rng: random.Random, county: County, directory: Directory
) -> tuple[list[Row], list[Row]]:
    regions = _weighted_regions(rng, county, (0.85, 0.12, 0.03))
    events: list[Row] = []
    resolutions: list[Row] = []
    for _ in range(EVENT_COUNT):
        event = _event(rng, regions.pick(rng))
        organizer = _organizer(rng, directory, event.region, event.kind)
        rows = _resolutions(rng, event)
        updated = max([event.created_at, *(cast(datetime, row[-1]) for row in rows)])
        events.append(
            (
                event.id,
                event.region.code,
                organizer,
                event.kind,
                _event_title(event.region, event.kind, event.topic),
                event.topic,
                event.starts_at,
                event.participant_count,
                json.dumps(event.participants, ensure_ascii=False),
                1,
                event.created_at,
                updated,
            )
        )
        resolutions.extend(rows)
    return events, resolutions
