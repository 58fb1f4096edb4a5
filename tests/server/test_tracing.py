"""OpenTelemetry tracing: off (and not even imported) by default; on, a span per operation
that names it and carries nothing the caller sent."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from db.setup import Database
from server.settings import Settings
from tests.conftest import SECRET, running

PHONE = "13812345678"


def test_tracing_is_off_by_default_and_imports_nothing() -> None:
    program = """
import sys
from server.app import create_app
from server.settings import load_settings
from server.tracing import tracing_extensions
settings = load_settings()
create_app(settings)
assert not settings.otel and tracing_extensions(settings) == []
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    env = {**os.environ, "HUB_JWT_SECRET": SECRET, "HUB_ENV": "development"}
    env.pop("HUB_OTEL_ENABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The global provider can be set once per process; only hubs with tracing on use it.
    trace.set_tracer_provider(provider)
    yield exporter
    exporter.clear()


async def test_an_operation_is_traced_without_its_query_or_arguments(
    database: Database, settings: Settings, spans: InMemorySpanExporter
) -> None:
    assert trace.get_tracer_provider() is not None
    traced = dataclasses.replace(settings, otel=True)
    async with running(database, traced) as hub:
        query = "query Lookup($code: String!) { region(code: $code) { name } }"
        response = await hub.post(query, {"code": "341126"}, token=hub.token("341126"))
        assert response.json()["data"]["region"]["name"] == "凤阳县"
        await hub.post(query, {"code": PHONE}, token=hub.token("341126"))
    finished = spans.get_finished_spans()
    names = [span.name for span in finished]
    assert names.count("GraphQL Operation: Lookup") == 2
    assert {"GraphQL Parsing", "GraphQL Validation", "GraphQL Resolving: region"} <= set(names)
    recorded = repr([(span.name, dict(span.attributes or {})) for span in finished])
    assert PHONE not in recorded and "341126" not in recorded and "region(code" not in recorded
