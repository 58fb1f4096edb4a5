"""The heavy lane: heavy queries run in child processes, off the serving process's loop.

One hub process serves every caller on one event loop, and Python holds one core at a time
(the GIL): a heavy query's resolver wake-ups, list completion and encoding held the loop for
seconds, and `/healthz` and small queries waited behind them. So an operation the door has
admitted and `schema/limits.py` has measured as heavy (cost ≥ `HEAVY_COST`) and that is a
query is handed to a lane worker: a child process (`server/lane_worker.py`) with its own
event loop, a small pool and the same schema. It gets the admitted caller as the door made
it (never a token to check again), the document, variables, operation name, request id and
the request's clock; it runs the same execute path (`server/graphql.py`'s `_execute`, the
same limits, gate and `RequestSession`) and sends back the answer already encoded as JSON,
with its error codes and statement count. The serving process copies those bytes into the
response without decoding them.

Frames are length-prefixed on the child's stdin and stdout: `>I` and a pickle to the child;
`>II` (meta, body lengths), a pickle of the meta and the JSON body back. Pickles cross only
between the hub and its own child.

A worker that dies fails what it was running with 503 `SERVICE_UNAVAILABLE` / `HUB_BUSY`;
the next heavy query starts a new one. On shutdown the lane closes the children's stdin,
lets them finish and exit, and kills any that linger.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import os
import pickle
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from resolvers.errors import HubBusy
from resolvers.scope import Caller
from server.settings import Settings

log = logging.getLogger("grassroots.lane")

TO_CHILD = struct.Struct(">I")
FROM_CHILD = struct.Struct(">II")
# The job id of the frame a worker sends once it is ready.
READY = 0
# How long a worker may take to start (import, schema, pool), and to exit once asked.
START_SECONDS = 60.0
STOP_SECONDS = 10.0
# The folder holding the `server` package, so the child runs this very code.
CODE_ROOT = str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True)
class Job:
    """An admitted heavy query, as the serving process hands it to a worker."""

    caller: Caller
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    request_id: str
    now: dt.datetime


@dataclass(frozen=True)
class Start:
    """The first frame a worker reads: what it needs to build its services."""

    settings: Settings
    runtime_dsn: str


@dataclass(frozen=True)
class Answer:
    """One operation's answer from a worker: its JSON (request ids already in its errors),
    the codes of its errors in order, whether it has `data`, whether the request itself was
    malformed, and the statements it ran."""

    body: bytes
    codes: tuple[str, ...]
    has_data: bool
    malformed: bool
    statements: int

    def summary(self) -> dict[str, Any]:
        """What the serving process inspects of an answer (status, codes), without decoding
        the body."""
        summary: dict[str, Any] = {}
        if self.codes:
            summary["errors"] = [{"extensions": {"code": code}} for code in self.codes]
        if self.has_data:
            summary["data"] = None
        return summary

    def fragment(self) -> orjson.Fragment:
        return orjson.Fragment(self.body)


def busy_answer(request_id: str) -> Answer:
    """A heavy query whose worker died or could not start: 503 `HUB_BUSY`."""
    error: dict[str, Any] = {**HubBusy().formatted}
    error["extensions"] = {**error.get("extensions", {}), "requestId": request_id}
    body = orjson.dumps({"errors": [error], "data": None})
    return Answer(body, (HubBusy.code,), True, False, 0)


class LaneWorker:
    """One child process and the answers it owes."""

    def __init__(self, start: Start) -> None:
        self._start = start
        self.process: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[Answer]] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None

    @property
    def load(self) -> int:
        return len(self._pending)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def run(self, job: Job) -> Answer:
        if self._starting is None or (self._starting.done() and self.process is None):
            self._starting = asyncio.create_task(self._spawn(), name="lane-start")
        await asyncio.shield(self._starting)  # raises what starting raised
        process = self.process
        if process is None or process.stdin is None:
            raise ConnectionError("the lane worker is not running")
        ident = next(self._ids)
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[ident] = answer
        try:
            payload = pickle.dumps((ident, job), protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.write(TO_CHILD.pack(len(payload)) + payload)
            await process.stdin.drain()
            return await answer
        finally:
            self._pending.pop(ident, None)

    async def _spawn(self) -> None:
        env = {**os.environ}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (CODE_ROOT, env.get("PYTHONPATH", "")) if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.lane_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=2**20,
        )
        try:
            assert process.stdin is not None and process.stdout is not None
            payload = pickle.dumps(self._start, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.write(TO_CHILD.pack(len(payload)) + payload)
            await process.stdin.drain()
            ident, _ = await asyncio.wait_for(_read_frame(process.stdout), START_SECONDS)
            if ident != READY:
                raise ConnectionError("the lane worker sent no ready frame")
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            self._starting = None
            raise
        self.process = process
        self._reader = asyncio.create_task(self._read(process), name="lane-reader")
        log.info("heavy lane worker %s started", process.pid)

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while True:
                ident, answer = await _read_frame(process.stdout)
                waiting = self._pending.get(ident)
                if waiting is not None and not waiting.done() and answer is not None:
                    waiting.set_result(answer)
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError):
            pass
        finally:
            code = await process.wait()
            if self.process is process:
                self.process = None
                self._starting = None
            lost = ConnectionError(f"the lane worker exited ({code})")
            for waiting in list(self._pending.values()):
                if not waiting.done():
                    waiting.set_exception(lost)
            if code != 0:
                log.error("heavy lane worker %s exited with %s", process.pid, code)

    async def stop(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(BaseException):
                await self._starting
        process = self.process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # end of jobs: the worker finishes what it runs and exits
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await self._reader


async def _read_frame(stream: asyncio.StreamReader) -> tuple[int, Answer | None]:
    meta_length, body_length = FROM_CHILD.unpack(await stream.readexactly(FROM_CHILD.size))
    ident, codes, has_data, malformed, statements = pickle.loads(
        await stream.readexactly(meta_length)
    )
    if ident == READY:
        return ident, None
    body = await stream.readexactly(body_length)
    return ident, Answer(body, tuple(codes), has_data, malformed, statements)


class HeavyLane:
    """`HUB_HEAVY_WORKERS` workers of one hub process, started on the first heavy query;
    a query goes to the worker with the fewest in flight."""

    def __init__(self, settings: Settings, runtime_dsn: str, workers: int) -> None:
        start = Start(settings, runtime_dsn)
        self.workers = [LaneWorker(start) for _ in range(workers)]
        self.closed = False
        self.ran = 0  # queries answered by a worker

    async def run(self, job: Job) -> Answer:
        if self.closed:
            return busy_answer(job.request_id)
        worker = min(self.workers, key=lambda w: w.load)
        try:
            answer = await worker.run(job)
            self.ran += 1
            return answer
        except (ConnectionError, OSError, TimeoutError, EOFError) as error:
            log.error("heavy lane: %s; answering HUB_BUSY", error)
            return busy_answer(job.request_id)

    async def close(self) -> None:
        self.closed = True
        await asyncio.gather(*(worker.stop() for worker in self.workers))
