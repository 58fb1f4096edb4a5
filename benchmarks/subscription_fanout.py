"""Subscriptions fanned out: what one caller's many subscriptions cost everyone else.

    .venv/bin/python benchmarks/subscription_fanout.py [--sockets N] [--per-socket N] [--writes N]
        [--sockets-cap N]

The script starts its own embedded PostgreSQL in a temporary folder, migrates it and seeds
the demo county 341126, and runs the hub in this process. One township viewer opens N
sockets with M subscriptions each (by default 20 × 32, the reproduction of issue 12; the
hub may refuse sockets beyond `HUB_WS_MAX_SOCKETS_PER_SUBJECT`, and the script counts what
it got; `--sockets-cap` sets that setting). Then another user submits W requests in the
township, one after another, over HTTP, while a county viewer asks a small query in a
loop. It prints, as JSON: the seconds the W writes took and until every subscription had
heard every write, and the county query's p50 and p95 meanwhile; and the same with nobody
subscribed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db import demo, divisions, embedded  # noqa: E402
from db.roles import ensure_owner_and_database  # noqa: E402
from db.setup import Database, migrate_and_grant, start_embedded  # noqa: E402
from server.app import create_app  # noqa: E402
from server.auth import issue  # noqa: E402
from server.settings import RateLimits, load_settings  # noqa: E402

TOWNSHIP = "341126101"
VILLAGE = "341126101001"
COUNTY = "341126"
SECRET = "benchmark-secret-that-is-long-enough-for-hs256"
SUBMIT = """mutation ($input: SubmitServiceRequestInput!) {
  submitServiceRequest(input: $input) { id } }"""
SMALL = '{ region(code: "341126") { name children(first: 5) { totalCount } } }'
CHANGES = "subscription { serviceRequestChanged { action request { id status } } }"


async def _prepare(folder: Path) -> Database:
    db = start_embedded(folder, durable=False)
    assert db.server is not None
    credentials = db.server.credentials
    superuser = await asyncpg.connect(db.server.superuser_dsn())
    try:
        await ensure_owner_and_database(
            superuser, embedded.OWNER, credentials.owner, embedded.DATABASE
        )
    finally:
        await superuser.close()
    await migrate_and_grant(db.owner_dsn, (embedded.RUNTIME, credentials.runtime))
    owner = await asyncpg.connect(db.owner_dsn)
    try:
        await divisions.import_divisions(owner, divisions.DEMO_DIVISIONS)
        await demo.seed_demo(owner)
        await owner.execute("vacuum analyze")
    finally:
        await owner.close()
    return db


class Socket:
    """A graphql-transport-ws client speaking to the ASGI app directly."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.heard = 0
        self.closed: int | None = None

    async def open(self, token: str, subscriptions: int) -> bool:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"hub")],
            "subprotocols": ["graphql-transport-ws"],
            "client": ("127.0.0.1", 50000),
            "server": ("hub", 80),
        }
        self.task = asyncio.create_task(self.app(scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "websocket.connect"})
        assert (await self.from_app.get())["type"] == "websocket.accept"
        await self._send({"type": "connection_init", "payload": {"token": token}})
        answer = await self.from_app.get()
        if answer["type"] != "websocket.send":
            self.closed = answer.get("code")
            return False
        for n in range(subscriptions):
            await self._send({"id": str(n), "type": "subscribe", "payload": {"query": CHANGES}})
        self.reader = asyncio.create_task(self._read())
        return True

    async def _send(self, message: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def _read(self) -> None:
        while True:
            message = await self.from_app.get()
            if message["type"] != "websocket.send":
                return
            if json.loads(message["text"])["type"] == "next":
                self.heard += 1

    async def close(self) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 10)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


