"""The door × credential matrix: every entry point answers each credential as the README's
refusal table says, through the one admission function (`server/admission.py`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from starlette.applications import Starlette

from db import allowlist
from db.revocations import revoke
from db.setup import Database
from server.app import create_app
from server.auth import GATEWAY_HEADER, issue
from server.cli import ingest_as
from server.settings import RateLimits, Settings
from tests.conftest import SECRET
from tests.server.test_subscriptions import Socket

COUNTY = "341126"
GATEWAY = "gateway-secret-that-is-long-enough-to-be-accepted"
LISTED = "listed-matrix-tool"
BUDGET = 6
QUERY = "{ viewer { subject } }"
BATCH = '{"type": "organization", "externalId": "m-1", "regionCode": "341126", "kind": "VOLUNTEER_TEAM", "name": "志愿服务队"}'  # noqa: E501

# (HTTP status, extensions.code, extensions.reason, WebSocket close code, CLI exit code)
Answer = tuple[int, str, str, int, int]
TABLE: dict[str, Answer] = {
    "no token": (401, "UNAUTHENTICATED", "TOKEN_MISSING", 4401, 3),
    "malformed": (401, "UNAUTHENTICATED", "TOKEN_MALFORMED", 4401, 3),
    "wrong signature": (401, "UNAUTHENTICATED", "TOKEN_INVALID", 4401, 3),
    "expired": (401, "UNAUTHENTICATED", "TOKEN_EXPIRED", 4401, 3),
    "revoked": (401, "UNAUTHENTICATED", "TOKEN_REVOKED", 4401, 3),
    "unknown jurisdiction": (401, "UNAUTHENTICATED", "JURISDICTION_UNKNOWN", 4401, 3),
    "pii alone": (403, "FORBIDDEN", "NO_READING_ROLE", 4401, 3),
    "allow-listed client": (403, "FORBIDDEN", "REPORT_REQUIRED", 4401, 3),
    "gateway alone": (401, "UNAUTHENTICATED", "SERVICE_ONLY", 4401, 3),
    "wrong gateway beside a valid token": (401, "UNAUTHENTICATED", "GATEWAY_INVALID", 4401, 3),
    "over the rate limit": (429, "RATE_LIMITED", "RATE_LIMITED", 1013, 3),
}


@dataclass
class Matrix:
    app: Starlette
    client: httpx.AsyncClient
    settings: Settings
    database: Database
    owner: asyncpg.Connection

    def token(self, sub: str, roles: tuple[str, ...] = ("viewer", "editor"), **extra: Any) -> str:
        return issue(self.settings, sub, [COUNTY], roles, **extra)


@pytest.fixture(scope="module")
async def matrix(database: Database, settings: Settings) -> AsyncIterator[Matrix]:
    budgets = RateLimits(county=BUDGET, anonymous=10_000)
    hardened = dataclasses.replace(settings, gateway_secret=GATEWAY, rate_limits=budgets)
    app = create_app(hardened, database=database)
    owner = await asyncpg.connect(database.owner_dsn)
    await allowlist.add(owner, LISTED)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield Matrix(app, client, hardened, database, owner)
    await owner.close()


async def credential(m: Matrix, case: str, door: str) -> dict[str, str]:
    """The headers of `case`, made fresh for each door (a subject per door and case)."""
    sub = f"{door}-{case}".replace(" ", "-")
    bearer = {"authorization": f"Bearer {m.token(sub)}"}
    if case == "no token":
        return {}
    if case == "malformed":
        return {"authorization": "Bearer not-a-jwt"}
    if case == "wrong signature":
        forged = jwt.encode(
            {"sub": sub, "exp": int(time.time()) + 60, "jti": "x", "jurisdictions": [COUNTY]},
            SECRET + "-not",
            algorithm="HS256",
        )
        return {"authorization": f"Bearer {forged}"}
    if case == "expired":
        return {"authorization": f"Bearer {m.token(sub, ttl=-120)}"}
    if case == "revoked":
        token = bearer["authorization"].split()[1]
        claims = jwt.decode(token, options={"verify_signature": False})
        await revoke(m.owner, claims["jti"], dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), "t")
        await m.app.state.services.revocations.reload()
        return bearer
    if case == "unknown jurisdiction":
        unknown = issue(m.settings, sub, ["349999"], ("viewer",))
        return {"authorization": f"Bearer {unknown}"}
    if case == "pii alone":
        return {"authorization": f"Bearer {m.token(sub, roles=('pii',))}"}
    if case == "allow-listed client":
        return {"authorization": f"Bearer {m.token(sub, client=LISTED)}"}
    if case == "gateway alone":
        return {GATEWAY_HEADER: GATEWAY}
    if case == "wrong gateway beside a valid token":
        return {**bearer, GATEWAY_HEADER: GATEWAY + "-wrong"}
    assert case == "over the rate limit"
    for _ in range(BUDGET):  # spend the subject's budget on GraphQL: it is one budget
        await m.client.post("/graphql", json={"query": QUERY}, headers=bearer)
    return bearer


def _error(response: httpx.Response) -> tuple[int, str, str]:
    extensions = response.json()["errors"][0]["extensions"]
    return response.status_code, extensions["code"], extensions.get("reason", "")


async def graphql(m: Matrix, headers: dict[str, str]) -> tuple[int, str, str]:
    return _error(await m.client.post("/graphql", json={"query": QUERY}, headers=headers))


async def batched(m: Matrix, headers: dict[str, str]) -> tuple[int, str, str]:
    body = [{"query": QUERY}, {"query": QUERY}]
    return _error(await m.client.post("/graphql", json=body, headers=headers))


async def graphql_get(m: Matrix, headers: dict[str, str]) -> tuple[int, str, str]:
    return _error(await m.client.get("/graphql", params={"query": QUERY}, headers=headers))


async def registration(m: Matrix, headers: dict[str, str]) -> tuple[int, str, str]:
    """An automatic persisted query registration: the document sent with its hash."""
    digest = hashlib.sha256(QUERY.encode()).hexdigest()
    body = {"query": QUERY, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    return _error(await m.client.post("/graphql", json=body, headers=headers))


async def exports(m: Matrix, headers: dict[str, str]) -> tuple[int, str, str]:
    return _error(await m.client.get("/exports/organizations.csv", headers=headers))


async def reports(m: Matrix, headers: dict[str, str]) -> tuple[int, str, str]:
    return _error(await m.client.get("/reports", headers=headers))


REPORT_FILE = "/reports/monthly-rates-by-child.v2.json"
REPORT_PERIOD = {"region": COUNTY, "from": "2026-01-01", "to": "2026-01-31"}


async def report_files(m: Matrix, headers: dict[str, str]) -> tuple[int, str, str]:
    return _error(await m.client.get(REPORT_FILE, params=REPORT_PERIOD, headers=headers))


HTTP_DOORS: dict[str, Callable[[Matrix, dict[str, str]], Awaitable[tuple[int, str, str]]]] = {
    "graphql": graphql,
    "graphql batch": batched,
    "graphql get": graphql_get,
    "persisted registration": registration,
    "exports": exports,
    "reports": reports,
    "report files": report_files,
}


@pytest.mark.parametrize("door", list(HTTP_DOORS))
@pytest.mark.parametrize("case", list(TABLE))
async def test_every_http_door_answers_each_credential_as_the_table_says(
    matrix: Matrix, door: str, case: str
) -> None:
    headers = await credential(matrix, case, door)
    status, code, reason, _, _ = TABLE[case]
    if door == "reports" and case == "allow-listed client":
        # The report listing is what an allow-listed tool may read.
        response = await matrix.client.get("/reports", headers=headers)
        assert response.status_code == 200 and response.json()["reports"]
        return
    if door == "report files" and case == "allow-listed client":
        # So is a report as a file.
        response = await matrix.client.get(REPORT_FILE, params=REPORT_PERIOD, headers=headers)
        assert response.status_code == 200 and response.json()["data"]["region"]
        return
    if door == "persisted registration" and case == "allow-listed client":
        # An allow-listed tool runs registered documents only: it may not register any.
        status, code, reason = 403, "FORBIDDEN", "REGISTRATION_REFUSED"
    assert await HTTP_DOORS[door](matrix, headers) == (status, code, reason)


# The test socket sends no headers on its upgrade request, so the gateway cases are HTTP's.
SOCKET_CASES = [c for c in TABLE if c not in ("allow-listed client", "gateway alone")]
SOCKET_CASES.remove("wrong gateway beside a valid token")
SOCKET_CASES.remove("over the rate limit")  # connection_init counts no budget; subscribe does


@pytest.mark.parametrize("case", SOCKET_CASES)
async def test_websocket_connection_init_closes_as_the_table_says(
    matrix: Matrix, case: str
) -> None:
    headers = await credential(matrix, case, "socket")
    _, _, reason, close, _ = TABLE[case]
    async with Socket(matrix.app) as socket:
        payload = {"Authorization": headers["authorization"]} if "authorization" in headers else {}
        await socket.init(payload)
        closed, said = await socket.closed()
    assert closed == close
    assert said.startswith(reason), said


@pytest.mark.parametrize("case", ["allow-listed client", "over the rate limit", "revoked"])
async def test_every_subscribe_passes_the_door_again(matrix: Matrix, case: str) -> None:
    sub = f"subscribe-{case}".replace(" ", "-")
    token = matrix.token(sub, client=LISTED if case == "allow-listed client" else None)
    _, code, reason, _, _ = TABLE[case]
    async with Socket(matrix.app) as socket:
        await socket.init({"Authorization": f"Bearer {token}"})
        assert (await socket.receive())["type"] == "connection_ack"
        if case == "over the rate limit":
            for _ in range(BUDGET):
                await matrix.client.post(
                    "/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
                )
        if case == "revoked":
            claims = jwt.decode(token, options={"verify_signature": False})
            await revoke(matrix.owner, claims["jti"], None, "t")
            await matrix.app.state.services.revocations.reload()
            closed, said = await socket.closed()
            assert (closed, said.split(";")[0]) == (4401, "The token has been revoked")
            return
        await socket.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": "subscription { serviceRequestChanged { action } }"},
            }
        )
        refused = await socket.receive()
    assert refused["type"] == "error" and refused["id"] == "1"
    extensions = refused["payload"][0]["extensions"]
    assert (extensions["code"], extensions.get("reason", "")) == (code, reason)


@pytest.mark.parametrize(
    "case",
    # the CLI sends no gateway header, and runs in its own process: no hub's rate budget
    [c for c in TABLE if "gateway" not in c and c != "over the rate limit"],
)
async def test_the_ingest_cli_answers_as_the_table_says(matrix: Matrix, case: str) -> None:
    headers = await credential(matrix, case, "cli")
    token = headers.get("authorization", "Bearer ").split(" ", 1)[1]
    _, code, reason, _, exit_code = TABLE[case]
    pool = matrix.app.state.services.pool
    exited, printed = await ingest_as(
        pool, matrix.settings, token, "matrix", "jsonl", BATCH, matrix.database.runtime_dsn
    )
    extensions = printed["errors"][0]["extensions"]
    assert (exited, extensions["code"], extensions.get("reason", "")) == (exit_code, code, reason)


async def test_429_wins_over_401_for_a_client_address_out_of_budget(
    database: Database, settings: Settings
) -> None:
    budgets = RateLimits(anonymous=2)
    app = create_app(dataclasses.replace(settings, rate_limits=budgets), database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            answers = [
                (await client.get("/exports/organizations.csv")).status_code for _ in range(4)
            ]
    assert answers == [401, 401, 429, 429]


async def test_service_sdl_answers_the_gateway_only_in_production(
    matrix: Matrix, database: Database
) -> None:
    production = dataclasses.replace(matrix.settings, env="production")
    app = create_app(production, database=database)
    sdl = {"query": "query Q { ...F } fragment F on Query { _service { sdl } }"}
    bearer = {"authorization": f"Bearer {matrix.token('sdl-reader')}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            refused = (await client.post("/graphql", json=sdl, headers=bearer)).json()
            gateway = {**bearer, GATEWAY_HEADER: GATEWAY}
            answered = (await client.post("/graphql", json=sdl, headers=gateway)).json()
    assert refused["errors"][0]["extensions"]["reason"] == "GATEWAY_ONLY"
    assert "type Query" in answered["data"]["_service"]["sdl"]
