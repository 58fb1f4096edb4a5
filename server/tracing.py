"""Optional OpenTelemetry tracing (HUB_OTEL_ENABLED=true, the `otel` extra): a span per
GraphQL operation and its parse, validate and resolver steps, by Strawberry's
OpenTelemetryExtension. Off by default, and then nothing of OpenTelemetry is imported.

The spans go to the global tracer provider. When none is set (as `opentelemetry-instrument`
or the embedding program would), the hub sets an SDK provider exporting over OTLP/HTTP,
configured by the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT…).
"""

from __future__ import annotations

from strawberry.extensions import SchemaExtension

from server.settings import Settings

SERVICE_NAME = "grassroots-hub"


class TracingUnavailable(RuntimeError):
    """HUB_OTEL_ENABLED is set but the `otel` extra is not installed."""


def tracing_extensions(settings: Settings) -> list[type[SchemaExtension]]:
    if not settings.otel:
        return []
    try:
        from opentelemetry import trace
        from strawberry.extensions.tracing import OpenTelemetryExtension
    except ImportError as error:
        raise TracingUnavailable(
            "HUB_OTEL_ENABLED=true needs the `otel` extra: pip install 'grassroots-hub[otel]'"
        ) from error
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        _install_provider()
    return [OpenTelemetryExtension]


def _install_provider() -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
