"""Reporting logins made for a test and revoked after it."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import asyncpg
import pytest

from db import reporting
from db.setup import Database


def login_dsn(database: Database, role: str, password: str) -> str:
    return re.sub(r"//[^@]*@", f"//{role}:{quote(password, safe='')}@", database.owner_dsn)


class Logins:
    def __init__(self, owner: asyncpg.Connection, database: Database) -> None:
        self.owner = owner
        self.database = database
        self.made: list[str] = []

    async def connect(self, *codes: str) -> asyncpg.Connection:
        role = f"bi_{uuid.uuid4().hex[:10]}"
        password = reporting.new_password()
        await reporting.grant(self.owner, role, list(codes), password)
        self.made.append(role)
        return await asyncpg.connect(login_dsn(self.database, role, password))


@pytest.fixture
async def logins(owner: asyncpg.Connection, database: Database) -> AsyncIterator[Logins]:
    made = Logins(owner, database)
    yield made
    for role in made.made:
        await reporting.revoke(owner, role)
