"""Small random draws shared by every section, and weighted choices."""

from __future__ import annotations

import random
import uuid
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Generic, TypeVar

from db.demo.timeline import CST

T = TypeVar("T")


def _one(rng: random.Random, items: Sequence[T]) -> T:
    # Faster than Random.choice, which matters over a few hundred thousand draws.
    return items[int(rng.random() * len(items))]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=int(rng.uniform(low, high) * 3600))


def _at(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(seconds=seconds)


class Weighted(Generic[T]):
    """Items drawn with fixed relative weights."""

    def __init__(self, weights: Mapping[T, float]) -> None:
        self.items = tuple(weights)
        self.cumulative = list(accumulate(weights.values()))

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]
