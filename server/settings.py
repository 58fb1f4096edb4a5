"""The hub's settings: one frozen object, read once from `HUB_`-prefixed environment variables."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from starlette.config import Config

from db import clock

Environment = Literal["development", "production"]

# Jurisdiction levels by the length of a division code (100000 is the nation).
LEVELS = ("national", "province", "city", "county", "township", "village")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute per caller: by token subject at the caller's highest jurisdiction
    level, and by client address for requests without a valid token."""

    enabled: bool = True
    national: int = 6000
    province: int = 3000
    city: int = 1200
    county: int = 600
    township: int = 300
    village: int = 300
    anonymous: int = 120

    def per_minute(self, level: str) -> int:
        value: int = getattr(self, level)
        return value


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
    postgres_listen: str | None = None
    shutdown_timeout_seconds: int = 20
    access_log: bool = True
    metrics: bool = True
    metrics_token: str | None = None
    otel: bool = False
    rate_limits: RateLimits = RateLimits()
    revocation_reload_seconds: int = 60
    export_statement_timeout_ms: int = 300_000
    # HUB_GRAPHIQL: the IDE, introspection and `_service` for callers (DESIGN.md §8); None:
    # on in development, off in production.
    graphiql_setting: bool | None = None
    ws_max_sockets_per_subject: int = 5
    ws_max_subscriptions_per_socket: int = 32
    # --- scale-out (issue 16): worker processes and limits shared through Redis ---
    workers: int = 1
    rate_limit_storage: str | None = None
    rate_limit_fail_closed: bool = False
    # The browser door (issue 17): CORS origins, persisted queries, token claim names.
    cors_origins: tuple[str, ...] = ()
    apq_max_document_bytes: int = 20_000
    apq_max_total_bytes: int = 5_000_000
    jwt_jurisdictions_claim: str = "jurisdictions"
    jwt_roles_claim: str = "roles"
    jwt_grants_claim: str = "grants"
    require_jti: bool = True
    # --- one clock (issue 20): HUB_TODAY pins "today" in development and tests ---
    today: dt.date | None = None
    # Bounded work per request (issue 13): heavy queries run in this many worker processes
    # per hub process (server/lane.py); 0 runs them in the serving process.
    heavy_workers: int = 0
    # ...at this CPU priority below the serving process's (nice(2) increment).
    heavy_niceness: int = 10
    # Issue 15: connections' edges completed without graphql-core's per-field work
    # (schema/compiled.py); HUB_COMPILED_LISTS=false sends every list through graphql-core.
    compiled_lists: bool = True
    # One-time links (issue 19): how long a link lives; the hub's address in the links made.
    link_ttl_seconds: int = 300
    public_url: str | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def graphiql(self) -> bool:
        return not self.production if self.graphiql_setting is None else self.graphiql_setting

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


