"""A time limit the hub's own slowness causes is SERVICE_UNAVAILABLE with reason HUB_BUSY,
never reported as the database being down."""

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from db.setup import Database
from resolvers.errors import HubBusy, ServiceUnavailable
from resolvers.scope import Caller
from resolvers.session import RequestSession, seconds

CALLER = Caller("tester", (), scopes={"read": ("100000.34.3411.341126",)})


@pytest.fixture(scope="module")
async def pool(database: Database) -> AsyncIterator[asyncpg.Pool]:
    """The runtime pool, with PostgreSQL closing transactions left idle for 200 ms."""
    created = await asyncpg.create_pool(
        database.runtime_dsn,
        min_size=1,
        max_size=2,
        server_settings={"idle_in_transaction_session_timeout": "200"},
    )
    async with created:
        yield created


async def test_a_transaction_closed_while_python_held_the_loop_is_hub_busy(
    pool: asyncpg.Pool,
) -> None:
    session = RequestSession(pool, CALLER)
    await session.fetch("select 1")
    time.sleep(0.6)  # noqa: ASYNC251 - Python work holding the event loop, as on a huge result
    with pytest.raises(HubBusy) as raised:
        await session.fetch("select 1")
    with pytest.raises(HubBusy):  # the request's commit says the same, not "database down"
        await session.close(commit=True)
    assert raised.value.extensions == {
        "code": "SERVICE_UNAVAILABLE",
        "reason": "HUB_BUSY",
    }


async def test_a_connection_lost_without_idling_is_the_database_out_of_reach(
    pool: asyncpg.Pool,
) -> None:
    session = RequestSession(pool, CALLER)
    await session.fetch("select 1")
    with pytest.raises(ServiceUnavailable) as raised:
        await session.fetch("select pg_terminate_backend(pg_backend_pid())")
    with pytest.raises(ServiceUnavailable):
        await session.close(commit=True)
    assert not isinstance(raised.value, HubBusy)
    assert (raised.value.extensions or {})["reason"] == "DATABASE_UNAVAILABLE"


def test_time_settings_are_read_in_their_units() -> None:
    assert seconds("10s") == 10 and seconds("200ms") == 0.2 and seconds("1min") == 60
    assert seconds("0") is None and seconds("5000") == 5


async def test_a_statement_timeout_is_hub_busy_and_so_is_what_follows_it(
    pool: asyncpg.Pool,
) -> None:
    session = RequestSession(pool, CALLER)
    await session.execute("set local statement_timeout = 50")
    with pytest.raises(HubBusy) as raised:
        await session.fetch("select pg_sleep(1)")
    with pytest.raises(HubBusy):  # the transaction the timeout aborted
        await session.fetch("select 1")
    await session.close(commit=True)
    assert raised.value.extensions == {"code": "SERVICE_UNAVAILABLE", "reason": "HUB_BUSY"}
