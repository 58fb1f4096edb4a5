"""Bring a database to the point where the hub can serve: server up, roles, migrations.

With no database URL the embedded server in the data folder is used (started if needed).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from db import embedded, roles
from db.migrate import migrate


class SetupError(RuntimeError):
    """The database cannot be prepared as configured; the message says what to change."""


@dataclass
class Database:
    owner_dsn: str
    runtime_dsn: str
    server: embedded.EmbeddedPostgres | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def _with_login(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(password, safe='')}@{host}"))


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (as in `HUB_POSTGRES_LISTEN=127.0.0.1:5433`) to its parts."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SetupError(f"a listen address is HOST:PORT, like 127.0.0.1:5433, not {value!r}")
    return host.strip("[]"), int(port)


def start_embedded(
    data_dir: Path,
    *,
    tcp_port: int | None = None,
    durable: bool = True,
    listen: str | None = None,
) -> Database:
    host = "127.0.0.1"
    if listen is not None:
        host, tcp_port = parse_listen(listen)
    server = embedded.EmbeddedPostgres(data_dir, tcp_port=tcp_port, tcp_host=host, durable=durable)
    server.start()
    return Database(server.owner_dsn(), server.runtime_dsn(), server)


async def prepare(
    *,
    data_dir: Path,
    database_url: str | None,
    runtime_database_url: str | None = None,
    runtime_password: str | None = None,
    apply_migrations: bool = True,
    listen: str | None = None,
) -> Database:
    if database_url is None:
        db = await _started_embedded(data_dir, listen)
        try:
            return await _prepare_embedded(db, apply_migrations)
        except BaseException:
            # Cancelled (SIGTERM) or failed half-way: stop the server start-up started.
            await asyncio.to_thread(db.stop)
            raise
    else:
        managed_login: tuple[str, str] | None
        if runtime_database_url:
            runtime_dsn, managed_login = runtime_database_url, None
        elif runtime_password:
            runtime_dsn = _with_login(database_url, embedded.RUNTIME, runtime_password)
            managed_login = (embedded.RUNTIME, runtime_password)
        else:
            raise SetupError(
                "with HUB_DATABASE_URL set, also set HUB_RUNTIME_DATABASE_URL (a login that is "
                "a member of hub_runtime) or HUB_RUNTIME_PASSWORD (the hub creates hub_app)"
            )
        db = Database(database_url, runtime_dsn)
    if apply_migrations:
        await migrate_and_grant(db.owner_dsn, managed_login)
    return db


async def _started_embedded(data_dir: Path, listen: str | None) -> Database:
    """The embedded server, started off the event loop (initdb and pg_ctl take seconds; the
    loop may be serving /readyz). Cancelled meanwhile, it waits for the start to finish and
    stops the server again, so a SIGTERM at any moment leaves no PostgreSQL running."""
    work = asyncio.ensure_future(
        asyncio.to_thread(functools.partial(start_embedded, data_dir, listen=listen))
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            started = await work
            await asyncio.to_thread(started.stop)
        raise


async def _prepare_embedded(db: Database, apply_migrations: bool) -> Database:
    assert db.server is not None
    superuser = await asyncpg.connect(db.server.superuser_dsn())
    try:
        await roles.ensure_owner_and_database(
            superuser, embedded.OWNER, db.server.credentials.owner, embedded.DATABASE
        )
    finally:
        await superuser.close()
    if apply_migrations:
        await migrate_and_grant(db.owner_dsn, (embedded.RUNTIME, db.server.credentials.runtime))
    return db


async def migrate_and_grant(owner_dsn: str, login: tuple[str, str] | None) -> None:
    owner = await asyncpg.connect(owner_dsn)
    try:
        await migrate(owner)
        if login is not None:
            await roles.ensure_runtime_login(owner, *login)
    finally:
        await owner.close()
