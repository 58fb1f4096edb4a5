"""The OpenTelemetry side of tracing, imported only when HUB_OTEL_ENABLED is set."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from strawberry.extensions import LifecycleStep
from strawberry.extensions.tracing import OpenTelemetryExtension

from server.metrics import plain_name

SERVICE_NAME = "grassroots-hub"


class HubTracing(OpenTelemetryExtension):
    """Strawberry's spans (operation, parsing, validation, resolvers) without what the caller
    sent: no query text, no arguments, and an operation name only when it is a plain name."""

    def on_operation(self) -> Generator[None, None, None]:
        span = self._tracer.start_span("GraphQL Operation", kind=SpanKind.SERVER)
        span.set_attribute("component", "graphql")
        self._span_holder[LifecycleStep.OPERATION] = span
        yield
        name = self.execution_context.operation_name
        if name and plain_name(name):
            span.update_name(f"GraphQL Operation: {name}")
            span.set_attribute("graphql.operation.name", name)
        span.end()

    def filter_resolver_args(
        self, args: dict[str, Any], info: GraphQLResolveInfo[Any]
    ) -> dict[str, Any]:
        return {}


def install_provider() -> None:
    """An SDK tracer provider exporting over OTLP/HTTP (configured by OTEL_* variables)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def provider_is_set() -> bool:
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
