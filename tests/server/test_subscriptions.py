"""Subscriptions over WebSocket (graphql-transport-ws) against real PostgreSQL: changes made
over HTTP reach the subscribers who may see them, as they commit, and nobody else.

The WebSocket is driven at the ASGI level, in the test's own event loop (Starlette's
TestClient runs the app in another thread and wants `httpx2`), through the whole app.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

import resolvers.changes
from db.setup import Database
from resolvers.changes import ChangeFeed
from server.app import create_app
from server.settings import Settings
from tests.conftest import Hub

TOWNSHIP = "341126101"
VILLAGE = "341126101001"
SIBLING_TOWNSHIP = "341126102"
SIBLING_VILLAGE = "341126102001"
PROTOCOL = "graphql-transport-ws"
CHANGES = """subscription ($under: String) { serviceRequestChanged(under: $under) {
  action kind label request { id reference status region { code } requester { name phone } } } }"""
SUBMIT = """mutation ($input: SubmitServiceRequestInput!) {
  submitServiceRequest(input: $input) { id reference } }"""
ACCEPT = "mutation ($id: ID!) { acceptServiceRequest(id: $id) { status } }"
WAIT = 5.0


class Socket:
    """A WebSocket client speaking to the ASGI app directly."""

    def __init__(self, app: Starlette, subprotocols: tuple[str, ...] = (PROTOCOL,)) -> None:
        self.app = app
        self.subprotocols = list(subprotocols)
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Socket:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"hub")],
            "subprotocols": self.subprotocols,
            "client": ("127.0.0.1", 50000),
            "server": ("hub", 80),
        }

        async def send(message: MutableMapping[str, Any]) -> None:
            await self.from_app.put(dict(message))

        self.task = asyncio.create_task(self.app(scope, self.to_app.get, send))
        await self.to_app.put({"type": "websocket.connect"})
        accepted = await self._message(WAIT)
        assert accepted["type"] == "websocket.accept", accepted
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self.task is not None
        await asyncio.wait_for(self.task, WAIT)

    async def _message(self, seconds: float) -> dict[str, Any]:
        return await asyncio.wait_for(self.from_app.get(), seconds)

    async def send(self, message: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive(self, seconds: float = WAIT) -> dict[str, Any]:
        message = await self._message(seconds)
        assert message["type"] == "websocket.send", message
        received: dict[str, Any] = json.loads(message["text"])
        return received

    async def closed(self, seconds: float = WAIT) -> tuple[int, str]:
        """The code and reason the server closed with (nothing else may come first)."""
        message = await self._message(seconds)
        assert message["type"] == "websocket.close", message
        return message["code"], message.get("reason", "")

    async def init(self, payload: dict[str, Any] | None) -> None:
        await self.send({"type": "connection_init", "payload": payload})

    async def subscribe(self, ident: str, variables: dict[str, Any] | None = None) -> None:
        payload = {"query": CHANGES, "variables": variables or {}}
        await self.send({"id": ident, "type": "subscribe", "payload": payload})

    async def change(self, ident: str = "1") -> dict[str, Any]:
        message = await self.receive()
        assert message["type"] == "next" and message["id"] == ident, message
        assert "errors" not in message["payload"], message
        change: dict[str, Any] = message["payload"]["data"]["serviceRequestChanged"]
        return change


@dataclass
class Live:
    app: Starlette
    hub: Hub
    database: Database

    @property
    def feed(self) -> ChangeFeed:
        feed: ChangeFeed = self.app.state.live.feed
        return feed

    def token(self, *codes: str, roles: tuple[str, ...] = ("viewer",), ttl: int = 3600) -> str:
        return self.hub.token(*codes, roles=roles, ttl=ttl)

    async def submit(self, village: str, phone: str = "13912345678") -> dict[str, str]:
        token = self.hub.token(village, roles=("viewer", "editor"), sub="clerk")
        given = {
            "regionCode": village,
            "category": "HEALTH",
            "channel": "HOTLINE",
            "title": "村卫生室缺少常用药",
            "requesterName": "李四",
            "requesterPhone": phone,
        }
        body = (await self.hub.post(SUBMIT, {"input": given}, token=token)).json()
        assert "errors" not in body, body
        made: dict[str, str] = body["data"]["submitServiceRequest"]
        return made

    async def accept(self, village: str, ident: str) -> None:
        token = self.hub.token(village, roles=("viewer", "editor"), sub="clerk")
        body = (await self.hub.post(ACCEPT, {"id": ident}, token=token)).json()
        assert body["data"]["acceptServiceRequest"]["status"] == "ACCEPTED", body


@pytest.fixture(scope="module")
async def live(database: Database, settings: Settings) -> AsyncIterator[Live]:
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield Live(app, Hub(client, settings), database)


async def until(condition: Callable[[], bool], seconds: float = WAIT) -> None:
    """Wait for a state of the server (not for time to pass)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