def _postgres_url(name: str, value: str | None) -> str | None:
    """A libpq connection URL (`postgresql://user:password@host:port/database`), or None."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres"):
        raise SettingsError(
            f"{name} must be a postgresql:// URL (postgresql://user:password@host:5432/hub), "
            f"not one starting {parts.scheme + ':' if parts.scheme else 'without a scheme'}"
        )
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise SettingsError(f"{name} has a port that is not a number from 1 to 65535") from None
    if not parts.hostname and "host=" not in parts.query:
        raise SettingsError(f"{name} names no host (postgresql://user:password@HOST:5432/hub)")
    return value


def _http_url(name: str, value: str | None, *, https: bool) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    allowed = ("https",) if https else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        shape = "an https:// URL" if https else "an http(s):// URL"
        raise SettingsError(f"{name} must be {shape} with a host, not {value!r}")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting parsed and checked; the first bad one raises `SettingsError` naming it."""
    config = Config(environ=dict(os.environ if environ is None else environ))

    def text(name: str) -> str | None:
        value = config(name, default=None)
        return value.strip() or None if value is not None else None

    env = config("HUB_ENV", default="development")
    if env not in ("development", "production"):
        raise SettingsError(f"HUB_ENV must be 'development' or 'production', not {env!r}")
    production = env == "production"

    raw_dir = config("HUB_DATA_DIR", default="data")
    if not raw_dir.strip():
        raise SettingsError("HUB_DATA_DIR must name a folder, not be empty")
    data_dir = Path(raw_dir).expanduser().resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise SettingsError(f"HUB_DATA_DIR {str(data_dir)!r} exists and is not a folder")

    url_name = "HUB_DATABASE_URL" if text("HUB_DATABASE_URL") else "DATABASE_URL"
    database_url = _postgres_url(url_name, text(url_name))
    runtime_url = _postgres_url("HUB_RUNTIME_DATABASE_URL", text("HUB_RUNTIME_DATABASE_URL"))
    runtime_password = config("HUB_RUNTIME_PASSWORD", default=None) or None
    if database_url is None:
        for name, value in (
            ("HUB_RUNTIME_DATABASE_URL", runtime_url),
            ("HUB_RUNTIME_PASSWORD", runtime_password),
        ):
            if value is not None:
                raise SettingsError(
                    f"{name} applies only with HUB_DATABASE_URL (an external PostgreSQL); "
                    "unset it to use the embedded one"
                )
    elif runtime_url is None and runtime_password is None:
        raise SettingsError(
            f"HUB_RUNTIME_PASSWORD (the hub creates the login hub_app) or "
            f"HUB_RUNTIME_DATABASE_URL (a login that is a member of hub_runtime): with {url_name} "
            "set, also set one of them"
        )
    if runtime_password is not None and production and len(runtime_password) < 16:
        raise SettingsError("HUB_RUNTIME_PASSWORD must be at least 16 characters in production")

    secret = config("HUB_JWT_SECRET", default=None)
    if not secret:
        if production:
            raise SettingsError("HUB_JWT_SECRET must be set in production")
        secret = _dev_secret(data_dir)
    elif len(secret) < 32:
        raise SettingsError(
            f"HUB_JWT_SECRET must be at least 32 characters, not {len(secret)} "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))' makes one)"
        )

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

    host = config("HUB_HOST", default="127.0.0.1").strip()
    if not host or any(c.isspace() or c in "/@" for c in host):
        raise SettingsError(f"HUB_HOST must be a host name or IP address, not {host!r}")
    pool_min = integer("HUB_POOL_MIN_SIZE", 2, 1, 100)
    pool_max = integer("HUB_POOL_MAX_SIZE", 10, 1, 500)
    if pool_min > pool_max:
        raise SettingsError(
            f"HUB_POOL_MIN_SIZE ({pool_min}) must not exceed HUB_POOL_MAX_SIZE ({pool_max})"
        )

    def flag(name: str, default: bool) -> bool:
        raw = config(name, default="true" if default else "false").strip().lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")

    metrics_token = config("HUB_METRICS_TOKEN", default=None) or None
    if metrics_token is not None and len(metrics_token) < 32:
        raise SettingsError("HUB_METRICS_TOKEN must be at least 32 characters")
    defaults = RateLimits()
    budgets = {
        level: integer(f"HUB_RATE_LIMIT_{level.upper()}", defaults.per_minute(level), 1, 10**7)
        for level in (*LEVELS, "anonymous")
    }

    return Settings(
        database_url=database_url,
        runtime_database_url=runtime_url,
        runtime_password=runtime_password,
        jwt_secret=secret,
        jwt_issuer=text("HUB_JWT_ISSUER"),
        jwt_audience=text("HUB_JWT_AUDIENCE"),
        jwks_url=_http_url("HUB_JWKS_URL", text("HUB_JWKS_URL"), https=production),
        gateway_secret=gateway_secret,
        data_dir=data_dir,
        env="production" if production else "development",
        host=host,
        port=integer("HUB_PORT", 8000, 1, 65535),
        statement_timeout_ms=integer("HUB_STATEMENT_TIMEOUT_MS", 5000, 100, 600_000),
        pool_min_size=pool_min,
        pool_max_size=pool_max,
        postgres_listen=_listen(config("HUB_POSTGRES_LISTEN", default=None) or None),
        shutdown_timeout_seconds=integer("HUB_SHUTDOWN_TIMEOUT_SECONDS", 20, 1, 3600),
        access_log=flag("HUB_ACCESS_LOG", True),
        metrics=flag("HUB_METRICS", True),
        metrics_token=metrics_token,
        otel=flag("HUB_OTEL_ENABLED", False),
        rate_limits=RateLimits(enabled=flag("HUB_RATE_LIMIT", True), **budgets),
        revocation_reload_seconds=integer("HUB_REVOCATION_RELOAD_SECONDS", 60, 1, 86_400),
        export_statement_timeout_ms=integer(
            "HUB_EXPORT_STATEMENT_TIMEOUT_MS", 300_000, 1_000, 86_400_000
        ),
        graphiql_setting=(
            flag("HUB_GRAPHIQL", False) if config("HUB_GRAPHIQL", default=None) else None
        ),
        ws_max_sockets_per_subject=integer("HUB_WS_MAX_SOCKETS_PER_SUBJECT", 5, 1, 1000),
        ws_max_subscriptions_per_socket=integer("HUB_WS_MAX_SUBSCRIPTIONS_PER_SOCKET", 32, 1, 1000),
        # --- scale-out (issue 16) ---
        workers=workers(config("HUB_WORKERS", default="1")),
        rate_limit_storage=_redis_url(text("HUB_RATE_LIMIT_STORAGE")),
        rate_limit_fail_closed=flag("HUB_RATE_LIMIT_FAIL_CLOSED", False),
        # The browser door (issue 17).
        cors_origins=_origins(config("HUB_CORS_ORIGINS", default="")),
        apq_max_document_bytes=integer("HUB_APQ_MAX_DOCUMENT_BYTES", 20_000, 100, 1_000_000),
        apq_max_total_bytes=integer("HUB_APQ_MAX_TOTAL_BYTES", 5_000_000, 1_000, 1_000_000_000),
        jwt_jurisdictions_claim=_claim(config, "HUB_JWT_JURISDICTIONS_CLAIM", "jurisdictions"),
        jwt_roles_claim=_claim(config, "HUB_JWT_ROLES_CLAIM", "roles"),
        jwt_grants_claim=_claim(config, "HUB_JWT_GRANTS_CLAIM", "grants"),
        require_jti=flag("HUB_REQUIRE_JTI", True),
        today=_today(text("HUB_TODAY"), production),
        # Bounded work per request (issue 13).
        heavy_workers=integer("HUB_HEAVY_WORKERS", 1, 0, 16),
        heavy_niceness=integer("HUB_HEAVY_NICENESS", 10, 0, 19),
        compiled_lists=flag("HUB_COMPILED_LISTS", True),
        # One-time links (issue 19).
        link_ttl_seconds=integer("HUB_LINK_TTL_SECONDS", 300, 1, 86_400),
        public_url=_public_url(text("HUB_PUBLIC_URL")),
    )


