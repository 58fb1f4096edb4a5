"""Subscriptions within limits: sockets per subject, subscriptions per socket, the rate limit,
and one read of each change per group of subscribers with identical scopes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from db.setup import Database
from server.app import create_app
from server.settings import RateLimits, Settings
from tests.conftest import Hub
from tests.server.test_subscriptions import (
    SIBLING_TOWNSHIP,
    TOWNSHIP,
    VILLAGE,
    Live,
    Socket,
    connect,
    until,
)

SUBSCRIPTIONS_PER_SOCKET = 3
VILLAGE_BUDGET = 3
# Statements a group runs for a change it sees: the log, the requests, their histories.
READ_STATEMENTS = 3


@pytest.fixture(scope="module")
async def live(database: Database, settings: Settings) -> AsyncIterator[Live]:
    limited = dataclasses.replace(
        settings,
        ws_max_subscriptions_per_socket=SUBSCRIPTIONS_PER_SOCKET,
        rate_limits=RateLimits(village=VILLAGE_BUDGET),
    )
    app = create_app(limited, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield Live(app, Hub(client, limited), database)


def token(live: Live, *codes: str, sub: str, roles: tuple[str, ...] = ("viewer",)) -> str:
    return live.hub.token(*codes, roles=roles, sub=sub)


async def subscribe(live: Live, socket: Socket, ident: str) -> None:
    before = live.feed.subscribers
    await socket.subscribe(ident)
    await until(lambda: live.feed.subscribers == before + 1)


async def test_the_default_caps_are_five_sockets_and_thirty_two_subscriptions(
    settings: Settings,
) -> None:
    assert settings.ws_max_sockets_per_subject == 5
    assert settings.ws_max_subscriptions_per_socket == 32


async def test_a_sixth_socket_of_one_subject_is_closed_4430_at_connection_init(
    live: Live,
) -> None:
    sockets = [await connect(live, token(live, TOWNSHIP, sub="hoarder")) for _ in range(5)]
    try:
        async with Socket(live.app) as sixth:
            await sixth.init({"token": token(live, TOWNSHIP, sub="hoarder")})
            code, reason = await sixth.closed()
            assert code == 4430 and "Too many sockets" in reason
        # Another subject is not held back by this one.
        other = await connect(live, token(live, TOWNSHIP, sub="neighbour"))
        await other.__aexit__()
        # Once one socket closes, the subject may open another.
        await sockets.pop().__aexit__()
        sockets.append(await connect(live, token(live, TOWNSHIP, sub="hoarder")))
    finally:
        for socket in sockets:
            await socket.__aexit__()


async def test_a_subscription_beyond_the_socket_cap_is_refused_and_the_socket_stays_open(
    live: Live,
) -> None:
    socket = await connect(live, token(live, TOWNSHIP, sub="eager"))
    try:
        for ident in range(SUBSCRIPTIONS_PER_SOCKET):
            await subscribe(live, socket, str(ident))
        await socket.subscribe("one-too-many")
        message = await socket.receive()
        assert message["type"] == "error" and message["id"] == "one-too-many"
        extensions = message["payload"][0]["extensions"]
        assert extensions == {"code": "BAD_USER_INPUT", "reason": "TOO_MANY_SUBSCRIPTIONS"}
        before = live.feed.subscribers
        await socket.send({"id": "0", "type": "complete"})
        await until(lambda: live.feed.subscribers == before - 1)
        await subscribe(live, socket, "again")
    finally:
        await socket.__aexit__()


async def test_subscription_starts_count_against_the_callers_rate_limit(live: Live) -> None:
    village = token(live, VILLAGE, sub="counted")
    first, second = await connect(live, village), await connect(live, village)
    try:
        for ident in range(VILLAGE_BUDGET):
            await subscribe(live, first, str(ident))
        await second.subscribe("over")
        message = await second.receive()
        assert message["type"] == "error" and message["id"] == "over"
        error: dict[str, Any] = message["payload"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
    finally:
        await first.__aexit__()
        await second.__aexit__()


async def test_a_change_is_read_once_for_every_subscriber_with_the_same_scopes(
    live: Live,
) -> None:
    # Two subjects, three sockets, nine subscriptions: one group.
    sockets = [await connect(live, token(live, TOWNSHIP, sub=sub)) for sub in ("ann", "ann", "bob")]
    try:
        for number, socket in enumerate(sockets):
            for ident in range(SUBSCRIPTIONS_PER_SOCKET):
                await subscribe(live, socket, f"{number}-{ident}")
        assert live.feed.groups == 1
        before = live.feed.statements
        made = await live.submit(VILLAGE)
        for socket in sockets:
            for _ in range(SUBSCRIPTIONS_PER_SOCKET):
                change = await socket.receive()
                assert change["type"] == "next"
                request = change["payload"]["data"]["serviceRequestChanged"]["request"]
                assert request["reference"] == made["reference"]
        assert live.feed.statements - before == READ_STATEMENTS
        # Another scope is another group: one more read, not one per subscriber.
        sibling = await connect(live, token(live, SIBLING_TOWNSHIP, sub="cat"))
        sockets.append(sibling)
        await subscribe(live, sibling, "s")
        assert live.feed.groups == 2
        before = live.feed.statements
        mine = await live.submit(VILLAGE)
        for socket in sockets[:3]:
            for _ in range(SUBSCRIPTIONS_PER_SOCKET):
                request = (await socket.receive())["payload"]["data"]["serviceRequestChanged"]
                assert request["request"]["reference"] == mine["reference"]
        # The sibling's group reads the log and sees nothing of it: one statement.
        await until(lambda: live.feed.statements - before == READ_STATEMENTS + 1)
        with pytest.raises(TimeoutError):
            await sibling.receive(seconds=0.3)
    finally:
        for socket in sockets:
            await socket.__aexit__()
    await until(lambda: live.feed.groups == 0)


async def test_every_subject_that_receives_a_change_unmasked_is_audited(
    live: Live, owner: asyncpg.Connection
) -> None:
    roles = ("viewer", "pii")
    dee = await connect(live, token(live, TOWNSHIP, sub="dee", roles=roles))
    eve = await connect(live, token(live, TOWNSHIP, sub="eve", roles=roles))
    masked = await connect(live, token(live, TOWNSHIP, sub="fay"))
    try:
        for socket in (dee, eve, masked):
            await subscribe(live, socket, "1")
        assert live.feed.groups == 2  # the pii subscribers read together, apart from fay
        made = await live.submit(VILLAGE, phone="13700002222")
        for socket in (dee, eve):
            assert (await socket.change())["request"]["requester"]["phone"] == "13700002222"
        assert (await masked.change())["request"]["requester"]["phone"] == "137****2222"
    finally:
        for socket in (dee, eve, masked):
            await socket.__aexit__()
    audited = await owner.fetch(
        "select a.actor from audit_log a join service_request t on t.id = any(a.record_ids) "
        "where a.operation = 'read_personal_data' and t.reference = $1 order by a.actor",
        made["reference"],
    )
    # placed at the grant and at the child region holding the row: two entries each
    assert sorted({row["actor"] for row in audited}) == ["dee", "eve"]
