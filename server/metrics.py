"""GET /metrics: the hub's figures in the Prometheus text format (prometheus-client).

Series are labelled by operation name (the `operationName` of the operation that ran, as
parsed, never query text or variables), by outcome (`ok` or an error code) and by reason of
refusal. Names are folded: an unnamed operation is `anonymous`, one longer than 64
characters or holding a run of 11 digits (a phone or ID number) is `invalid`, and past the
first `MAX_OPERATIONS` distinct names every new one is `other`, so no client can grow the
series without bound or put personal data in them.

Pool usage and roll-up freshness are read at scrape time. `rollup_age` is an optional async
callable returning the age in seconds of the oldest roll-up (None: unknown); unset, the
`hub_rollup_age_seconds` series is absent.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
LONG_NUMBER = re.compile(r"[0-9]{11}")
MAX_OPERATIONS = 100
ANONYMOUS, INVALID, OTHER = "anonymous", "invalid", "other"
BATCH, REJECTED = "batch", "rejected"  # latency labels of a batch, and of a refused request
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)

RollupAge = Callable[[], Awaitable[float | None]]


def plain_name(name: str) -> bool:
    """A name that may label a series or go into a log line."""
    return NAME.match(name) is not None and LONG_NUMBER.search(name) is None


class OperationNames:
    """Folds operation names into a bounded set of label values."""

    def __init__(self, limit: int = MAX_OPERATIONS) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        if not plain_name(name):
            return INVALID
        if name in self._seen:
            return name
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(name)
        return name


class _PoolCollector(Collector):
    def __init__(self, pool: Callable[[], Any]) -> None:
        self._pool = pool

    def collect(self) -> Iterable[Metric]:
        pool = self._pool()
        if pool is None:
            return []
        size, idle = pool.get_size(), pool.get_idle_size()
        connections = GaugeMetricFamily(
            "hub_db_pool_connections",
            "Connections of the request pool, by state",
            labels=["state"],
        )
        connections.add_metric(["busy"], size - idle)
        connections.add_metric(["idle"], idle)
        limit = GaugeMetricFamily(
            "hub_db_pool_max_connections", "The most connections the request pool opens"
        )
        limit.add_metric([], pool.get_max_size())
        return [connections, limit]


class _RollupCollector(Collector):
    """The roll-ups' age as read for the scrape under way (absent when unknown)."""

    age: float | None = None

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        if self.age is None:
            return []
        gauge = GaugeMetricFamily(
            "hub_rollup_age_seconds", "Age of the oldest roll-up, read at scrape time"
        )
        gauge.add_metric([], self.age)
        return [gauge]


class _CountCollector(Collector):
    """A counter kept elsewhere (an int read at scrape time)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int]) -> None:
        self._name, self._documentation, self._read = name, documentation, read

    def collect(self) -> Iterable[Metric]:
        counter = CounterMetricFamily(self._name, self._documentation)
        counter.add_metric([], self._read())
        return [counter]


class Metrics:
    """The hub's series, in a registry of its own (one per app)."""

    def __init__(
        self,
        *,
        pool: Callable[[], Any] = lambda: None,
        revoked: Callable[[], int] | None = None,
        rollup_age: RollupAge | None = None,
        limit_storage_errors: Callable[[], int] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.names = OperationNames()
        self.rollup_age = rollup_age
        self.requests = Counter(
            "hub_graphql_operations",
            "GraphQL operations, by operation name and outcome (ok or the first error code)",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_graphql_request_duration_seconds",
            "Time to answer a POST /graphql, by operation name (`batch` for a batch, "
            "`rejected` when refused before any operation ran)",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.statements = Histogram(
            "hub_graphql_sql_statements",
            "SQL statements a POST /graphql ran, by operation name",
            ["operation"],
            buckets=STATEMENT_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            "hub_rejected_requests",
            "Requests refused before any operation ran, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.registry.register(_PoolCollector(pool))
        self._rollup = _RollupCollector()
        self.registry.register(self._rollup)
        if revoked is not None:
            Gauge(
                "hub_revoked_tokens",
                "Revoked tokens, not yet expired, that this process refuses",
                registry=self.registry,
            ).set_function(lambda: float(revoked()))
        if limit_storage_errors is not None:
            self.registry.register(
                _CountCollector(
                    "hub_rate_limit_storage_errors",
                    "Rate-limit decisions taken without the shared storage (Redis unreachable)",
                    limit_storage_errors,
                )
            )

    def observe(
        self,
        operations: list[tuple[str | None, str]],
        seconds: float,
        statements: int,
        rejected: str | None,
    ) -> None:
        """One POST /graphql: its operations' (name, outcome), its duration and statements,
        or the reason it was refused before running anything."""
        if rejected is not None:
            self.rejected.labels(rejected).inc()
        labels = [self.names.label(name) for name, _ in operations]
        for label, (_, outcome) in zip(labels, operations, strict=True):
            self.requests.labels(label, outcome).inc()
        label = labels[0] if len(labels) == 1 else BATCH if labels else REJECTED
        self.latency.labels(label).observe(seconds)
        if operations:
            self.statements.labels(label).observe(statements)

    async def render(self) -> bytes:
        self._rollup.age = None if self.rollup_age is None else await self.rollup_age()
        return generate_latest(self.registry)


def _authorised(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


async def metrics_endpoint(request: Request) -> Response:
    """Open in development; with HUB_METRICS_TOKEN a bearer of that token only; in production
    without HUB_METRICS_TOKEN, or with HUB_METRICS=false, not served (404)."""
    services = request.app.state.services
    settings = services.settings
    metrics: Metrics | None = services.metrics
    if metrics is None or (settings.production and settings.metrics_token is None):
        return JSONResponse({"error": "metrics are not served"}, status_code=404)
    if not _authorised(request, settings.metrics_token):
        return JSONResponse(
            {"error": "send `Authorization: Bearer <HUB_METRICS_TOKEN>`"},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    return Response(await metrics.render(), media_type=CONTENT_TYPE_LATEST)
