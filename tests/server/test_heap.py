"""Once ready, `grassroots serve` freezes its start-up heap and collects less often."""

import gc
from collections.abc import Iterator

import pytest

from server.serve import GC_THRESHOLDS, settle_heap


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_settling_freezes_what_lives_and_raises_the_thresholds() -> None:
    kept = [object() for _ in range(10)]
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700