async def connect(live: Live, token: str) -> Socket:
    socket = await Socket(live.app).__aenter__()
    await socket.init({"Authorization": f"Bearer {token}"})
    assert await socket.receive() == {"type": "connection_ack"}
    return socket


async def subscribed(
    live: Live, token: str, variables: dict[str, Any] | None = None, ident: str = "1"
) -> Socket:
    """A socket with one subscription, listening once this returns."""
    before = live.feed.subscribers
    socket = await connect(live, token)
    await socket.subscribe(ident, variables)
    await until(lambda: live.feed.subscribers == before + 1)
    return socket


async def test_a_township_hears_a_submission_then_its_acceptance(live: Live) -> None:
    socket = await subscribed(live, live.token(TOWNSHIP))
    try:
        made = await live.submit(VILLAGE)
        change = await socket.change()
        assert change["action"] == "submit"
        assert (change["kind"], change["label"]) == ("SUBMIT", "提交")
        request = change["request"]
        assert request["id"] == made["id"] and request["reference"] == made["reference"]
        assert request["status"] == "SUBMITTED" and request["region"]["code"] == VILLAGE
        # Without `pii` the requester is masked, as everywhere else.
        assert request["requester"] == {"name": "李*", "phone": "139****5678"}

        await live.accept(VILLAGE, made["id"])
        change = await socket.change()
        assert change["action"] == "accept"
        assert (change["kind"], change["label"]) == ("ACCEPT", "受理")
        assert change["request"]["id"] == made["id"]
        assert change["request"]["status"] == "ACCEPTED"
    finally:
        await socket.__aexit__()
    await until(lambda: live.feed.subscribers == 0)


async def test_each_subscriber_reads_under_its_own_scope_and_pii_reads_are_audited(
    live: Live, owner: asyncpg.Connection
) -> None:
    plain = await subscribed(live, live.token(TOWNSHIP))
    pii = await subscribed(live, live.token(TOWNSHIP, roles=("viewer", "pii")))
    try:
        made = await live.submit(VILLAGE, phone="13800001111")
        masked = (await plain.change())["request"]["requester"]
        clear = (await pii.change())["request"]["requester"]
        assert masked == {"name": "李*", "phone": "138****1111"}
        assert clear == {"name": "李四", "phone": "13800001111"}
    finally:
        await plain.__aexit__()
        await pii.__aexit__()
    # The pii subscriber's delivery is audited like any read of unmasked personal data.
    audited = await owner.fetch(
        "select a.actor, a.region_code from audit_log a join service_request t "
        "on t.id = any(a.record_ids) "
        "where a.operation = 'read_personal_data' and t.reference = $1 order by a.region_code",
        made["reference"],
    )
    # At the grant and at the village that held it (resolvers.audit.place).
    assert [(row["actor"], row["region_code"]) for row in audited] == [
        ("tester", TOWNSHIP),
        ("tester", VILLAGE),
    ]


async def test_a_change_in_a_sibling_township_never_arrives(live: Live) -> None:
    socket = await subscribed(live, live.token(TOWNSHIP))
    try:
        await live.submit(SIBLING_VILLAGE)  # notified to every subscriber, visible to none here
        mine = await live.submit(VILLAGE)
        # Ids are handled in commit order: had the sibling's change got through, as an
        # event or even an empty one, it would come first.
        change = await socket.change()
        assert change["request"]["reference"] == mine["reference"]
        assert change["action"] == "submit"
    finally:
        await socket.__aexit__()


