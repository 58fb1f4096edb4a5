"""Settings are checked at start: a bad variable stops `grassroots serve` with one line
naming it (exit 2, no traceback), before anything is started."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import SettingsError, load_settings
from tests.conftest import SECRET

GOOD = {"HUB_JWT_SECRET": SECRET, "HUB_ENV": "development"}


def serve(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("DATABASE_URL", None)
    env |= {"HUB_DATA_DIR": str(tmp_path / "data"), **GOOD, **variables}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variables", "named", "says"),
    [
        ({"HUB_PORT": "80a"}, "HUB_PORT", "whole number"),
        ({"HUB_PORT": "70000"}, "HUB_PORT", "between 1 and 65535"),
        ({"HUB_ENV": "prod"}, "HUB_ENV", "'development' or 'production'"),
        ({"HUB_ENV": "production", "HUB_JWT_SECRET": ""}, "HUB_JWT_SECRET", "production"),
        ({"HUB_JWT_SECRET": "short"}, "HUB_JWT_SECRET", "at least 32 characters"),
        ({"HUB_DATABASE_URL": "mysql://db/hub"}, "HUB_DATABASE_URL", "postgresql://"),
        ({"DATABASE_URL": "postgresql://u:p@db:port/hub"}, "DATABASE_URL", "port"),
        ({"HUB_DATABASE_URL": "postgresql://u:p@db/hub"}, "HUB_RUNTIME_PASSWORD", "also set"),
        ({"HUB_RUNTIME_PASSWORD": "x" * 20}, "HUB_RUNTIME_PASSWORD", "HUB_DATABASE_URL"),
        ({"HUB_POOL_MIN_SIZE": "20", "HUB_POOL_MAX_SIZE": "5"}, "HUB_POOL_MIN_SIZE", "exceed"),
        ({"HUB_JWKS_URL": "ftp://keys"}, "HUB_JWKS_URL", "http"),
        ({"HUB_STATEMENT_TIMEOUT_MS": "0"}, "HUB_STATEMENT_TIMEOUT_MS", "between"),
        ({"HUB_SHUTDOWN_TIMEOUT_SECONDS": "-1"}, "HUB_SHUTDOWN_TIMEOUT_SECONDS", "between"),
        ({"HUB_HOST": "my host"}, "HUB_HOST", "host name"),
    ],
)
def test_a_bad_variable_stops_serve_with_one_line_naming_it(
    tmp_path: Path, variables: dict[str, str], named: str, says: str
) -> None:
    done = serve(tmp_path, **variables)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"grassroots: {named} "), lines
    assert says in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "pg").exists()  # nothing was started


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(SettingsError, match=r"HUB_DATA_DIR .* not a folder"):
        load_settings({**GOOD, "HUB_DATA_DIR": str(tmp_path / "file")})


def test_production_wants_https_keys_and_a_long_runtime_password(tmp_path: Path) -> None:
    base = {**GOOD, "HUB_ENV": "production", "HUB_DATA_DIR": str(tmp_path)}
    with pytest.raises(SettingsError, match="HUB_JWKS_URL must be an https:// URL"):
        load_settings({**base, "HUB_JWKS_URL": "http://keys.example/jwks.json"})
    external = {**base, "HUB_DATABASE_URL": "postgresql://owner:pw@db:5432/hub"}
    with pytest.raises(SettingsError, match="HUB_RUNTIME_PASSWORD must be at least 16"):
        load_settings({**external, "HUB_RUNTIME_PASSWORD": "short"})
    settings = load_settings({**external, "HUB_RUNTIME_PASSWORD": "r" * 16})
    assert settings.production and settings.database_url == external["HUB_DATABASE_URL"]


def test_good_settings_are_read_with_their_types(tmp_path: Path) -> None:
    settings = load_settings(
        {
            **GOOD,
            "HUB_DATA_DIR": str(tmp_path),
            "HUB_PORT": "8123",
            "HUB_POOL_MIN_SIZE": "3",
            "HUB_POOL_MAX_SIZE": "3",
            "DATABASE_URL": "postgres://owner:pw@/hub?host=/run/pg",
            "HUB_RUNTIME_DATABASE_URL": "postgresql://app:pw@db/hub",
            "HUB_SHUTDOWN_TIMEOUT_SECONDS": "5",
        }
    )
    assert (settings.port, settings.pool_min_size, settings.pool_max_size) == (8123, 3, 3)
    assert settings.database_url == "postgres://owner:pw@/hub?host=/run/pg"
    assert settings.shutdown_timeout_seconds == 5


def test_hub_today_pins_a_day_in_development_and_is_refused_in_production(
    tmp_path: Path,
) -> None:
    base = {**GOOD, "HUB_DATA_DIR": str(tmp_path)}
    assert load_settings(base).today is None
    assert load_settings({**base, "HUB_TODAY": "2026-02-28"}).today == dt.date(2026, 2, 28)
    with pytest.raises(SettingsError, match="HUB_TODAY must be a day YYYY-MM-DD"):
        load_settings({**base, "HUB_TODAY": "2026-02-30"})
    with pytest.raises(SettingsError, match=r"HUB_TODAY .* unset it in production"):
        load_settings({**base, "HUB_ENV": "production", "HUB_TODAY": "2026-02-28"})
