"""`grassroots serve` as the Docker image runs it, minus Docker: a separate PostgreSQL reached
through `HUB_DATABASE_URL` with an owner login that is not a superuser, a runtime login the
hub makes itself, migrations and the demo seeded at start. Then what operations meet:
readiness while seeding, PostgreSQL restarting under load, and SIGTERM.

One hub process serves the whole module (seeding the demo takes a while); the last test
stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from db.embedded import EmbeddedPostgres
from server.auth import issue
from server.settings import Settings
from tests.conftest import SECRET

OWNER, OWNER_PASSWORD = "deployer", "deployer-password-for-tests"
RUNTIME_PASSWORD = "runtime-password-for-tests"
REGION = '{ region(code: "341126") { name children { totalCount } } }'
RECOVERY_BOUND_SECONDS = 15.0
SUBPROTOCOL = Subprotocol("graphql-transport-ws")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    url: str
    port: int
    process: asyncio.subprocess.Process
    postgres: EmbeddedPostgres
    data_dir: Path
    phases: list[dict[str, Any]] = field(default_factory=list)
    early: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # while seeding


async def wait_ready(deployment: Deployment, within: float) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            assert deployment.process.returncode is None, "the hub exited while starting"
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(deployment.url + "/readyz")
                body = response.json()
                if body not in deployment.phases:
                    deployment.phases.append(body)
                if body["checks"]["startup"] == "seeding demo data" and not deployment.early:
                    early = await client.post(deployment.url + "/graphql", json={"query": REGION})
                    deployment.early.append((early.status_code, early.json()))
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"not ready within {within} s: {deployment.phases[-3:]}")


@pytest.fixture(scope="module")
async def deployment(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Deployment]:
    folder = tmp_path_factory.mktemp("deployment")
    # Beside the conftest's server, in a folder the server's system user may reach.
    server_folder = Path(tempfile.mkdtemp(prefix="hub-deploy-"))
    postgres = EmbeddedPostgres(server_folder, tcp_port=free_port(), durable=False)
    await asyncio.to_thread(postgres.start)
    superuser = await asyncpg.connect(postgres.superuser_dsn())
    try:  # what a managed PostgreSQL gives: an owner that may create roles, not a superuser
        await superuser.execute(f"create role {OWNER} login createrole password '{OWNER_PASSWORD}'")
        await superuser.execute(f"create database hub owner {OWNER}")
    finally:
        await superuser.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("DATABASE_URL", None)
    env |= {
        "DATABASE_URL": f"postgresql://{OWNER}:{OWNER_PASSWORD}@127.0.0.1:{postgres.port}/hub",
        "HUB_RUNTIME_PASSWORD": RUNTIME_PASSWORD,
        "HUB_JWT_SECRET": SECRET,
        "HUB_ENV": "production",
        "HUB_DATA_DIR": str(folder / "hub-data"),
        "HUB_SHUTDOWN_TIMEOUT_SECONDS": "20",
        # The restart test keeps clients busy; rate limits have tests of their own.
        "HUB_RATE_LIMIT": "false",
    }
    log = (folder / "hub.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--demo",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    deployment = Deployment(
        f"http://127.0.0.1:{port}", port, process, postgres, folder / "hub-data"
    )
    try:
        await wait_ready(deployment, within=300)
        yield deployment
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
        await asyncio.to_thread(postgres.stop)
        shutil.rmtree(server_folder, ignore_errors=True)


def token(settings: Settings) -> str:
    return issue(settings, "operator", ["341126"], ["viewer"])


async def ask(client: httpx.AsyncClient, url: str, settings: Settings) -> httpx.Response:
    return await client.post(
        url + "/graphql",
        json={"query": REGION},
        headers={"authorization": f"Bearer {token(settings)}"},
    )


async def test_the_hub_starts_on_an_external_postgres_with_a_runtime_login_of_its_own(
    deployment: Deployment, settings: Settings
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await ask(client, deployment.url, settings)
    assert response.status_code == 200
    assert response.json()["data"]["region"] == {"name": "凤阳县", "children": {"totalCount": 18}}
    superuser = await asyncpg.connect(deployment.postgres.superuser_dsn("hub"))
    try:
        login = await superuser.fetchrow(
            """
            select r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
                   pg_has_role(r.oid, 'hub_runtime', 'member') as member,
                   (select count(*) from pg_class where relowner = r.oid)
                 + (select count(*) from pg_proc where proowner = r.oid)
                 + (select count(*) from pg_namespace where nspowner = r.oid) as owned
            from pg_roles r where r.rolname = 'hub_app'
            """
        )
        owner_is_superuser = await superuser.fetchval(
            "select rolsuper from pg_roles where rolname = $1", OWNER
        )
        serving_as = await superuser.fetch(
            "select distinct usename from pg_stat_activity where datname = 'hub'"
            " and application_name in ('grassroots-hub', 'hub-feed', 'hub-probe')"
        )
    finally:
        await superuser.close()
    assert login is not None and login["member"] and login["owned"] == 0
    assert not (login["rolsuper"] or login["rolbypassrls"] or login["rolcreaterole"])
    assert not login["rolcreatedb"] and owner_is_superuser is False
    assert {row["usename"] for row in serving_as} == {"hub_app"}
    assert not (deployment.data_dir / "pg").exists()  # no embedded server was started


async def test_a_start_up_refused_by_the_database_exits_1_with_one_line_saying_why(
    deployment: Deployment,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {
        "DATABASE_URL": f"postgresql://{OWNER}:wrong@127.0.0.1:{deployment.postgres.port}/hub",
        "HUB_RUNTIME_PASSWORD": RUNTIME_PASSWORD,
        "HUB_JWT_SECRET": SECRET,
        "HUB_DATA_DIR": str(deployment.data_dir),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(free_port()),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    last = err.decode().strip().splitlines()[-1]
    assert process.returncode == 1
    assert last == (
        "grassroots: start-up failed: InvalidPasswordError: "
        f'password authentication failed for user "{OWNER}"'
    )
    assert "Traceback" not in err.decode()


async def test_readyz_is_false_while_the_demo_is_seeded(deployment: Deployment) -> None:
    seeding = [p for p in deployment.phases if p["checks"]["startup"] == "seeding demo data"]
    assert seeding and all(p["ready"] is False for p in seeding)
    [(status, body)] = deployment.early  # /graphql meanwhile: try again later, not an error
    assert status == 503 and body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "starting (seeding demo data)" in body["errors"][0]["message"]
    assert deployment.phases[-1] == {
        "ready": True,
        "checks": {"startup": "ready", "database": "ok", "changeFeed": "listening"},
    }


async def restart_postgres(
    deployment: Deployment, client: httpx.AsyncClient, statuses: list[tuple[float, int]]
) -> tuple[httpx.Response, float | None]:
    """Stop PostgreSQL under load, start it again: readyz while down, and the seconds from
    the restart until readyz and every request answer again (None: not within the bound)."""
    await asyncio.sleep(1)
    await asyncio.to_thread(deployment.postgres.shutdown)
    await asyncio.sleep(3)
    down = await client.get(deployment.url + "/readyz")
    restarted = time.monotonic()
    await asyncio.to_thread(deployment.postgres.start)
    while time.monotonic() - restarted < RECOVERY_BOUND_SECONDS:
        ready = await client.get(deployment.url + "/readyz")
        answered = [s for at, s in statuses if at > time.monotonic() - 0.3]
        if ready.status_code == 200 and answered and all(s == 200 for s in answered):
            return down, time.monotonic() - restarted
        await asyncio.sleep(0.1)
    return down, None


async def test_requests_get_503_while_postgres_is_down_and_recover_by_themselves(
    deployment: Deployment, settings: Settings
) -> None:
    statuses: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def load(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                response = await ask(client, deployment.url, settings)
            except httpx.TransportError:
                statuses.append((time.monotonic(), 0))
            else:
                statuses.append((time.monotonic(), response.status_code))
                if response.status_code == 503:
                    error = response.json()["errors"][0]
                    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                    assert response.headers["retry-after"] == "2"
            await asyncio.sleep(0.02)

    async with httpx.AsyncClient(timeout=10) as client:
        workers = [asyncio.create_task(load(client)) for _ in range(4)]
        try:
            down, recovered = await restart_postgres(deployment, client, statuses)
        finally:
            stop.set()
            await asyncio.gather(*workers)
    assert down.status_code == 503 and down.json()["ready"] is False
    assert down.json()["checks"]["database"].startswith("unreachable")
    seen = {status for _, status in statuses}
    assert 503 in seen and 200 in seen and seen <= {200, 503}, seen
    assert recovered is not None, f"not recovered {RECOVERY_BOUND_SECONDS} s after the restart"
    print(f"recovered {recovered:.2f} s after PostgreSQL was started again")


SUBMIT = """mutation ($input: SubmitServiceRequestInput!) {
  submitServiceRequest(input: $input) { id } }"""
CHANGES = 'subscription { serviceRequestChanged(under: "341126") { action request { id } } }'


@contextlib.asynccontextmanager
async def subscribed(deployment: Deployment, bearer: str) -> AsyncIterator[Any]:
    url = deployment.url.replace("http", "ws") + "/graphql"
    async with connect(url, subprotocols=[SUBPROTOCOL]) as live:
        await live.send(json.dumps({"type": "connection_init", "payload": {"token": bearer}}))
        assert json.loads(await live.recv())["type"] == "connection_ack"
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": CHANGES}}
        await live.send(json.dumps(subscribe))
        yield live


async def test_subscriptions_end_with_1013_on_a_restart_and_hear_changes_again_after_it(
    deployment: Deployment, settings: Settings
) -> None:
    viewer = token(settings)
    clerk = issue(settings, "clerk", ["341126101001"], ["viewer", "editor"])
    async with subscribed(deployment, viewer) as before:
        await asyncio.sleep(0.5)
        await asyncio.to_thread(deployment.postgres.shutdown)
        await asyncio.to_thread(deployment.postgres.start)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(before.recv(), timeout=RECOVERY_BOUND_SECONDS)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    async with httpx.AsyncClient(timeout=10) as client:
        deadline = time.monotonic() + RECOVERY_BOUND_SECONDS
        while (await client.get(deployment.url + "/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "not ready again"
            await asyncio.sleep(0.1)
        async with subscribed(deployment, viewer) as after:
            await asyncio.sleep(0.5)
            given = {
                "regionCode": "341126101001",
                "category": "HEALTH",
                "channel": "HOTLINE",
                "title": "重启之后提交",
            }
            response = await client.post(
                deployment.url + "/graphql",
                json={"query": SUBMIT, "variables": {"input": given}},
                headers={"authorization": f"Bearer {clerk}"},
            )
            made = response.json()["data"]["submitServiceRequest"]
            heard = json.loads(await asyncio.wait_for(after.recv(), timeout=10))
    assert heard["type"] == "next"
    assert heard["payload"]["data"]["serviceRequestChanged"]["request"]["id"] == made["id"]


async def slow_post(
    port: int, body: bytes, bearer: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST whose body is only half sent: in flight until the rest follows."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n".encode()
        + b"authorization: Bearer "
        + bearer.encode()
        + b"\r\n\r\n"
        + body[: len(body) // 2]
    )
    await writer.drain()
    return reader, writer


async def test_sigterm_finishes_the_request_in_flight_and_closes_subscriptions_with_1001(
    deployment: Deployment, settings: Settings
) -> None:
    bearer = token(settings)
    body = json.dumps({"query": REGION}).encode()
    async with connect(
        deployment.url.replace("http", "ws") + "/graphql", subprotocols=[SUBPROTOCOL]
    ) as socket_:
        await socket_.send(json.dumps({"type": "connection_init", "payload": {"token": bearer}}))
        assert json.loads(await socket_.recv())["type"] == "connection_ack"
        await socket_.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "subscription { serviceRequestChanged { action } }"},
                }
            )
        )
        reader, writer = await slow_post(deployment.port, body, bearer)
        await asyncio.sleep(0.3)
        deployment.process.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket_.recv(), timeout=10)
        writer.write(body[len(body) // 2 :])
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=20)
        writer.close()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert json.loads(payload)["data"]["region"]["name"] == "凤阳县"
    assert await asyncio.wait_for(deployment.process.wait(), timeout=30) == 0
    with pytest.raises(OSError):  # and it no longer listens
        await asyncio.open_connection("127.0.0.1", deployment.port)