async def test_under_narrows_the_changes_within_the_jurisdiction(live: Live) -> None:
    county = live.token("341126")
    socket = await subscribed(live, county, {"under": TOWNSHIP})
    try:
        await live.submit(SIBLING_VILLAGE)
        mine = await live.submit(VILLAGE)
        change = await socket.change()
        assert change["request"]["reference"] == mine["reference"]
    finally:
        await socket.__aexit__()


async def test_an_under_outside_the_jurisdiction_hears_nothing(live: Live) -> None:
    before = live.feed.subscribers
    socket = await connect(live, live.token(TOWNSHIP))
    witness = await subscribed(live, live.token(TOWNSHIP))
    try:
        await socket.subscribe("1", {"under": SIBLING_TOWNSHIP})
        await socket.subscribe("2", {"under": "341125"})  # another county
        # Refused quietly, as a root list answers an empty page: no error, no listening.
        made = await live.submit(SIBLING_VILLAGE)
        mine = await live.submit(VILLAGE)
        assert (await witness.change())["request"]["reference"] == mine["reference"]
        assert live.feed.subscribers == before + 1  # the witness only
        with pytest.raises(TimeoutError):
            await socket.receive(seconds=0.3)
        assert made["reference"] != mine["reference"]
    finally:
        await socket.__aexit__()
        await witness.__aexit__()


async def test_a_request_logged_twice_for_one_version_is_delivered_once(live: Live) -> None:
    made = await live.submit(VILLAGE)
    socket = await subscribed(live, live.token(TOWNSHIP))
    try:
        owner = await asyncpg.connect(live.database.owner_dsn)
        try:
            for _ in range(2):  # two transactions, two wake-ups
                await owner.execute(
                    "with logged as (insert into change_log (request_id, path) "
                    "select id, path from service_request where reference = $1 returning 1) "
                    "select pg_notify('service_request_changed', '') from logged",
                    made["reference"],
                )
        finally:
            await owner.close()
        later = await live.submit(VILLAGE)
        assert (await socket.change())["request"]["reference"] == made["reference"]
        assert (await socket.change())["request"]["reference"] == later["reference"]
    finally:
        await socket.__aexit__()


async def test_a_malformed_under_is_bad_user_input_on_subscribe(live: Live) -> None:
    socket = await connect(live, live.token(TOWNSHIP))
    try:
        await socket.subscribe("1", {"under": "34112610"})
        message = await socket.receive()
        assert message["type"] == "error" and message["id"] == "1"
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "under" in message["payload"][0]["message"]
    finally:
        await socket.__aexit__()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda token: {"Authorization": f"Bearer {token}"}, id="Authorization"),
        pytest.param(lambda token: {"authorization": f"Bearer {token}"}, id="authorization"),
        pytest.param(lambda token: {"token": token}, id="token"),
    ],
)
async def test_the_token_comes_in_connection_init(
    live: Live, payload: Callable[[str], dict[str, Any]]
) -> None:
    async with Socket(live.app) as socket:
        await socket.init(payload(live.token(TOWNSHIP)))
        assert await socket.receive() == {"type": "connection_ack"}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(None, id="no-payload"),
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="not-bearer"),
        pytest.param({"token": "not.a.jwt"}, id="garbage"),
        pytest.param({"token": "forged"}, id="forged-signature"),
        pytest.param({"token": "expired"}, id="expired"),
        pytest.param({"token": "unknown-region"}, id="unknown-jurisdiction"),
    ],
)
async def test_connection_init_without_a_valid_token_closes_4401(
    live: Live, payload: dict[str, Any] | None
) -> None:
    if payload == {"token": "forged"}:
        token = live.token(TOWNSHIP)
        head, body, _ = token.split(".")
        payload = {"token": f"{head}.{body}.{'A' * 43}"}
    elif payload == {"token": "expired"}:
        payload = {"token": live.token(TOWNSHIP, ttl=-120)}
    elif payload == {"token": "unknown-region"}:
        payload = {"token": live.token("341126999")}
    async with Socket(live.app) as socket:
        await socket.init(payload)
        code, reason = await socket.closed()
        assert code == 4401 and reason


