"""`grassroots db backup` / `db restore`: the demo data round-trips into a new embedded data
folder, with its roles, its figures and row-level security intact."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tarfile
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from db.backup import backup
from db.embedded import EmbeddedPostgres
from db.pool import connect
from db.setup import Database
from server.settings import Settings
from tests.conftest import SECRET, running

COUNTY_PATH = "100000.34.3411.341126"
TABLES = """
select table_name::text as name, format('select count(*) from %I', table_name) as count
from information_schema.tables
where table_schema = 'public' and table_type = 'BASE TABLE' order by 1
"""
STATS = """{ region(code: "341126") { stats { organizations partyMembers
  serviceRequests { total open resolved overdue responseRate resolutionRate satisfactionRate
    averageHoursToResolve byStatus { key count } }
  participation { events participants resolutionsAdopted resolutionsImplemented } }
  children { totalCount } } }"""


async def grassroots(*args: str, data_dir: Path, **variables: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("DATABASE_URL", None)
    env |= {"HUB_JWT_SECRET": SECRET, "HUB_DATA_DIR": str(data_dir), **variables}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class RoundTrip:
    source: Database
    restored: Database
    file: Path
    folder: Path
    reporter: str
    restore_output: str


@pytest.fixture(scope="module")
def folders() -> Iterator[tuple[Path, Path]]:
    # Outside pytest's 0700 tmp tree: the server runs as its own system user under root.
    work = Path(tempfile.mkdtemp(prefix="hub-backup-test-"))
    restored = work / "restored"
    restored.mkdir()
    yield work, restored
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
async def round_trip(database: Database, folders: tuple[Path, Path]) -> AsyncIterator[RoundTrip]:
    work, folder = folders
    assert database.server is not None
    # A reporting login, a member of the hub's group: it must come back with its password.
    reporter = f"report_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(database.owner_dsn)
    try:
        await owner.execute(f"create role {reporter} login password 'report-password'")
        await owner.execute(f"grant hub_runtime to {reporter}")
    finally:
        await owner.close()
    name = urlsplit(database.owner_dsn).path.lstrip("/")
    file = work / "hub.backup"
    server: EmbeddedPostgres | None = None
    try:
        await backup(database.server.superuser_dsn(name), file)
        code, out, err = await grassroots("db", "restore", str(file), data_dir=folder)
        assert code == 0, err
        server = EmbeddedPostgres(folder)
        await asyncio.to_thread(server.start)
        restored = Database(server.owner_dsn(), server.runtime_dsn(), server)
        yield RoundTrip(database, restored, file, folder, reporter, out)
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
        superuser = await asyncpg.connect(database.server.superuser_dsn())
        try:
            await superuser.execute(f"drop role if exists {reporter}")
        finally:
            await superuser.close()


async def rows(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {t["name"]: await conn.fetchval(t["count"]) for t in await conn.fetch(TABLES)}
    finally:
        await conn.close()


async def test_every_table_has_the_same_rows_after_the_round_trip(round_trip: RoundTrip) -> None:
    before = await rows(round_trip.source.owner_dsn)
    after = await rows(round_trip.restored.owner_dsn)
    assert before["service_request"] > 20_000 and before["audit_log"] >= 0
    assert after == before


async def test_figures_read_through_the_runtime_role_are_the_same(
    round_trip: RoundTrip, settings: Settings
) -> None:
    answers = []
    for database in (round_trip.source, round_trip.restored):
        async with running(database, settings) as hub:
            answers.append(await hub.query(STATS))
    assert "errors" not in answers[0], answers[0]
    assert answers[0]["data"]["region"]["stats"]["serviceRequests"]["total"] > 0
    assert answers[1] == answers[0]


async def test_row_level_security_still_holds_after_restore(round_trip: RoundTrip) -> None:
    runtime = await connect(round_trip.restored.runtime_dsn)
    try:
        assert await runtime.fetchval("select count(*) from service_request") == 0
        async with runtime.transaction():
            await runtime.execute(
                "select set_config('hub.read_scope', $1, true)", "{" + COUNTY_PATH + "}"
            )
            scoped = await runtime.fetchval("select count(*) from service_request")
            outside = await runtime.fetchval(
                "select count(*) from service_request where region_code not like '341126%'"
            )
        user = await runtime.fetchrow(
            "select rolsuper, rolbypassrls from pg_roles where rolname = current_user"
        )
    finally:
        await runtime.close()
    total = (await rows(round_trip.restored.owner_dsn))["service_request"]
    assert 0 < scoped < total and outside == 0
    assert user is not None and not user["rolsuper"] and not user["rolbypassrls"]


async def test_roles_come_back_and_the_hub_logins_take_the_new_folders_passwords(
    round_trip: RoundTrip,
) -> None:
    server = round_trip.restored.server
    source = round_trip.source.server
    assert server is not None and source is not None
    assert server.credentials != source.credentials
    dsn = server.owner_dsn().replace(
        f"hub_owner:{server.credentials.owner}", f"{round_trip.reporter}:report-password"
    )
    reporter = await asyncpg.connect(dsn)
    try:
        member = await reporter.fetchval(
            "select pg_has_role(current_user, 'hub_runtime', 'member')"
        )
    finally:
        await reporter.close()
    assert member is True
    report = json.loads(round_trip.restore_output)
    assert round_trip.reporter in report["roles"] and "postgres" not in report["roles"]
    with tarfile.open(round_trip.file) as tar:
        roles_sql = tar.extractfile("roles.sql").read().decode()  # type: ignore[union-attr]
    assert "CREATE ROLE postgres" not in roles_sql and " WITH SUPERUSER" not in roles_sql
    assert "PASSWORD 'SCRAM-SHA-256$" in roles_sql  # hashes, never the passwords themselves
    assert oct(round_trip.file.stat().st_mode & 0o777) == "0o600"


async def test_restore_refuses_a_folder_that_holds_a_database(round_trip: RoundTrip) -> None:
    before = await rows(round_trip.restored.owner_dsn)
    code, _, err = await grassroots(
        "db", "restore", str(round_trip.file), data_dir=round_trip.folder
    )
    assert code == 1 and "is not empty" in err and "HUB_DATA_DIR" in err
    assert "Traceback" not in err
    assert await rows(round_trip.restored.owner_dsn) == before


async def test_a_file_that_is_not_a_backup_leaves_the_folder_empty(
    folders: tuple[Path, Path],
) -> None:
    work, _ = folders
    bogus, target = work / "bogus.tar", work / "empty"
    target.mkdir()
    with tarfile.open(bogus, "w") as tar:
        tar.add(Path(__file__), arcname="hub.dump")
    code, _, err = await grassroots("db", "restore", str(bogus), data_dir=target)
    assert code == 1 and "is not a hub backup" in err
    assert [p.name for p in target.iterdir() if p.name != "jwt-secret"] == []


async def test_restore_with_an_external_database_says_what_to_do_instead(
    round_trip: RoundTrip,
) -> None:
    code, _, err = await grassroots(
        "db",
        "restore",
        str(round_trip.file),
        data_dir=round_trip.folder,
        HUB_DATABASE_URL=round_trip.source.owner_dsn,
        HUB_RUNTIME_DATABASE_URL=round_trip.source.runtime_dsn,
    )
    assert code == 2 and "pg_restore" in err


async def test_backup_of_an_embedded_folder_through_the_command(round_trip: RoundTrip) -> None:
    again = round_trip.file.with_name("again.backup")
    code, out, err = await grassroots("db", "backup", str(again), data_dir=round_trip.folder)
    assert code == 0, err
    report = json.loads(out)
    assert report["database"] == "hub" and report["migrations"] >= 7
    with tarfile.open(again) as tar:
        assert sorted(tar.getnames()) == ["hub.dump", "manifest.json", "roles.sql"]
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["owner"] == "hub_owner" and round_trip.reporter in manifest["roles"]
    assert {"hub_owner", "hub_runtime", "hub_app"} <= set(manifest["roles"])
