"""Optional OpenTelemetry tracing (HUB_OTEL_ENABLED=true, the `otel` extra): a span per
GraphQL operation and its parse, validate and resolver steps, by Strawberry's
OpenTelemetryExtension (`server/otel.py`, without query text or arguments). Off by default,
and then nothing of OpenTelemetry is imported.

The spans go to the global tracer provider. When none is set (as `opentelemetry-instrument`
or an embedding program would), the hub sets an SDK provider exporting over OTLP/HTTP,
configured by the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT…).
"""

from __future__ import annotations

from strawberry.extensions import SchemaExtension

from server.settings import Settings


class TracingUnavailable(RuntimeError):
    """HUB_OTEL_ENABLED is set but the `otel` extra is not installed."""


def tracing_extensions(settings: Settings) -> list[type[SchemaExtension]]:
    if not settings.otel:
        return []
    try:
        from server import otel
    except ImportError as error:
        raise TracingUnavailable(
            "HUB_OTEL_ENABLED=true needs the `otel` extra: pip install 'grassroots-hub[otel]'"
        ) from error
    if not otel.provider_is_set():
        otel.install_provider()
    return [otel.HubTracing]
