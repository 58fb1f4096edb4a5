"""`grassroots reporting` and `grassroots client`, run as an operator runs them."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from db.setup import Database
from tests.server.test_cli import grassroots


def login_dsn(database: Database, role: str, password: str) -> str:
    return re.sub(r"//[^@]*@", f"//{role}:{quote(password, safe='')}@", database.owner_dsn)


async def test_grant_prints_a_generated_password_once_that_logs_in_to_the_views(
    database: Database,
) -> None:
    role = f"bi_{uuid.uuid4().hex[:8]}"
    code, out, err = await grassroots(
        "reporting", "grant", role, "--jurisdiction", "341126101", database=database
    )
    assert code == 0, err
    granted = json.loads(out)
    assert granted["status"] == "created" and granted["jurisdictions"] == ["341126101"]
    conn = await asyncpg.connect(login_dsn(database, role, granted["password"]))
    try:
        codes = {r["code"] for r in await conn.fetch("select code from reporting.regions")}
        assert "341126101" in codes and all(c.startswith("341126101") for c in codes)
    finally:
        await conn.close()

    code, out, _ = await grassroots("reporting", "list", database=database)
    assert {"role": role, "jurisdictions": ["341126101"]}.items() <= next(
        r for r in json.loads(out) if r["role"] == role
    ).items()

    code, out, _ = await grassroots("reporting", "revoke", role, database=database)
    assert code == 0 and json.loads(out)["status"] == "revoked"
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        await asyncpg.connect(login_dsn(database, role, granted["password"]))


async def test_grant_again_updates_the_scope_and_the_password_from_a_file(
    database: Database, tmp_path: Path
) -> None:
    role = f"bi_{uuid.uuid4().hex[:8]}"
    secret = tmp_path / "password"
    secret.write_text("a-long-enough-password\n")
    args = ("reporting", "grant", role, "--password-file", str(secret))
    code, out, err = await grassroots(*args, "--jurisdiction", "341126101", database=database)
    assert code == 0, err
    assert "password" not in json.loads(out)
    code, out, _ = await grassroots(*args, "--jurisdiction", "341126102", database=database)
    assert code == 0 and json.loads(out)["status"] == "updated"
    conn = await asyncpg.connect(login_dsn(database, role, "a-long-enough-password"))
    try:
        codes = {r["code"] for r in await conn.fetch("select code from reporting.regions")}
        assert codes and all(c.startswith("341126102") for c in codes)
    finally:
        await conn.close()
    await grassroots("reporting", "revoke", role, database=database)


@pytest.mark.parametrize(
    ("role", "jurisdiction", "says"),
    [
        ("bi_unknown_region", "341126999", "no region 341126999"),
        ("hub_owner", "341126", "not pg_… or hub_…"),
        ("postgres", "341126", "is not a reporting login"),
        ("Robert'); drop table region; --", "341126", "lower-case letters"),
    ],
)
async def test_grant_refuses_bad_input_and_existing_roles(
    database: Database, role: str, jurisdiction: str, says: str
) -> None:
    code, out, err = await grassroots(
        "reporting", "grant", role, "--jurisdiction", jurisdiction, database=database
    )
    assert code == 1 and says in err and out == ""


async def test_client_allowlist_adds_lists_and_removes(database: Database) -> None:
    code, out, _ = await grassroots("client", "allowlist", "bi-tool", database=database)
    assert code == 0 and json.loads(out) == {"client": "bi-tool", "status": "added"}
    code, out, _ = await grassroots("client", "allowlist", "bi-tool", database=database)
    assert json.loads(out)["status"] == "unchanged"
    code, out, _ = await grassroots("client", "list", database=database)
    assert [c["client"] for c in json.loads(out)] == ["bi-tool"]
    code, out, _ = await grassroots("client", "unlist", "bi-tool", database=database)
    assert json.loads(out)["status"] == "removed"
    code, out, _ = await grassroots("client", "list", database=database)
    assert json.loads(out) == []


@pytest.mark.parametrize("role", ["hub_app", "postgres", "hub_owner", "no_such_login"])
async def test_revoke_drops_reporting_logins_only(database: Database, role: str) -> None:
    code, out, _ = await grassroots("reporting", "revoke", role, database=database)
    assert code == 0 and json.loads(out) == {"role": role, "status": "not found"}
    owner = await asyncpg.connect(database.owner_dsn)
    try:
        exists = await owner.fetchval("select count(*) from pg_roles where rolname = $1", role)
    finally:
        await owner.close()
    assert exists == (role != "no_such_login")


async def test_a_login_given_another_role_is_no_longer_taken_for_a_reporting_login(
    database: Database,
) -> None:
    role = f"bi_{uuid.uuid4().hex[:8]}"
    code, _, _ = await grassroots(
        "reporting", "grant", role, "--jurisdiction", "341126", database=database
    )
    assert code == 0
    owner = await asyncpg.connect(database.owner_dsn)
    try:
        await owner.execute(f"grant hub_runtime to {role}")
        code, _, err = await grassroots(
            "reporting", "grant", role, "--jurisdiction", "100000", database=database
        )
        assert code == 1 and "is not a reporting login" in err
        await owner.execute(f"revoke hub_runtime from {role}")
    finally:
        await owner.close()
    code, out, _ = await grassroots("reporting", "revoke", role, database=database)
    assert json.loads(out)["status"] == "revoked"
