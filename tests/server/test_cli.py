"""The `grassroots` command, run as a user runs it, against the test database."""

import asyncio
import gzip
import json
import os
import sys
from pathlib import Path

import asyncpg
import jwt
import pytest

from db.setup import Database
from schema.build import SDL_PATH
from tests.conftest import SECRET, TODAY, clone


async def grassroots(*args: str, database: Database | None = None) -> tuple[int, str, str]:
    env = {**os.environ, "HUB_JWT_SECRET": SECRET, "HUB_ENV": "development", "HUB_TODAY": TODAY}
    if database is not None:
        env["HUB_DATABASE_URL"] = database.owner_dsn
        env["HUB_RUNTIME_DATABASE_URL"] = database.runtime_dsn
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_token_prints_a_signed_token_with_the_claims_asked_for() -> None:
    code, out, _ = await grassroots(
        "token",
        "--sub",
        "clerk",
        "--jurisdiction",
        "341126101",
        "--jurisdiction",
        "341126102",
        "--role",
        "viewer",
        "--role",
        "pii",
        "--ttl",
        "120",
    )
    claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"])
    assert code == 0
    assert claims["sub"] == "clerk" and claims["jurisdictions"] == ["341126101", "341126102"]
    assert claims["roles"] == ["pii", "viewer"] and claims["scope"] == "pii viewer"
    assert claims["exp"] - claims["iat"] == 120 and claims["jti"]


async def test_token_refuses_an_unknown_role() -> None:
    code, _, err = await grassroots("token", "--sub", "x", "--jurisdiction", "34", "--role", "root")
    assert code == 2 and "root" in err


async def test_token_refuses_a_grant_that_reads_nothing() -> None:
    code, out, err = await grassroots(
        "token", "--sub", "x", "--jurisdiction", "341126", "--role", "pii"
    )
    assert (code, out) == (1, "") and "pii alone reads nothing" in err


async def test_db_status_reports_migrations_and_rows(database: Database) -> None:
    code, out, _ = await grassroots("db", "status", database=database)
    status = json.loads(out)
    assert code == 0 and status["database"] == "external" and status["pending"] == []
    assert status["rows"]["service_request"] >= 20_000


@pytest.fixture(scope="module")
async def changed(template: Database) -> Database:
    """A database whose record of 0003 says it was applied from other bytes than the file's."""
    database = await clone(template)
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        await conn.execute("update schema_migration set checksum = 'elsewhere' where version = 3")
    finally:
        await conn.close()
    return database


async def test_db_status_names_an_applied_migration_whose_file_has_changed(
    changed: Database,
) -> None:
    code, out, _ = await grassroots("db", "status", database=changed)
    assert code == 1 and json.loads(out)["changed"] == ["0003_workflow.sql"]


async def test_db_migrate_refuses_when_an_applied_migration_has_changed(
    changed: Database,
) -> None:
    code, out, err = await grassroots("db", "migrate", database=changed)
    assert code == 1 and out == "" and "0003_workflow.sql" in err
    assert "Traceback" not in err


async def test_serve_refuses_to_start_when_an_applied_migration_has_changed(
    changed: Database,
) -> None:
    code, _, err = await grassroots("serve", "--port", "0", database=changed)
    last = err.strip().splitlines()[-1]
    assert code == 1
    assert last.startswith("grassroots: start-up failed: ChangedMigrationError: ")
    assert "0003_workflow.sql" in last and "Traceback" not in err


async def test_a_malformed_division_file_stops_the_import_and_changes_nothing(
    database: Database, owner: asyncpg.Connection, tmp_path: Path
) -> None:
    source = Path(__file__).parents[2] / "db" / "data" / "divisions"
    for name in ("provinces", "cities", "areas", "streets"):
        (tmp_path / f"{name}.csv.gz").write_bytes((source / f"{name}.csv.gz").read_bytes())
    with gzip.open(tmp_path / "villages.csv.gz", "wt", encoding="utf-8") as f:
        f.write("code,name,streetCode,provinceCode,cityCode,areaCode\n")
        f.write('341126101999,"新村",341126101,34,3411,341126\n')
        f.write('34112610199,"坏码",341126101,34,3411,341126\n')
    before = await owner.fetchval("select count(*) from region")
    code, _, err = await grassroots("db", "import-divisions", str(tmp_path), database=database)
    assert code == 1 and "villages.csv.gz" in err and "line 3" in err
    assert await owner.fetchval("select count(*) from region") == before


async def test_schema_prints_the_committed_sdl() -> None:
    code, out, _ = await grassroots("schema")
    assert code == 0 and out == SDL_PATH.read_text(encoding="utf-8")
