"""The two database roles: the owner that migrates, and the runtime login that serves requests.

The runtime login is a member of `hub_runtime` (created by the first migration), owns
nothing, is not superuser and does not bypass row-level security.
"""

from __future__ import annotations

import asyncpg

RUNTIME_GROUP = "hub_runtime"


class UnsafeRuntimeRole(RuntimeError):
    """The runtime login could bypass row-level security; the hub refuses to serve."""


async def ensure_owner_and_database(
    superuser: asyncpg.Connection, owner: str, password: str, database: str
) -> None:
    """On the embedded server: the owner login and the hub's database."""
    if not await superuser.fetchval("select 1 from pg_roles where rolname = $1", owner):
        await superuser.execute(f'create role "{owner}" login createrole')
    await superuser.execute(f"alter role \"{owner}\" password '{_literal(password)}'")
    if not await superuser.fetchval("select 1 from pg_database where datname = $1", database):
        await superuser.execute(f'create database "{database}" owner "{owner}"')


async def ensure_runtime_login(owner: asyncpg.Connection, login: str, password: str) -> None:
    """Create (or re-password) the runtime login and make it a member of `hub_runtime`."""
    if not await owner.fetchval("select 1 from pg_roles where rolname = $1", login):
        await owner.execute(f'create role "{login}" login')
    await owner.execute(f"alter role \"{login}\" password '{_literal(password)}'")
    await owner.execute(f'grant "{RUNTIME_GROUP}" to "{login}"')


async def check_runtime_role(
    runtime: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy,
) -> None:
    """Raise unless the connected role is one that row-level security fully applies to."""
    row = await runtime.fetchrow(
        """
        select r.rolsuper, r.rolbypassrls,
               pg_has_role(current_user, $1, 'member') as member,
               exists (select 1 from pg_class c where c.relowner = r.oid
                       and c.relnamespace = 'public'::regnamespace) as owns_tables
        from pg_roles r where r.rolname = current_user
        """,
        RUNTIME_GROUP,
    )
    user = await runtime.fetchval("select current_user")
    if row is None or row["rolsuper"]:
        raise UnsafeRuntimeRole(f"runtime login {user!r} is a superuser")
    if row["rolbypassrls"]:
        raise UnsafeRuntimeRole(f"runtime login {user!r} bypasses row-level security")
    if row["owns_tables"]:
        raise UnsafeRuntimeRole(f"runtime login {user!r} owns tables, so RLS would not apply")
    if not row["member"]:
        raise UnsafeRuntimeRole(f"runtime login {user!r} is not a member of {RUNTIME_GROUP}")


def _literal(value: str) -> str:
    # Role names and passwords cannot be bind parameters in DDL; these come from our
    # own configuration, and quotes are doubled all the same.
    return value.replace("'", "''")