def _today(value: str | None, production: bool) -> dt.date | None:
    """`HUB_TODAY`: the day the one clock (db/clock.py) pins, in development and tests only."""
    if value is None:
        return None
    if production:
        raise SettingsError(
            "HUB_TODAY pins the clock for development and tests; unset it in production"
        )
    try:
        return clock.parse_day(value)
    except ValueError:
        raise SettingsError(f"HUB_TODAY must be a day YYYY-MM-DD, not {value!r}") from None


def _origins(value: str) -> tuple[str, ...]:
    """`HUB_CORS_ORIGINS`: browser origins (`https://host[:port]`), comma- or space-separated."""
    origins = []
    for origin in value.replace(",", " ").split():
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
        ):
            raise SettingsError(
                f"HUB_CORS_ORIGINS lists origins like https://app.example.org (scheme, host and "
                f"port only), not {origin!r}"
            )
        origins.append(origin.lower())
    return tuple(origins)


def _claim(config: Config, name: str, default: str) -> str:
    value = str(config(name, default=default)).strip()
    if not value or any(c.isspace() for c in value):
        raise SettingsError(f"{name} names a token claim (like {default!r}), not {value!r}")
    return value


def _listen(value: str | None) -> str | None:
    """`HUB_POSTGRES_LISTEN`: where the embedded PostgreSQL also listens over TCP."""
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"HUB_POSTGRES_LISTEN is HOST:PORT, like 127.0.0.1:5433, not {value!r}")
    return value


# --- scale-out (issue 16) ---
MAX_WORKERS = 256


def workers(raw: str) -> int:
    """`HUB_WORKERS` / `serve --workers`: a whole number, or `auto` (the CPUs this process may
    run on)."""
    value = raw.strip().lower()
    if value == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise SettingsError(
            f"HUB_WORKERS must be a whole number from 1 to {MAX_WORKERS} or 'auto', not {raw!r}"
        )
    return int(value)


def _redis_url(value: str | None) -> str | None:
    """`HUB_RATE_LIMIT_STORAGE`: where budgets and socket caps are shared (Redis)."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise SettingsError(
            "HUB_RATE_LIMIT_STORAGE must be a redis:// (or rediss://) URL with a host, "
            f"like redis://127.0.0.1:6379/0, not {value!r}"
        )
    return value


# --- one-time links (issue 19) ---
def _public_url(value: str | None) -> str | None:
    """`HUB_PUBLIC_URL`: the hub's address as browsers reach it, for the links it makes."""
    if value is None:
        return None
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise SettingsError(
            "HUB_PUBLIC_URL is the hub's address as browsers reach it, like "
            f"https://hub.example.org or https://example.org/hub, not {value!r}"
        )
    return value.rstrip("/")
