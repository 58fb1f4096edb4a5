"""A SIGTERM at any moment of start-up stops what start-up started: `serve --demo` on an
empty folder is stopped while it creates the database, and, after taking over a PostgreSQL
left running by a hub that was killed, while it seeds — and each time no PostgreSQL is left
running in the folder.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.embedded import EmbeddedPostgres
from tests.scale.processes import HubProcess, hub_env, readyz, start_hub

MIGRATING = ("migrating",)
PREPARED = ("seeding demo data", "connecting", "ready")


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    # Outside pytest's 0700 folders, where the server's system user may reach it (as root).
    made = Path(tempfile.mkdtemp(prefix="hub-clean-"))
    yield made
    server = EmbeddedPostgres(made)
    if server.is_running():
        server.shutdown()
    shutil.rmtree(made, ignore_errors=True)


async def terminate_at(hub: HubProcess, phases: tuple[str, ...], within: float = 120) -> str:
    """SIGTERM once /readyz shows one of `phases`; the phase it was stopped in."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert hub.process.returncode is None, hub.output()[-2000:]
        answer = await readyz(hub)
        if answer is not None and answer[1]["checks"]["startup"] in phases:
            hub.process.terminate()
            return str(answer[1]["checks"]["startup"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached {phases}: {hub.output()[-2000:]}")


async def stopped_cleanly(hub: HubProcess, folder: Path) -> None:
    assert await asyncio.wait_for(hub.process.wait(), timeout=90) == 0, hub.output()[-2000:]
    assert not EmbeddedPostgres(folder).is_running(), "PostgreSQL left running"
    assert not (folder / "pg-started-by.pid").exists()


async def test_sigterm_at_each_moment_of_start_up_leaves_no_postgres(folder: Path) -> None:
    # The empty folder: SIGTERM while initdb and the first start are under way.
    hub = await start_hub(hub_env(folder), folder / "hub-0.log", "--demo")
    assert await terminate_at(hub, MIGRATING) == "migrating"
    await stopped_cleanly(hub, folder)
    # A PostgreSQL left running by a hub that was killed (SIGKILL: it never stopped it)...
    orphan = EmbeddedPostgres(folder)
    await asyncio.to_thread(orphan.start)
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    (folder / "pg-started-by.pid").write_text(str(gone.pid))
    # ...is taken over by the next start-up, which is stopped while it seeds the demo.
    # (`serve --workers N` runs the same start-up in its supervisor, and stops its database
    # after its workers: tests/scale/test_workers.py.)
    hub = await start_hub(hub_env(folder), folder / "hub-1.log", "--demo")
    await terminate_at(hub, PREPARED)
    await stopped_cleanly(hub, folder)
