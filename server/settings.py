"""The hub's settings: one frozen object, read once from `HUB_`-prefixed environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from starlette.config import Config

Environment = Literal["development", "production"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    runtime_database_url: str | None
    runtime_password: str | None
    jwt_secret: str
    jwt_issuer: str | None
    jwt_audience: str | None
    jwks_url: str | None
    gateway_secret: str | None
    data_dir: Path
    env: Environment
    host: str
    port: int
    statement_timeout_ms: int
    pool_min_size: int
    pool_max_size: int
    export_statement_timeout_ms: int = 300_000

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def _dev_secret(data_dir: Path) -> str:
    """A development signing secret kept in the data folder, so `serve` and `token` agree."""
    path = data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    config = Config(environ=dict(os.environ if environ is None else environ))
    env = config("HUB_ENV", default="development")
    if env not in ("development", "production"):
        raise SettingsError(f"HUB_ENV must be 'development' or 'production', not {env!r}")
    data_dir = Path(config("HUB_DATA_DIR", default="data")).expanduser().resolve()
    database_url = config("HUB_DATABASE_URL", default=None) or config("DATABASE_URL", default=None)
    secret = config("HUB_JWT_SECRET", default=None)
    if not secret:
        if env == "production":
            raise SettingsError("HUB_JWT_SECRET must be set in production")
        secret = _dev_secret(data_dir)
    elif len(secret) < 32:
        raise SettingsError("HUB_JWT_SECRET must be at least 32 characters")

    gateway_secret = config("HUB_GATEWAY_SECRET", default=None) or None
    if gateway_secret is not None and len(gateway_secret) < 32:
        raise SettingsError("HUB_GATEWAY_SECRET must be at least 32 characters")

    def integer(name: str, default: int, low: int, high: int) -> int:
        raw = config(name, default=str(default))
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
        return value

    return Settings(
        database_url=database_url,
        runtime_database_url=config("HUB_RUNTIME_DATABASE_URL", default=None),
        runtime_password=config("HUB_RUNTIME_PASSWORD", default=None),
        jwt_secret=secret,
        jwt_issuer=config("HUB_JWT_ISSUER", default=None),
        jwt_audience=config("HUB_JWT_AUDIENCE", default=None),
        jwks_url=config("HUB_JWKS_URL", default=None),
        gateway_secret=gateway_secret,
        data_dir=data_dir,
        env="production" if env == "production" else "development",
        host=config("HUB_HOST", default="127.0.0.1"),
        port=integer("HUB_PORT", 8000, 1, 65535),
        statement_timeout_ms=integer("HUB_STATEMENT_TIMEOUT_MS", 5000, 100, 600_000),
        pool_min_size=integer("HUB_POOL_MIN_SIZE", 2, 1, 100),
        pool_max_size=integer("HUB_POOL_MAX_SIZE", 10, 1, 500),
        export_statement_timeout_ms=integer(
            "HUB_EXPORT_STATEMENT_TIMEOUT_MS", 300_000, 1_000, 86_400_000
        ),
    )
