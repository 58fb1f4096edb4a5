"""Row-level security is the backstop: even SQL without a WHERE clause sees only the scope."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from db.pool import connect
from db.roles import UnsafeRuntimeRole, check_runtime_role
from db.setup import Database

TABLES = ["organization", "service_request", "participation_event", "resolution"]
TOWNSHIP = "341126101"
TOWNSHIP_PATH = "100000.34.3411.341126.341126101"


@pytest.fixture
async def runtime(database: Database) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(database.runtime_dsn)
    yield conn
    await conn.close()


@pytest.mark.parametrize("table", TABLES)
async def test_a_query_without_where_returns_only_rows_in_scope(
    runtime: asyncpg.Connection, owner: asyncpg.Connection, table: str
) -> None:
    expected = await owner.fetchval(
        f"select count(*) from {table} where region_code like $1", TOWNSHIP + "%"
    )
    total = await owner.fetchval(f"select count(*) from {table}")
    assert 0 < expected < total
    async with runtime.transaction():
        await runtime.execute(
            "select set_config('hub.read_scope', $1, true)", "{" + TOWNSHIP_PATH + "}"
        )
        assert await runtime.fetchval(f"select count(*) from {table}") == expected


@pytest.mark.parametrize(
    "setting", [None, "", "{}", '{""}'], ids=["unset", "empty", "empty-array", "empty-path"]
)
@pytest.mark.parametrize("table", [*TABLES, "region"])
async def test_a_missing_or_empty_scope_admits_nothing(
    runtime: asyncpg.Connection, table: str, setting: str | None
) -> None:
    async with runtime.transaction():
        if setting is not None:
            await runtime.execute("select set_config('hub.read_scope', $1, true)", setting)
        assert await runtime.fetchval(f"select count(*) from {table}") == 0


async def test_the_scope_dies_with_its_transaction(runtime: asyncpg.Connection) -> None:
    async with runtime.transaction():
        await runtime.execute("select set_config('hub.read_scope', '{100000}', true)")
        assert await runtime.fetchval("select count(*) from service_request") > 0
    assert await runtime.fetchval("select count(*) from service_request") == 0


async def test_regions_show_the_scope_and_its_ancestors_only(runtime: asyncpg.Connection) -> None:
    async with runtime.transaction():
        await runtime.execute(
            "select set_config('hub.read_scope', $1, true)", "{" + TOWNSHIP_PATH + "}"
        )
        codes = {r["code"] for r in await runtime.fetch("select code from region")}
    assert {"100000", "34", "3411", "341126", TOWNSHIP} <= codes
    assert all(c.startswith(TOWNSHIP) or TOWNSHIP.startswith(c) or c == "100000" for c in codes)
    assert "341126102" not in codes and "341125" not in codes


async def test_writes_outside_the_editor_scope_are_refused(runtime: asyncpg.Connection) -> None:
    async with runtime.transaction():
        await runtime.execute(
            "select set_config('hub.read_scope', '{100000}', true), "
            "set_config('hub.editor_scope', $1, true)",
            "{" + TOWNSHIP_PATH + "}",
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute(
                "insert into organization (region_code, path, kind, name) "
                "values ('341126102', '', 'VOLUNTEER_TEAM', 'x')"
            )


async def test_the_runtime_role_cannot_delete_or_disable_security(
    runtime: asyncpg.Connection,
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await runtime.execute("delete from service_request")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await runtime.execute("alter table service_request disable row level security")


async def test_the_runtime_role_passes_the_safety_check(runtime: asyncpg.Connection) -> None:
    await check_runtime_role(runtime)


async def test_the_owner_is_refused_as_a_runtime_role(owner: asyncpg.Connection) -> None:
    with pytest.raises(UnsafeRuntimeRole, match="owns tables"):
        await check_runtime_role(owner)


async def test_a_superuser_is_refused_as_a_runtime_role(database: Database) -> None:
    assert database.server is not None
    conn = await asyncpg.connect(database.server.superuser_dsn())
    try:
        with pytest.raises(UnsafeRuntimeRole, match="superuser"):
            await check_runtime_role(conn)
    finally:
        await conn.close()


@pytest.mark.parametrize("column", ["source", "external_id", "imported_version", "region_code"])
async def test_the_runtime_role_cannot_rewrite_what_ingestion_and_history_rely_on(
    runtime: asyncpg.Connection, column: str
) -> None:
    async with runtime.transaction():
        await runtime.execute(
            "select set_config('hub.read_scope', '{100000}', true), "
            "set_config('hub.editor_scope', '{100000}', true)"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute(f"update service_request set {column} = {column} where false")


async def test_a_path_given_by_the_runtime_role_is_replaced_by_its_regions(
    runtime: asyncpg.Connection,
) -> None:
    async with runtime.transaction():
        await runtime.execute(
            "select set_config('hub.read_scope', $1, true), set_config('hub.editor_scope', $1, "
            "true)",
            "{" + TOWNSHIP_PATH + "}",
        )
        path = await runtime.fetchval(
            "insert into organization (region_code, kind, name) "
            "values ($1, 'VOLUNTEER_TEAM', 'x') returning path::text",
            TOWNSHIP,
        )
        assert path == TOWNSHIP_PATH
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute(
                "insert into organization (region_code, path, kind, name) "
                "values ($1, '100000.11', 'VOLUNTEER_TEAM', 'x')",
                TOWNSHIP,
            )
