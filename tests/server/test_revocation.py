"""`grassroots token revoke`: a running hub refuses the token from then on, over HTTP and
WebSocket, and every other token goes on working."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import jwt
import pytest

from db.setup import Database
from server.app import create_app
from server.settings import Settings
from tests.conftest import SECRET, Hub
from tests.server.test_cli import grassroots
from tests.server.test_subscriptions import Live, Socket, until

QUERY = "{ viewer { subject } }"


@pytest.fixture(scope="module")
async def live(database: Database, settings: Settings) -> AsyncIterator[Live]:
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield Live(app, Hub(client, settings), database)


def jti(token: str) -> str:
    return str(jwt.decode(token, SECRET, algorithms=["HS256"])["jti"])


async def answer(hub: Hub, token: str) -> tuple[int, str | None, str | None]:
    response = await hub.post(QUERY, token=token)
    errors = response.json().get("errors")
    if not errors:
        return response.status_code, None, None
    return response.status_code, errors[0]["extensions"]["code"], errors[0]["message"]


async def test_a_running_hub_refuses_a_token_right_after_it_is_revoked(live: Live) -> None:
    hub = live.hub
    doomed, other = hub.token("341126", sub="lost-laptop"), hub.token("341126", sub="lost-laptop")
    assert (await answer(hub, doomed))[0] == 200

    code, out, err = await grassroots(
        "token", "revoke", "--token", doomed, "--reason", "laptop lost", database=live.database
    )
    assert code == 0, err
    printed = json.loads(out)
    assert printed["jti"] == jti(doomed) and printed["revokedAt"] and printed["expiresAt"]

    status, error_code, message = await answer(hub, doomed)
    assert (status, error_code) == (401, "UNAUTHENTICATED") and message and "revoked" in message
    # Another token of the same subject is another jti.
    assert (await answer(hub, other))[0] == 200


async def test_revoking_by_jti_keeps_the_revocation_until_the_given_time(live: Live) -> None:
    hub = live.hub
    token = hub.token("341126101", sub="by-jti")
    until_time = "2099-01-01T00:00:00+08:00"
    code, out, _ = await grassroots(
        "token", "revoke", jti(token), "--until", until_time, database=live.database
    )
    assert code == 0 and json.loads(out)["expiresAt"] == until_time
    assert (await answer(hub, token))[:2] == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        ((), "jti"),
        (("--token", "not-a-jwt"), "not a JWT"),
        (("some-jti", "--until", "2099-01-01T00:00:00"), "offset"),
        (("some-jti", "--until", "next week"), "ISO 8601"),
        (("x" * 201,), "jti"),
    ],
)
async def test_revoke_refuses_what_it_cannot_use(
    database: Database, args: tuple[str, ...], complaint: str
) -> None:
    code, _, err = await grassroots("token", "revoke", *args, database=database)
    assert code == 2 and complaint in err


async def test_a_revoked_token_cannot_open_a_socket(live: Live) -> None:
    token = live.token("341126")
    await grassroots("token", "revoke", jti(token), database=live.database)
    async with Socket(live.app) as socket:
        await socket.init({"Authorization": f"Bearer {token}"})
        code, reason = await socket.closed()
    assert code == 4401 and "revoked" in reason


async def test_an_open_socket_closes_when_its_token_is_revoked(live: Live) -> None:
    token, kept = live.token("341126"), live.token("341126")
    doomed_socket = await Socket(live.app).__aenter__()
    kept_socket = await Socket(live.app).__aenter__()
    try:
        for socket, credential in ((doomed_socket, token), (kept_socket, kept)):
            await socket.init({"Authorization": f"Bearer {credential}"})
            assert await socket.receive() == {"type": "connection_ack"}
        await kept_socket.subscribe("1")
        await doomed_socket.subscribe("1")
        await until(lambda: live.feed.subscribers == 2)

        code, _, err = await grassroots("token", "revoke", jti(token), database=live.database)
        assert code == 0, err
        closed, reason = await doomed_socket.closed()
        assert closed == 4401 and "revoked" in reason
        await until(lambda: live.feed.subscribers == 1)
        # The other socket still hears changes.
        made = await live.submit("341126101001")
        assert (await kept_socket.change())["request"]["id"] == made["id"]
    finally:
        await kept_socket.__aexit__()
        await doomed_socket.__aexit__()


async def test_a_token_without_a_jti_is_refused(live: Live) -> None:
    claims = {
        "sub": "no-jti",
        "exp": int(time.time()) + 600,
        "jurisdictions": ["341126"],
        "roles": ["viewer"],
    }
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    status, code, message = await answer(live.hub, token)
    assert (status, code) == (401, "UNAUTHENTICATED") and message and "`jti`" in message


async def test_a_revocation_missed_by_the_listener_is_found_by_the_reload(live: Live) -> None:
    token = live.hub.token("341126", sub="missed")
    owner = await asyncpg.connect(live.database.owner_dsn)
    try:
        # Written without the NOTIFY that `revoke_token` sends.
        await owner.execute("insert into revoked_token (jti) values ($1)", jti(token))
    finally:
        await owner.close()
    assert (await answer(live.hub, token))[0] == 200
    await live.app.state.services.revocations.reload()
    assert (await answer(live.hub, token))[:2] == (401, "UNAUTHENTICATED")


async def test_the_revoked_count_is_a_metric(live: Live) -> None:
    await grassroots("token", "revoke", str(uuid.uuid4()), database=live.database)
    revocations = live.app.state.services.revocations
    metrics = (await live.hub.client.get("/metrics")).text
    line = next(x for x in metrics.splitlines() if x.startswith("hub_revoked_tokens "))
    assert float(line.split()[1]) == len(revocations) >= 1
