"""Hub processes as an operator starts them (`python -m server.cli serve …`), and a real
`redis-server`, for the scale-out tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from db.setup import Database
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@dataclass
class HubProcess:
    url: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def hub_env(folder: Path, database: Database | None = None, **extra: str) -> dict[str, str]:
    """A clean environment: the test database as an external one (no migrations to wait for)
    unless `database` is None (the embedded server in `folder`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("DATABASE_URL", None)
    env |= {
        "HUB_JWT_SECRET": SECRET,
        "HUB_DATA_DIR": str(folder),
        "HUB_ACCESS_LOG": "false",
        "PYTHONPATH": str(ROOT),
    }
    if database is not None:
        env |= {
            "HUB_DATABASE_URL": database.owner_dsn,
            "HUB_RUNTIME_DATABASE_URL": database.runtime_dsn,
        }
    return env | extra


async def start_hub(env: dict[str, str], log: Path, *args: str) -> HubProcess:
    port = free_port()
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(port),
            *args,
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=out,
        )
    return HubProcess(f"http://127.0.0.1:{port}", port, process, log)


async def readyz(hub: HubProcess) -> tuple[int, dict[str, Any]] | None:
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            response = await client.get(hub.url + "/readyz")
        except httpx.TransportError:
            return None
        return response.status_code, response.json()


async def wait_ready(hub: HubProcess, within: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert hub.process.returncode is None, f"the hub exited: {hub.output()[-2000:]}"
        answer = await readyz(hub)
        if answer is not None and answer[0] == 200:
            return answer[1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"not ready within {within} s: {answer}")


async def stop(hub: HubProcess, within: float = 30) -> int:
    if hub.process.returncode is None:
        hub.process.terminate()
    try:
        return await asyncio.wait_for(hub.process.wait(), timeout=within)
    except TimeoutError:
        hub.process.kill()
        await hub.process.wait()
        raise


@contextlib.asynccontextmanager
async def running_hub(env: dict[str, str], log: Path, *args: str) -> AsyncIterator[HubProcess]:
    hub = await start_hub(env, log, *args)
    try:
        await wait_ready(hub)
        yield hub
    finally:
        if hub.process.returncode is None:
            hub.process.kill()
            await hub.process.wait()


@dataclass
class Redis:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def start(self) -> None:
        self.process = _redis_process(self.port)


def _redis_process(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    assert binary is not None
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process
        time.sleep(0.05)
    process.kill()
    raise AssertionError("redis-server did not start")


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    """A real redis-server; without one, skipped saying why (under CI: failed)."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (apt-get install -y redis-server)"
        if under_ci():
            pytest.fail(f"{reason}; CI is set, so this fails instead of skipping", pytrace=False)
        pytest.skip(reason)
    port = free_port()
    server = Redis(f"redis://127.0.0.1:{port}/0", port, _redis_process(port))
    yield server
    if server.process.poll() is None:
        server.stop()


async def clear_of_the_minute_edge(needed: float = 15) -> None:
    """Wait, if need be, so the next `needed` seconds lie in one minute window. The sliding
    window counter weighs the previous minute's count and rounds it down, so a flood that
    crosses a minute boundary may get one request more per process than the budget."""
    left = 60 - time.time() % 60
    if left < needed:
        await asyncio.sleep(left + 0.2)
