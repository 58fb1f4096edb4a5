"""A heavy request's resumed resolvers take turns of the event loop (resolvers/turnstile.py),
and taking turns never splits a DataLoader batch."""

import asyncio
import functools
from typing import Any

import pytest

from resolvers import turnstile
from resolvers.turnstile import Paused, Turnstile
from tests.conftest import Hub
from tests.resolvers.test_loaders import FIVE_LEVELS


async def test_once_a_turn_is_spent_each_resolver_waits_for_a_turn_of_its_own() -> None:
    gate, paused = Turnstile(), Paused(queues=True)
    gate.started -= 1.0  # this turn's slice is spent
    released: list[int] = []
    for i in range(3):
        gate.admit(paused, functools.partial(released.append, i))
    assert released == [] and paused.count == 3
    seen: list[list[int]] = []
    for _ in range(4):
        await asyncio.sleep(0)
        seen.append(list(released))
    assert seen == [[0], [0, 1], [0, 1, 2], [0, 1, 2]]
    assert paused.count == 0 and paused.let_in == 3


async def test_a_light_request_never_waits() -> None:
    gate = Turnstile()
    gate.started -= 1.0
    released: list[int] = []
    gate.admit(Paused(queues=True), lambda: released.append(1))
    await gate.pause(Paused(queues=False))  # returns at once, though the queue is not empty
    assert released == []


async def test_five_levels_stay_five_statements_when_every_resolver_queues(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = hub.token("341126")
    plain = await hub.post(FIVE_LEVELS, {"first": 50}, token=token)
    monkeypatch.setattr(turnstile, "SLICE_SECONDS", 0.0)  # every resolver waits its turn
    monkeypatch.setattr(turnstile, "CHUNK", 5)
    queued = await hub.post(FIVE_LEVELS, {"first": 50}, token=token)
    body: dict[str, Any] = queued.json()
    assert "errors" not in body
    assert body == plain.json()
    assert queued.headers["x-sql-statements"] == plain.headers["x-sql-statements"] == "5"
