"""What synthetic rows are drawn from: the demo's weights and texts, as SQL array parameters.

The generating statements pick from these arrays with hash-based draws, so weighted choices
are arrays where each value appears as often as its weight (`expand`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TypeVar

from db.demo.draws import Weighted
from db.demo.event_topics import GENERIC_RESOLUTIONS, UPPER_TOPICS, VILLAGE_TOPICS
from db.demo.event_topics import VOLUNTEER_TOPICS as DEMO_VOLUNTEER_TOPICS
from db.demo.events import EVENT_KINDS
from db.demo.people import GIVEN, MOBILE_PREFIXES, SURNAMES
from db.demo.request_texts import CATEGORIES, CHANNELS, REQUEST_TEXTS
from db.demo.timeline import ANCHOR, CST
from db.demo.workflow import (
    ESCALATE_REASONS,
    REJECT_REASONS,
    RESOLVE_NOTES,
    SCORES,
    WITHDRAW_REASONS,
)

T = TypeVar("T")

WINDOW_DAYS = 730
WINDOW_START = ANCHOR - timedelta(days=WINDOW_DAYS)
# Requests a year per region at each level, and how use grows year on year.
YEARLY_REQUESTS = {"VILLAGE": 8.8, "TOWNSHIP": 2.0, "COUNTY": 10.0}
GROWTH = {2024: 0.8, 2025: 1.0, 2026: 1.2}
# Events fall on the window's whole days, the first starting at midnight CST.
FIRST_EVENT_DAY = datetime.combine(WINDOW_START.date() + timedelta(days=1), time(), CST)
TITLES_PER_CATEGORY = 5
# What the demo's description placeholders say when no place is named.
PLACEHOLDERS = {"who": "群众", "spot": "本村", "place": "本地", "upper": "上级", "amount": "5000"}


def weights(choice: Weighted[T]) -> dict[T, float]:
    """The relative weights of a demo choice."""
    steps = [b - a for a, b in zip([0.0, *choice.cumulative[:-1]], choice.cumulative, strict=True)]
    return dict(zip(choice.items, steps, strict=True))


def expand(choice: Weighted[T], slots: int = 100) -> list[T]:
    """`slots` values, each repeated in proportion to its weight."""
    table = weights(choice)
    total = sum(table.values())
    out: list[T] = []
    acc = 0.0
    for value, weight in table.items():
        acc += weight
        out.extend([value] * (round(acc / total * slots) - len(out)))
    return out


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _years() -> tuple[list[int], list[int], list[int], list[float]]:
    years, lows, highs, growth = [], [], [], []
    for year in range(WINDOW_START.year, ANCHOR.year + 1):
        low = max(WINDOW_START, datetime(year, 1, 1, tzinfo=CST))
        high = min(ANCHOR, datetime(year + 1, 1, 1, tzinfo=CST))
        years.append(year)
        lows.append(_epoch(low))
        highs.append(_epoch(high))
        growth.append(GROWTH.get(year, 1.0) * (high - low).total_seconds() / (365 * 86400))
    return years, lows, highs, growth


def _titles() -> tuple[list[str], list[str]]:
    titles, descriptions = [], []
    for category in CATEGORIES.items:
        texts = REQUEST_TEXTS[category]
        for i in range(TITLES_PER_CATEGORY):
            title, description = texts[i % len(texts)]
            titles.append(title)
            descriptions.append(description.format(**PLACEHOLDERS))
    return titles, descriptions


def _topic_texts() -> tuple[list[str], list[str]]:
    topics = {**VILLAGE_TOPICS, **UPPER_TOPICS}
    return list(topics), ["|".join(texts) for texts in topics.values()]


def request_parameters() -> list[object]:
    """Parameters $1… of INSERT_REQUESTS (after the unit's path)."""
    titles, descriptions = _titles()
    category_index = {c: i + 1 for i, c in enumerate(CATEGORIES.items)}
    return [
        list(CATEGORIES.items),  # $1 category names, by ordinal
        [category_index[c] for c in expand(CATEGORIES)],  # $2 weighted ordinals
        expand(CHANNELS["VILLAGE"]),  # $3
        expand(CHANNELS["TOWNSHIP"]),  # $4
        expand(CHANNELS["COUNTY"]),  # $5
        titles,  # $6, TITLES_PER_CATEGORY per category
        descriptions,  # $7
        list(SURNAMES),  # $8
        list(GIVEN),  # $9
        list(MOBILE_PREFIXES),  # $10
        list(REJECT_REASONS),  # $11
        list(ESCALATE_REASONS),  # $12
        list(WITHDRAW_REASONS),  # $13
        list(RESOLVE_NOTES),  # $14
        expand(SCORES),  # $15
        _epoch(ANCHOR),  # $16
    ]


def plan_parameters() -> list[object]:
    """Parameters $1… of INSERT_PLAN."""
    years, lows, highs, growth = _years()
    rates = [YEARLY_REQUESTS[level] for level in ("VILLAGE", "TOWNSHIP", "COUNTY")]
    return [years, lows, highs, growth, *rates]


def organization_parameters() -> list[object]:
    """Parameters $1… of the organization statements."""
    return [list(SURNAMES), list(GIVEN), list(MOBILE_PREFIXES), _epoch(WINDOW_START)]


def event_parameters() -> list[object]:
    """Parameters $1… of INSERT_EVENTS."""
    topic_names, topic_texts = _topic_texts()
    return [
        expand(EVENT_KINDS["VILLAGE"]),  # $1
        expand(EVENT_KINDS["TOWNSHIP"]),  # $2
        expand(EVENT_KINDS["COUNTY"]),  # $3
        list(VILLAGE_TOPICS),  # $4
        list(UPPER_TOPICS),  # $5
        list(DEMO_VOLUNTEER_TOPICS),  # $6
        topic_names,  # $7
        topic_texts,  # $8, "|"-separated resolution texts per topic
        list(GENERIC_RESOLUTIONS),  # $9
        _epoch(FIRST_EVENT_DAY),  # $10
        _epoch(ANCHOR),  # $11
    ]
