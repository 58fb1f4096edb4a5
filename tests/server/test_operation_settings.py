"""The operations settings (metrics, access log, rate limits, revocation, tracing): read from
HUB_ variables, refused with the variable named."""

from __future__ import annotations

import pytest

from server.settings import RateLimits, SettingsError, load_settings
from tests.conftest import SECRET


def test_operations_defaults() -> None:
    settings = load_settings({"HUB_JWT_SECRET": SECRET})
    assert settings.access_log and settings.metrics and not settings.otel
    assert settings.metrics_token is None and settings.revocation_reload_seconds == 60
    assert settings.rate_limits == RateLimits()
    limits = settings.rate_limits
    assert limits.enabled and limits.national > limits.province > limits.city > limits.county
    assert limits.county > limits.township >= limits.village > limits.anonymous


def test_budgets_and_switches_are_read() -> None:
    settings = load_settings(
        {
            "HUB_JWT_SECRET": SECRET,
            "HUB_RATE_LIMIT_VILLAGE": "7",
            "HUB_RATE_LIMIT_ANONYMOUS": "3",
            "HUB_RATE_LIMIT": "off",
            "HUB_ACCESS_LOG": "false",
            "HUB_METRICS": "0",
            "HUB_OTEL_ENABLED": "true",
            "HUB_METRICS_TOKEN": "m" * 32,
        }
    )
    limits = settings.rate_limits
    assert (limits.village, limits.anonymous, limits.enabled) == (7, 3, False)
    assert not settings.access_log and not settings.metrics and settings.otel
    assert settings.metrics_token == "m" * 32


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_METRICS_TOKEN", "short"),
        ("HUB_ACCESS_LOG", "sometimes"),
        ("HUB_RATE_LIMIT_COUNTY", "0"),
        ("HUB_RATE_LIMIT_TOWNSHIP", "many"),
        ("HUB_REVOCATION_RELOAD_SECONDS", "0"),
        ("HUB_OTEL_ENABLED", "yes please"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({"HUB_JWT_SECRET": SECRET, name: value})
