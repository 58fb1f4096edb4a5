"""An embedded server started with a listen address takes reporting logins over TCP, with
scram-sha-256 passwords, as a BI tool connects."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from db import embedded, reporting
from db.roles import ensure_owner_and_database
from db.setup import Database, migrate_and_grant, start_embedded


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def listening() -> Iterator[tuple[Database, int]]:
    # Not pytest's tmp_path: concurrent pytest sessions reset its root to 0700, which the
    # server's own system user (when run as root) could then not traverse.
    with tempfile.TemporaryDirectory(prefix="hub-tcp-") as folder:
        port = free_port()
        db = start_embedded(Path(folder), durable=False, listen=f"127.0.0.1:{port}")
        try:
            yield db, port
        finally:
            db.stop()


async def test_a_reporting_login_connects_over_tcp_with_its_password(
    listening: tuple[Database, int],
) -> None:
    db, port = listening
    assert db.server is not None
    superuser = await asyncpg.connect(db.server.superuser_dsn())
    try:
        await ensure_owner_and_database(
            superuser, embedded.OWNER, db.server.credentials.owner, embedded.DATABASE
        )
    finally:
        await superuser.close()
    await migrate_and_grant(db.owner_dsn, (embedded.RUNTIME, db.server.credentials.runtime))
    owner = await asyncpg.connect(db.owner_dsn)
    try:
        await owner.execute(
            "insert into region (code, level, name, full_name, path) "
            "values ('100000', 'NATION', '中华人民共和国', '中华人民共和国', '100000')"
        )
        await reporting.grant(owner, "bi_tcp", ["100000"], "tcp-password-long-enough")
    finally:
        await owner.close()

    conn = await asyncpg.connect(
        host="127.0.0.1",
        port=port,
        user="bi_tcp",
        password="tcp-password-long-enough",
        database=embedded.DATABASE,
        ssl=False,
    )
    try:
        assert await conn.fetchval("select code from reporting.regions") == "100000"
        assert str(await conn.fetchval("select inet_client_addr()")) == "127.0.0.1"
    finally:
        await conn.close()
    superuser = await asyncpg.connect(db.server.superuser_dsn())
    try:
        stored = await superuser.fetchval(
            "select rolpassword from pg_authid where rolname = 'bi_tcp'"
        )
    finally:
        await superuser.close()
    assert stored.startswith("SCRAM-SHA-256$4096:")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(
            host="127.0.0.1",
            port=port,
            user="bi_tcp",
            password="wrong-password",
            database=embedded.DATABASE,
            ssl=False,
        )


@pytest.mark.parametrize("value", ["5433", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", ":5433"])
def test_a_malformed_listen_address_is_refused_naming_the_setting(value: str) -> None:
    from server.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="HUB_POSTGRES_LISTEN"):
        load_settings({"HUB_JWT_SECRET": "x" * 40, "HUB_POSTGRES_LISTEN": value})


def test_a_listen_address_is_kept() -> None:
    from server.settings import load_settings

    settings = load_settings({"HUB_JWT_SECRET": "x" * 40, "HUB_POSTGRES_LISTEN": "0.0.0.0:5433"})
    assert settings.postgres_listen == "0.0.0.0:5433"
