"""Per-caller request budgets (the `limits` library, sliding window counter).

An authenticated caller is counted by token subject, with a budget per minute that depends
on their highest jurisdiction level (a national office reports over far more than a
village) and is kept separately per level: one subject holding tokens of two levels has
two budgets. Behind a gateway the forwarded caller is counted, not the gateway. A request
without a valid token is counted by client address. Each operation of a batch counts.

Where the counts live (`server/limitstore.py`): with `HUB_RATE_LIMIT_STORAGE=redis://…` in
Redis, shared by every worker and hub machine, so a caller gets the budget once however many
processes serve them. Without it in this process's memory, and with N workers each enforces
budget ÷ N (never below 1). Redis unreachable: the request passes (fail open, counted in
`hub_rate_limit_storage_errors_total`, `/readyz` degraded) unless
`HUB_RATE_LIMIT_FAIL_CLOSED=true`, which refuses it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter as SharedLimiter
from limits.strategies import SlidingWindowCounterRateLimiter

from resolvers.errors import RateLimited
from resolvers.scope import Caller
from server.limitstore import LimitStore
from server.settings import LEVELS, RateLimits

LEVEL_BY_CODE_LENGTH = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}
NATION = "100000"
# Fail closed: how long the refused caller is told to wait for Redis to come back.
STORAGE_RETRY_SECONDS = 2


def level(caller: Caller) -> str:
    """The highest jurisdiction level the caller holds (a gateway without a caller: national)."""
    found = [
        "national" if g.code == NATION else LEVEL_BY_CODE_LENGTH.get(len(g.code), "village")
        for g in caller.grants
    ]
    return min(found, key=LEVELS.index) if found else "national"


def share(amount: int, workers: int) -> int:
    """One worker's part of a budget kept in process memory: amount ÷ workers, at least 1."""
    return max(1, amount // max(1, workers))


@dataclass(frozen=True)
class Refusal:
    error: RateLimited
    retry_after: int


class RateLimiter:
    def __init__(self, limits: RateLimits, store: LimitStore | None = None) -> None:
        self.store = store or LimitStore(None)
        workers = 1 if self.store.shared else self.store.workers
        self._items = {
            name: RateLimitItemPerMinute(share(limits.per_minute(name), workers), namespace="hub")
            for name in (*LEVELS, "anonymous")
        }
        self._local = SlidingWindowCounterRateLimiter(self.store.memory)
        self._shared = SharedLimiter(self.store.redis) if self.store.redis is not None else None

    async def _hit(self, budget: str, key: str, cost: int) -> Refusal | None:
        item = self._items[budget]
        if self._shared is None:
            if self._local.hit(item, budget, key, cost=cost):
                return None
            return self._refusal(item, self._local.get_window_stats(item, budget, key)[0])
        shared = self._shared
        allowed = await self.store.attempt(lambda: shared.hit(item, budget, key, cost=cost))
        if allowed is None:  # the storage is unreachable
            if not self.store.fail_closed:
                return None
            return Refusal(
                RateLimited(
                    "Too many requests: the rate-limit storage cannot be reached; "
                    f"try again in {STORAGE_RETRY_SECONDS} s",
                    retryAfter=STORAGE_RETRY_SECONDS,
                    reason="RATE_LIMIT_STORE_UNREACHABLE",
                ),
                STORAGE_RETRY_SECONDS,
            )
        if allowed:
            return None
        stats = await self.store.attempt(lambda: shared.get_window_stats(item, budget, key))
        return self._refusal(item, stats[0] if stats is not None else None)

    @staticmethod
    def _refusal(item: RateLimitItem, reset: float | None) -> Refusal:
        if reset is None:
            reset = time.time() + STORAGE_RETRY_SECONDS
        retry = max(1, math.ceil(reset - time.time()))
        return Refusal(
            RateLimited(
                f"Too many requests: at most {item.amount} a minute for this caller; "
                f"try again in {retry} s",
                retryAfter=retry,
                reason="RATE_LIMITED",
            ),
            retry,
        )

    async def caller(self, caller: Caller, cost: int = 1) -> Refusal | None:
        """Count `cost` operations against the caller's budget; a refusal when it is spent."""
        budget = level(caller)
        return await self._hit(budget, caller.subject, cost)

    async def address(self, address: str, cost: int = 1) -> Refusal | None:
        """Count a request without a valid token against its client address."""
        return await self._hit("anonymous", address, cost)