async def test_subscribing_before_connection_init_closes_4401(live: Live) -> None:
    async with Socket(live.app) as socket:
        await socket.subscribe("1")
        assert (await socket.closed())[0] == 4401


async def test_the_socket_closes_4403_when_the_token_expires(live: Live) -> None:
    socket = await subscribed(live, live.token(TOWNSHIP, ttl=2))
    try:
        started = time.monotonic()
        code, reason = await socket.closed()
        assert code == 4403 and "expired" in reason
        assert time.monotonic() - started < 3
        await until(lambda: live.feed.subscribers == 0)  # its subscription ended with it
    finally:
        await socket.__aexit__()


async def test_only_subscriptions_are_served_over_the_socket_and_only_there(live: Live) -> None:
    socket = await connect(live, live.token(TOWNSHIP))
    try:
        await socket.send(
            {"id": "q", "type": "subscribe", "payload": {"query": "{ viewer { subject } }"}}
        )
        message = await socket.receive()
        assert message["type"] == "error" and message["id"] == "q"
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    finally:
        await socket.__aexit__()
    response = await live.hub.post(CHANGES, token=live.token(TOWNSHIP))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "WebSocket" in error["message"]
    # Naming an operation the document lacks is the same kind of mistake (it used to be a 500).
    response = await live.hub.client.post(
        "/graphql",
        json={"query": "query A { viewer { subject } }", "operationName": "B"},
        headers={"authorization": f"Bearer {live.token(TOWNSHIP)}"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_another_subprotocol_is_refused(live: Live) -> None:
    async with Socket(live.app, subprotocols=("graphql-ws",)) as socket:
        assert (await socket.closed())[0] == 4406


async def test_a_subscriber_that_falls_behind_is_closed_and_others_go_on(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resolvers.changes, "QUEUE_SIZE", 1)
    slow = await subscribed(live, live.token(TOWNSHIP))
    monkeypatch.undo()
    steady = await subscribed(live, live.token(TOWNSHIP))
    try:
        owner = await asyncpg.connect(live.database.owner_dsn)
        try:
            # One commit, many changes at once.
            async with owner.transaction():
                logged = await owner.fetchval(
                    "with logged as (insert into change_log (request_id, path) "
                    "select id, path from service_request where path <@ $1::ltree limit 50 "
                    "returning 1) select count(*) from logged",
                    "100000.34.3411.341126.341126101",
                )
                await owner.execute("select pg_notify('service_request_changed', '')")
        finally:
            await owner.close()
        assert logged > 1
        code, reason = await slow.closed()
        assert code == 1013 and "subscribe again" in reason
        for _ in range(logged):
            await steady.change()
        mine = await live.submit(VILLAGE)
        assert (await steady.change())["request"]["reference"] == mine["reference"]
    finally:
        await slow.__aexit__()
        await steady.__aexit__()


async def test_the_feed_reconnects_when_its_connection_drops(live: Live) -> None:
    server = live.database.server
    if server is None:
        pytest.skip("needs the embedded server's superuser to end a backend")
    socket = await subscribed(live, live.token(TOWNSHIP))
    connections = live.feed.connections
    owner = await asyncpg.connect(live.database.owner_dsn)
    try:
        name = await owner.fetchval("select current_database()")
    finally:
        await owner.close()
    superuser = await asyncpg.connect(server.superuser_dsn())
    try:
        ended = await superuser.fetch(
            "select pg_terminate_backend(pid) from (select pid from pg_stat_activity "
            "where application_name = 'hub-feed' and datname = $1 offset 0) feed",
            name,
        )
        assert [row[0] for row in ended] == [True]
    finally:
        await superuser.close()
    try:
        # Changes may have committed while nobody listened: the subscriber must resync.
        code, _ = await socket.closed()
        assert code == 1013
    finally:
        await socket.__aexit__()
    await until(lambda: live.feed.connections == connections + 1)
    again = await subscribed(live, live.token(TOWNSHIP))
    try:
        mine = await live.submit(VILLAGE)
        assert (await again.change())["request"]["reference"] == mine["reference"]
    finally:
        await again.__aexit__()
