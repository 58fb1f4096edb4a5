"""Per-caller request budgets (the `limits` library, in memory, sliding window counter).

An authenticated caller is counted by token subject, with a budget per minute that depends
on their highest jurisdiction level (a national office reports over far more than a
village) and is kept separately per level: one subject holding tokens of two levels has
two budgets. Behind a gateway the forwarded caller is counted, not the gateway. A request
without a valid token is counted by client address. Each operation of a batch counts.

The budgets live in this process: behind N replicas a caller gets N times as much.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from resolvers.errors import RateLimited
from resolvers.scope import Caller
from server.settings import LEVELS, RateLimits

LEVEL_BY_CODE_LENGTH = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}
NATION = "100000"


def level(caller: Caller) -> str:
    """The highest jurisdiction level the caller holds (a gateway without a caller: national)."""
    found = [
        "national" if g.code == NATION else LEVEL_BY_CODE_LENGTH.get(len(g.code), "village")
        for g in caller.grants
    ]
    return min(found, key=LEVELS.index) if found else "national"


@dataclass(frozen=True)
class Refusal:
    error: RateLimited
    retry_after: int


class RateLimiter:
    def __init__(self, limits: RateLimits) -> None:
        self._items = {
            name: RateLimitItemPerMinute(limits.per_minute(name), namespace="hub")
            for name in (*LEVELS, "anonymous")
        }
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def _hit(self, budget: str, key: str, cost: int) -> Refusal | None:
        item = self._items[budget]
        if self._limiter.hit(item, budget, key, cost=cost):
            return None
        reset, _ = self._limiter.get_window_stats(item, budget, key)
        retry = max(1, math.ceil(reset - time.time()))
        return Refusal(
            RateLimited(
                f"Too many requests: at most {item.amount} a minute for this caller; "
                f"try again in {retry} s",
                retryAfter=retry,
            ),
            retry,
        )

    def caller(self, caller: Caller, cost: int = 1) -> Refusal | None:
        """Count `cost` operations against the caller's budget; a refusal when it is spent."""
        budget = level(caller)
        return self._hit(budget, caller.subject, cost)

    def address(self, address: str, cost: int = 1) -> Refusal | None:
        """Count a request without a valid token against its client address."""
        return self._hit("anonymous", address, cost)
