"""Reporting logins: PostgreSQL roles that read the `reporting` views of their jurisdictions.

The login and its scope are written by `reporting_grant` (db/migrations/0010_reporting.sql)
as the owner. The password reaches the server only as a SCRAM-SHA-256 verifier, so it
appears in no statement, log or `pg_stat_activity` row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import asyncpg

SCRAM_ITERATIONS = 4096

# name: reporting-grant — create or update the login and its scope; 'created' or 'updated'.
GRANT = "select reporting_grant($1, $2::text[], $3)"
# name: reporting-revoke — drop the login and its scope; whether there was one.
REVOKE = "select reporting_revoke($1)"
# name: reporting-list — every reporting login of this database with its jurisdictions.
LIST = """
select s.role_name::text as role, s.jurisdictions, s.granted_at,
       coalesce(r.rolcanlogin, false) as can_login
from reporting_scope s left join pg_roles r on r.rolname = s.role_name
order by s.role_name
"""


class ReportingError(ValueError):
    """A reporting login cannot be granted as asked; the message says why."""


@dataclass(frozen=True)
class Granted:
    role: str
    status: str
    jurisdictions: tuple[str, ...]


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802, RFC 7677)."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


async def grant(
    owner: asyncpg.Connection, role: str, jurisdictions: list[str], password: str
) -> Granted:
    if len(password) < 12:
        raise ReportingError("a reporting password has at least 12 characters")
    try:
        async with owner.transaction():
            status = await owner.fetchval(GRANT, role, jurisdictions, scram_verifier(password))
    except (
        asyncpg.InvalidParameterValueError,
        asyncpg.ForeignKeyViolationError,
        asyncpg.DuplicateObjectError,
    ) as error:
        raise ReportingError(str(error)) from None
    return Granted(role, str(status), tuple(sorted(set(jurisdictions))))


async def revoke(owner: asyncpg.Connection, role: str) -> bool:
    async with owner.transaction():
        return bool(await owner.fetchval(REVOKE, role))


async def logins(owner: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in await owner.fetch(LIST)]
