"""A heavy lane worker (`python -m server.lane_worker`), started by `server/lane.py`.

It reads a `Start` frame, builds what executing needs (pool, schema, region directory,
cursor codec) as the app does, says it is ready, then runs each `Job` frame as its own task
through `server/graphql.py`'s `_execute` — the same limits (heavy operations still take
turns at this process's gate), the same `RequestSession` under the caller the door
admitted — and writes the answer back as JSON. It ends when its stdin closes, once the jobs
in flight have answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import pickle
import signal
import sys
from typing import Any, BinaryIO

import orjson

from db import pool as db_pool
from resolvers.context import Context
from resolvers.errors import Internal, ServiceUnavailable
from resolvers.ids import CursorCodec
from resolvers.regions import RegionDirectory
from resolvers.session import RequestSession
from schema.build import build_schema
from server.lane import FROM_CHILD, READY, TO_CHILD, Job, Start
from server.services import Services
from server.tracing import tracing_extensions

log = logging.getLogger("grassroots.lane")

# A lane worker runs heavy operations one at a time: one connection, and one spare.
POOL_SIZE = 2
# A heavy statement may run this long here (and a transaction idle twice as long): the
# lane's connections are its own, so a slow one holds up no light request, and a worker
# yielding the CPU read the `nodes` benchmark's 49,000 rows past the 5 s default under load.
STATEMENT_TIMEOUT_MS = 30_000


def _stamped(answer: dict[str, Any], request_id: str) -> list[str]:
    """Puts the request id in every error (as `server/graphql.py`'s `_stamp`); their codes."""
    codes = []
    for error in answer.get("errors", ()):
        extensions = error.setdefault("extensions", {})
        extensions["requestId"] = request_id
        codes.append(str(extensions.get("code", "INTERNAL")))
    return codes


class Worker:
    def __init__(self, services: Services, out: asyncio.StreamWriter) -> None:
        self.services = services
        self.out = out

    def send(self, ident: int, meta: tuple[Any, ...], body: bytes = b"") -> None:
        packed = pickle.dumps((ident, *meta), protocol=pickle.HIGHEST_PROTOCOL)
        self.out.write(FROM_CHILD.pack(len(packed), len(body)) + packed + body)

    async def run(self, ident: int, job: Job) -> None:
        from server.graphql import _execute  # the serving process's own execute path

        services = self.services
        session = RequestSession(services.pool, job.caller)
        context = Context(job.caller, session, services.cursors, services.directory, now=job.now)
        try:
            answer, malformed = await _execute(
                services, context, job.query, job.variables, job.operation_name
            )
        except ServiceUnavailable as error:  # the commit itself could not reach the database
            answer, malformed = {"errors": [error.formatted], "data": None}, False
        except Exception:
            log.exception("unexpected error in the heavy lane")
            answer, malformed = {"errors": [Internal().formatted], "data": None}, False
        codes = _stamped(answer, job.request_id)
        body = orjson.dumps(answer)
        self.send(ident, (codes, "data" in answer, malformed, session.statements), body)
        await self.out.drain()


async def _frames(source: asyncio.StreamReader) -> Any:
    (length,) = TO_CHILD.unpack(await source.readexactly(TO_CHILD.size))
    return pickle.loads(await source.readexactly(length))


async def main(frames_in: BinaryIO, frames_out: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    source = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(source), frames_in)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, frames_out
    )
    out = asyncio.StreamWriter(transport, protocol, None, loop)
    start: Start = await _frames(source)
    settings = start.settings
    # Where cores are short, the serving process (small requests, /healthz) goes first.
    os.nice(settings.heavy_niceness)
    pool = await db_pool.create_pool(
        start.runtime_dsn,
        min_size=1,
        max_size=POOL_SIZE,
        statement_timeout_ms=max(settings.statement_timeout_ms, STATEMENT_TIMEOUT_MS),
    )
    schema = build_schema(
        production=settings.production and not settings.graphiql,
        extensions=tracing_extensions(settings),
    )
    services = Services(
        settings=settings,
        schema=schema,
        pool=pool,
        directory=RegionDirectory(pool),
        cursors=CursorCodec(settings.jwt_secret),
    )
    worker = Worker(services, out)
    gc.collect()
    gc.freeze()  # as `server/serve.py` settles the serving process's heap
    gc.set_threshold(50_000, 20, 10)
    worker.send(READY, ((), False, False, 0))
    await out.drain()
    running: set[asyncio.Task[None]] = set()
    try:
        while True:
            try:
                ident, job = await _frames(source)
            except asyncio.IncompleteReadError:
                break  # stdin closed: the hub is stopping
            task = asyncio.create_task(worker.run(ident, job))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pool.close(), 5)
        transport.close()


def run() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    # The hub ends its workers by closing their stdin; a Ctrl-C meant for the hub is not theirs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Frames go on the stdout the hub reads; anything else printed goes to stderr.
    frames_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    frames_in = os.fdopen(os.dup(0), "rb", buffering=0)
    asyncio.run(main(frames_in, frames_out))


if __name__ == "__main__":
    run()