async def _writes_and_queries(
    client: httpx.AsyncClient, clerk: str, county: str, writes: int
) -> tuple[float, list[float], float]:
    """Seconds for the writes, the county query's latencies meanwhile, and when done."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def queries() -> None:
        while not done.is_set():
            started = time.perf_counter()
            response = await client.post(
                "/graphql", json={"query": SMALL}, headers={"authorization": f"Bearer {county}"}
            )
            assert response.status_code == 200, response.text
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    loop = asyncio.create_task(queries())
    started = time.perf_counter()
    for n in range(writes):
        given = {
            "regionCode": VILLAGE,
            "category": "HEALTH",
            "channel": "HOTLINE",
            "title": f"基准测试 {n}",
        }
        response = await client.post(
            "/graphql",
            json={"query": SUBMIT, "variables": {"input": given}},
            headers={"authorization": f"Bearer {clerk}"},
        )
        assert "errors" not in response.json(), response.text
    seconds = time.perf_counter() - started
    done.set()
    await loop
    return seconds, latencies, started


async def run(
    folder: Path, sockets: int, per_socket: int, writes: int, cap: int | None
) -> dict[str, Any]:
    db = await _prepare(folder)
    settings = load_settings(
        {
            "HUB_ENV": "development",
            "HUB_JWT_SECRET": SECRET,
            "HUB_DATA_DIR": str(folder),
            "HUB_ACCESS_LOG": "false",
            **({"HUB_WS_MAX_SOCKETS_PER_SUBJECT": str(cap)} if cap else {}),
        }
    )
    # The clerk and the county viewer are kept busy on purpose: no rate limits.
    settings = dataclasses.replace(settings, rate_limits=RateLimits(enabled=False))
    try:
        app = create_app(settings, database=db, background_start=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
                viewer = issue(settings, "watcher", (TOWNSHIP,), ("viewer",), ttl=3600)
                clerk = issue(settings, "clerk", (VILLAGE,), ("viewer", "editor"), ttl=3600)
                county = issue(settings, "county", (COUNTY,), ("viewer",), ttl=3600)
                quiet_seconds, quiet, _ = await _writes_and_queries(client, clerk, county, writes)
                opened: list[Socket] = []
                refused: list[int | None] = []
                for _ in range(sockets):
                    socket = Socket(app)
                    if await socket.open(viewer, per_socket):
                        opened.append(socket)
                    else:
                        refused.append(socket.closed)
                await asyncio.sleep(2)  # let every subscription start
                expected = len(opened) * per_socket * writes
                busy_seconds, busy, started = await _writes_and_queries(
                    client, clerk, county, writes
                )
                while sum(s.heard for s in opened) < expected:
                    if time.perf_counter() - started > 300:
                        break
                    await asyncio.sleep(0.01)
                delivered_seconds = time.perf_counter() - started
                heard = sum(s.heard for s in opened)
                for socket in opened:
                    await socket.close()
    finally:
        db.stop()
    return {
        "sockets_asked": sockets,
        "sockets_open": len(opened),
        "sockets_refused_close_codes": sorted(set(refused)),
        "subscriptions": len(opened) * per_socket,
        "writes": writes,
        "nobody_subscribed": {
            "writes_seconds": round(quiet_seconds, 2),
            "county_query_p50_ms": _ms(quiet, 0.5),
            "county_query_p95_ms": _ms(quiet, 0.95),
        },
        "subscribed": {
            "writes_seconds": round(busy_seconds, 2),
            "every_change_heard_seconds": round(delivered_seconds, 2),
            "changes_heard": heard,
            "changes_expected": expected,
            "county_query_p50_ms": _ms(busy, 0.5),
            "county_query_p95_ms": _ms(busy, 0.95),
            "county_queries": len(busy),
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str]) -> int:
    args = argv[1:]

    def number(flag: str, default: int) -> int:
        return int(args[args.index(flag) + 1]) if flag in args else default

    sockets, per_socket, writes = (
        number("--sockets", 20),
        number("--per-socket", 32),
        number("--writes", 20),
    )
    with tempfile.TemporaryDirectory(prefix="hub-bench-fanout-") as folder:
        cap = number("--sockets-cap", 0) or None
        result = asyncio.run(run(Path(folder), sockets, per_socket, writes, cap))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
