"""The one clock (db/clock.py): real time, or a day pinned by HUB_TODAY."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from db import clock


@pytest.fixture
def repinned() -> Iterator[None]:
    """Put the run's pinned day (tests/conftest.py) back after a test moves the clock."""
    before = clock.pinned()
    yield
    clock.pin(before)


def test_a_pinned_day_starts_at_noon_china_time_and_runs_on(repinned: None) -> None:
    clock.pin(dt.date(2026, 2, 28))
    first, second = clock.now(), clock.now()
    assert clock.today() == dt.date(2026, 2, 28)
    noon = dt.datetime(2026, 2, 28, 12, tzinfo=clock.CST)
    assert noon <= first <= second < noon + dt.timedelta(minutes=1)
    assert first.utcoffset() is not None


def test_without_a_pinned_day_the_clock_is_the_real_time(repinned: None) -> None:
    clock.pin(None)
    before = dt.datetime.now(dt.UTC)
    assert before <= clock.now() <= dt.datetime.now(dt.UTC)
    assert clock.today() == dt.datetime.now(clock.CST).date()
