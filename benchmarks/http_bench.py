"""Latency, throughput, memory and start-up time of the hub over HTTP, on the demo data.

    .venv/bin/python benchmarks/http_bench.py [--duration S] [--concurrency N] [--fresh]
        [--no-observability] [--no-rate-limit] [--workers 1,2]

Starts `grassroots serve --demo` as a subprocess on a free port with its data folder in
./data/bench (kept between runs; `--fresh` wipes it first, so the start includes initdb,
migrations and seeding the demo county), waits for /readyz, gets a viewer token for the
county 341126 from `grassroots token`, then measures, after a warm-up:

  healthz  GET /healthz: the ceiling of the HTTP stack and the load generator alone;
  Q1       the first 50 service requests of the county subtree, with region and organization;
  Q3       one region with its children;

each query with one client sending requests back to back (latency p50/p95), then with N
concurrent clients (throughput and latency). Every response must be HTTP 200 with data,
no `errors` and the expected rows, or the run fails. The hub's resident memory is read
after the load. Prints one JSON object and stops the hub with SIGINT.

The load generator runs on the same machine as the hub and its PostgreSQL and competes with
them for the CPU; the JSON records how many cores each side (and everything else) used. By
default it is a minimal keep-alive HTTP/1.1 client on asyncio streams (~40 us of CPU per
request); `--client httpx` uses one httpx.AsyncClient instead, which costs over 1 ms of CPU
per request here and caps a 2-core machine at a few hundred requests per second.

`--workers 1,2` instead starts the hub once per worker count (`serve --workers N`) and prints,
for each, Q1 and Q3 throughput with `--concurrency` clients and the resident memory of the
supervisor and its workers together.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data" / "bench"
JWT_SECRET = "benchmark-only-jwt-secret-0123456789abcdef"
READY_TIMEOUT_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 30.0

QUERIES: dict[str, dict[str, Any]] = {
    "Q1": {
        "description": "first 50 service requests under the county, newest first, "
        "with region name and handling organization",
        "query": '{ serviceRequests(under: "341126", first: 50) { edges { node { id reference '
        "title status submittedAt region { name } handledBy { name } } } } }",
        "rows": lambda data: len(data["serviceRequests"]["edges"]),
        "expected_rows": 50,
    },
    "Q3": {
        "description": "one region with its children",
        "query": '{ region(code: "341126") { code name fullName children { edges { node { '
        "code name level } } } } }",
        "rows": lambda data: len(data["region"]["children"]["edges"]),
        "expected_rows": None,  # whatever the county has; checked to be > 0
    },
}

TARGETS = {
    "q1_single_client_p50_ms": 15.0,
    "hub_rss_mb": 200.0,
    "first_start_seconds": 60.0,
    "warm_start_seconds": 5.0,
}


class BenchError(RuntimeError):
    """The hub misbehaved: the benchmark's figures would be meaningless."""


# ---------------------------------------------------------------- the hub subprocess


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _grassroots() -> str:
    beside = Path(sys.executable).parent / "grassroots"
    if beside.exists():
        return str(beside)
    found = shutil.which("grassroots")
    if found is None:
        raise BenchError("the `grassroots` command is not installed (pip install -e .)")
    return found


# The one bench token would soon spend a county's budget: raise it out of reach, so the
# limiter still counts every request but never refuses one.
UNREACHABLE_BUDGET = "10000000"
OPERATIONS: dict[str, str] = {}  # extra HUB_* settings of this run (set by `main`)


def _hub_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("DATABASE_URL", None)  # always the embedded server in the bench folder
    env |= {
        "HUB_DATA_DIR": str(data_dir),
        "HUB_JWT_SECRET": JWT_SECRET,
        "HUB_ENV": "development",  # adds x-sql-statements, which the bench records
        "HUB_RATE_LIMIT_COUNTY": UNREACHABLE_BUDGET,
        "HUB_RATE_LIMIT_NATIONAL": UNREACHABLE_BUDGET,
    }
    return env | OPERATIONS


def _stop_leftover_server(data_dir: Path) -> None:
    """Before wiping the folder: stop an embedded server a crashed run may have left."""
    if not (data_dir / "pg" / "postmaster.pid").exists():
        return
    sys.path.insert(0, str(ROOT))
    from db.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(data_dir)
    if server.is_running():
        server.started_here = True
        server.stop()


@dataclass
class Hub:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started_at: float
    ready_seconds: float = 0.0
    stop_info: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self) -> None:
        deadline = self.started_at + READY_TIMEOUT_SECONDS
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchError(
                        f"the hub exited with {self.process.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                try:
                    response = client.get(f"{self.url}/readyz")
                    if response.status_code == 200 and response.json().get("ready") is True:
                        self.ready_seconds = time.monotonic() - self.started_at
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise BenchError(
            f"the hub was not ready within {READY_TIMEOUT_SECONDS:.0f} s:\n" + self.log_tail()
        )

    def stop(self) -> None:
        if self.process.poll() is not None:
            self.stop_info = {"exit_code": self.process.returncode, "note": "already exited"}
            return
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(STOP_TIMEOUT_SECONDS)
            how = "SIGINT"
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                code = self.process.wait(10)
                how = "SIGTERM after SIGINT timed out"
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
                how = "SIGKILL after SIGINT and SIGTERM timed out"
        self.stop_info = {
            "signal": how,
            "exit_code": code,
            "seconds": round(time.monotonic() - started, 2),
        }


def start_hub(
    data_dir: Path,
    port: int,
    demo: bool = True,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> Hub:
    """`env`: settings (HUB_*) for this hub beside the bench's own."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}-hub.log"
    log = log_path.open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        [
            _grassroots(),
            "serve",
            *(["--demo"] if demo else []),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=_hub_env(data_dir) | (env or {}),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a Ctrl-C in the terminal reaches the bench, which stops it
    )
    log.close()
    return Hub(process, port, log_path, started)


def issue_token(data_dir: Path, jurisdiction: str = "341126") -> str:
    done = subprocess.run(
        [
            _grassroots(),
            "token",
            "--sub",
            "bench",
            "--jurisdiction",
            jurisdiction,
            "--role",
            "viewer",
        ],
        env=_hub_env(data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"`grassroots token` failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


# ---------------------------------------------------------------- the load generator


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _check(name: str, status: int, content: bytes) -> None:
    """Fail loudly on anything but HTTP 200 with data, no errors and the expected rows."""
    if name not in QUERIES:  # the calibration GET /healthz
        if status != 200:
            raise BenchError(f"/healthz: HTTP {status}: {content[:500]!r}")
        return
    text = content.decode("utf-8", errors="replace")
    if status != 200:
        raise BenchError(f"{name}: HTTP {status}: {text[:2000]}")
    body = json.loads(content)
    if body.get("errors") or body.get("data") is None:
        raise BenchError(f"{name}: the response has errors: {text[:2000]}")
    rows = QUERIES[name]["rows"](body["data"])
    expected = QUERIES[name]["expected_rows"]
    if (expected is not None and rows != expected) or rows == 0:
        raise BenchError(f"{name}: {rows} rows, expected {expected or 'some'}")


class RawConnection:
    """One keep-alive HTTP/1.1 connection sending one prepared request over and over.

    The hub answers with Content-Length (Starlette's JSONResponse), so reading a response is
    one read of the head and one of the body: tens of microseconds of client CPU per request,
    where httpx spends a millisecond or more. On a small machine where the load generator
    shares the cores with the hub, that difference is most of the measurement.
    """

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(self) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length: int | None = None
        close = False
        for line in head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"connection" and value.strip().lower() == b"close":
                close = True
            elif key == b"transfer-encoding":
                raise BenchError("the hub sent a chunked response; the bench reads Content-Length")
        if length is None:
            raise BenchError(f"a response without Content-Length: {head[:500]!r}")
        content = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def _raw_request(host: str, port: int, token: str, name: str) -> bytes:
    if name not in QUERIES:
        return f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    body = json.dumps({"query": QUERIES[name]["query"]}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _load(
    url: str, token: str, name: str, tasks: int, duration: float, start_at: float, client: str
) -> dict[str, Any]:
    """`tasks` clients sending `name` back to back, each on its own keep-alive connection,
    for `duration` seconds from wall-clock time `start_at`. `healthz` is a plain GET, for
    calibration. `client` is `raw` (RawConnection) or `httpx` (one httpx.AsyncClient)."""
    latencies: list[float] = []
    senders: list[Callable[[], Awaitable[tuple[int, bytes]]]] = []
    cleanup: list[Callable[[], Awaitable[None]]] = []
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if client == "raw":
        request = _raw_request(host, port, token, name)
        connections = [RawConnection(host, port, request) for _ in range(tasks)]
        await asyncio.gather(*(c.open() for c in connections))
        senders = [c.send for c in connections]
        cleanup = [c.close for c in connections]
    else:
        limits = httpx.Limits(
            max_connections=max(tasks, 16), max_keepalive_connections=max(tasks, 16)
        )
        http = httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0)
        cleanup = [http.aclose]
        await asyncio.gather(*(http.get("/healthz") for _ in range(tasks)))  # open connections
        content = json.dumps({"query": QUERIES[name]["query"]}).encode() if name in QUERIES else b""
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

        async def send() -> tuple[int, bytes]:
            if name in QUERIES:
                response = await http.post("/graphql", content=content, headers=headers)
            else:
                response = await http.get("/healthz")
            return response.status_code, response.content

        senders = [send] * tasks
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        end = time.perf_counter() + duration

        async def one_client(send: Callable[[], Awaitable[tuple[int, bytes]]]) -> None:
            while time.perf_counter() < end:
                started = time.perf_counter()
                status, content = await send()
                latencies.append(time.perf_counter() - started)
                _check(name, status, content)

        cpu = time.process_time()
        began = time.perf_counter()
        await asyncio.gather(*(one_client(send) for send in senders))
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu
    finally:
        for close in cleanup:
            await close()
    return {"latencies": latencies, "wall": wall, "cpu": cpu}


def _load_in_process(*args: Any) -> dict[str, Any]:
    return _run(_load(*args))  # type: ignore[no-any-return]


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = q * (len(sorted_values) - 1)
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    pid_file = data_dir / "pg" / "postmaster.pid"
    try:
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]
    except (OSError, ValueError, psutil.NoSuchProcess):
        return []


def _hub_processes(hub: psutil.Process) -> list[psutil.Process]:
    try:
        return [hub, *hub.children(recursive=True)]
    except psutil.NoSuchProcess:
        return [hub]


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class CpuSampler(threading.Thread):
    """CPU seconds of the hub, its PostgreSQL and the whole machine over [start, end]."""

    def __init__(self, hub_pid: int, data_dir: Path, start_at: float, duration: float) -> None:
        super().__init__(daemon=True)
        self.hub = psutil.Process(hub_pid)
        self.data_dir = data_dir
        self.start_at, self.duration = start_at, duration
        self.result: dict[str, float] = {}

    def _sample(self) -> tuple[float, float, float, float]:
        pg = _cpu_seconds(_postgres_processes(self.data_dir))
        hub = _hub_processes(self.hub)  # with --workers N: the supervisor and its workers
        return time.perf_counter(), _cpu_seconds(hub), pg, _machine_busy_seconds()

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.time()))
        first = self._sample()
        time.sleep(self.duration)
        last = self._sample()
        wall = last[0] - first[0]
        self.result = {
            "hub": (last[1] - first[1]) / wall,
            "postgres": (last[2] - first[2]) / wall,
            "machine": (last[3] - first[3]) / wall,
        }


def measure(
    hub: Hub,
    data_dir: Path,
    token: str,
    name: str,
    clients: int,
    duration: float,
    client_processes: int,
    client: str,
) -> dict[str, Any]:
    """One phase: `clients` concurrent clients over `client_processes` processes."""
    start_at = time.time() + 0.5 + 0.5 * client_processes
    sampler = CpuSampler(hub.process.pid, data_dir, start_at, duration)
    sampler.start()
    if client_processes <= 1:
        parts = [_load_in_process(hub.url, token, name, clients, duration, start_at, client)]
    else:
        shares = [
            clients // client_processes + (i < clients % client_processes)
            for i in range(client_processes)
        ]
        with concurrent.futures.ProcessPoolExecutor(client_processes) as pool:
            futures = [
                pool.submit(
                    _load_in_process, hub.url, token, name, share, duration, start_at, client
                )
                for share in shares
                if share
            ]
            parts = [future.result() for future in futures]
    sampler.join()
    latencies = sorted(x for part in parts for x in part["latencies"])
    wall = max(part["wall"] for part in parts)
    cpu = sampler.result
    client_cores = sum(part["cpu"] for part in parts) / wall
    return {
        "clients": clients,
        "client_processes": len(parts),
        "requests": len(latencies),
        "seconds": round(wall, 2),
        "req_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        # Average CPU cores busy during the phase; the machine has os.cpu_count() of them.
        # `other` is everything else running on the machine at the time (should be ~0).
        "cpu_cores_used": {
            "hub": round(cpu["hub"], 2),
            "postgres": round(cpu["postgres"], 2),
            "load_generator": round(client_cores, 2),
            "other": round(
                max(0.0, cpu["machine"] - cpu["hub"] - cpu["postgres"] - client_cores), 2
            ),
        },
    }


def probe(hub: Hub, token: str, name: str) -> dict[str, Any]:
    """One checked request: the payload size and the hub's count of SQL statements."""
    response = httpx.post(
        f"{hub.url}/graphql",
        json={"query": QUERIES[name]["query"]},
        headers={"authorization": f"Bearer {token}"},
        timeout=30.0,
    )
    _check(name, response.status_code, response.content)
    statements = response.headers.get("x-sql-statements")
    return {
        "rows": QUERIES[name]["rows"](response.json()["data"]),
        "response_bytes": len(response.content),
        "sql_statements": int(statements) if statements else None,
    }


def memory(hub: Hub, data_dir: Path) -> dict[str, Any]:
    proc = psutil.Process(hub.process.pid)
    info = proc.memory_full_info()
    pss = 0
    for pg in _postgres_processes(data_dir):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            pss += pg.memory_full_info().pss
    mib = 1024 * 1024
    return {
        "hub_rss_mb": round(info.rss / mib, 1),
        "hub_uss_mb": round(info.uss / mib, 1),
        # PostgreSQL is a separate set of processes; proportional share, all of them.
        "postgres_pss_mb": round(pss / mib, 1) if pss else None,
    }


# ---------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    try:
        from importlib.metadata import version

        import uvloop  # noqa: F401

        loop = f"uvloop {version('uvloop')}"
    except ImportError:
        loop = "asyncio"
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "event_loop": loop,
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def wait_quiet(patience: float, quiet_cores: float = 0.25, window: float = 3.0) -> float:
    """Wait up to `patience` seconds for the machine to be idle over `window` seconds.
    Returns the CPU cores that were busy in the last window."""
    deadline = time.monotonic() + patience
    while True:
        busy = _machine_busy_seconds()
        time.sleep(window)
        cores = (_machine_busy_seconds() - busy) / window
        if cores <= quiet_cores or time.monotonic() >= deadline:
            return round(cores, 2)
        print(f"http_bench: the machine is busy ({cores:.2f} cores); waiting", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds per measured phase (default 5)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds of warm-up per query (default 2)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="concurrent clients in the throughput phase (default 16)",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=1,
        metavar="K",
        help="spread the concurrent clients over K processes (default 1)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator: a minimal keep-alive HTTP/1.1 client on asyncio streams (default), "
        "or httpx.AsyncClient (costs the shared CPU about 1 ms per request more)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"the hub's data folder (default {DEFAULT_DATA_DIR.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--jurisdiction",
        default="341126",
        metavar="CODE",
        help="the token's jurisdiction (default 341126, the county; 100000 covers everything, "
        "to measure what the scope costs on the same queries)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="wipe the data folder first (measures the first start)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="first wait up to S seconds for other processes to leave the CPU idle",
    )
    parser.add_argument(
        "--no-observability",
        action="store_true",
        help="serve without the access log and metrics (HUB_ACCESS_LOG=false, HUB_METRICS=false), "
        "to measure what they cost",
    )
    parser.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="serve without rate limits (HUB_RATE_LIMIT=false)",
    )
    parser.add_argument(
        "--workers",
        metavar="N,M",
        help="compare worker counts (`serve --workers N`): Q1 and Q3 throughput and memory each",
    )
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir.resolve()
    if args.no_observability:
        OPERATIONS.update({"HUB_ACCESS_LOG": "false", "HUB_METRICS": "false"})
    if args.no_rate_limit:
        OPERATIONS["HUB_RATE_LIMIT"] = "false"

    if args.fresh and data_dir.exists():
        _stop_leftover_server(data_dir)
        shutil.rmtree(data_dir)
    empty = not data_dir.exists() or not any(data_dir.iterdir())

    if args.workers:
        return compare_workers(args, data_dir, [int(n) for n in args.workers.split(",")])

    report: dict[str, Any] = {"benchmark": "http_bench", "machine": machine()}
    report["machine"]["busy_cores_before_start"] = wait_quiet(args.wait_quiet)
    report["config"] = {
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "concurrency": args.concurrency,
        "client_processes": args.client_processes,
        "client": args.client,
        "jurisdiction": args.jurisdiction,
        "access_log_and_metrics": not args.no_observability,
        "rate_limit": not args.no_rate_limit,
        "data_dir": str(data_dir),
        "note": f"the load generator runs on the same {os.cpu_count()} cores as the hub and "
        "its PostgreSQL; see cpu_cores_used",
    }
    try:
        hub = start_hub(data_dir, _free_port())
    except BenchError as error:
        print(f"http_bench: FAILED: {error}", file=sys.stderr)
        return 1
    try:
        hub.wait_ready()
        startup_key = "first_start_seconds" if empty else "warm_start_seconds"
        report["startup"] = {startup_key: round(hub.ready_seconds, 2)}
        token = issue_token(data_dir, args.jurisdiction)
        report["memory_after_start"] = memory(hub, data_dir)

        def phase(name: str, clients: int, seconds: float) -> dict[str, Any]:
            processes = 1 if clients == 1 else args.client_processes
            return measure(hub, data_dir, token, name, clients, seconds, processes, args.client)

        # The HTTP stack and load generator alone: GET /healthz, no GraphQL, no database.
        phase("healthz", args.concurrency, args.warmup / 2)
        report["calibration_healthz"] = phase("healthz", args.concurrency, args.duration)

        results: dict[str, Any] = {}
        for name in QUERIES:
            entry: dict[str, Any] = {"description": QUERIES[name]["description"]}
            entry |= probe(hub, token, name)
            # Warm-up: caches (parser, validation, region lookups), pool connections, plans.
            phase(name, 1, args.warmup / 2)
            phase(name, args.concurrency, args.warmup / 2)
            entry["single_client"] = phase(name, 1, args.duration)
            entry["concurrent"] = phase(name, args.concurrency, args.duration)
            results[name] = entry
        report["queries"] = results
        report["memory_after_load"] = memory(hub, data_dir)
    except BenchError as error:
        hub.stop()
        print(f"http_bench: FAILED: {error}", file=sys.stderr)
        print(f"(hub log: {hub.log_path})", file=sys.stderr)
        return 1
    except BaseException:
        hub.stop()
        raise
    hub.stop()
    report["shutdown"] = hub.stop_info

    q1 = report["queries"]["Q1"]["single_client"]["p50_ms"]
    rss = report["memory_after_load"]["hub_rss_mb"]
    start_seconds = report["startup"].get("first_start_seconds")
    start_target = TARGETS["first_start_seconds"]
    if start_seconds is None:
        start_seconds = report["startup"]["warm_start_seconds"]
        start_target = TARGETS["warm_start_seconds"]
    report["targets"] = {
        "q1_single_client_p50_ms": {
            "target": TARGETS["q1_single_client_p50_ms"],
            "measured": q1,
            "met": q1 < TARGETS["q1_single_client_p50_ms"],
        },
        "hub_rss_mb": {
            "target": TARGETS["hub_rss_mb"],
            "measured": rss,
            "met": rss < TARGETS["hub_rss_mb"],
        },
        "start_seconds": {
            "target": start_target,
            "measured": start_seconds,
            "met": start_seconds < start_target,
        },
    }
    phases = [report["calibration_healthz"]] + [
        q[phase] for q in report["queries"].values() for phase in ("single_client", "concurrent")
    ]
    other = max(p["cpu_cores_used"]["other"] for p in phases)
    if other > 0.2:
        report["warning"] = (
            f"other processes used up to {other} CPU cores during a phase: the machine was not "
            "quiet, so the figures understate the hub"
        )
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def workers_memory(hub: Hub) -> float:
    """Resident memory of the supervisor and its workers, in MiB (PostgreSQL aside)."""
    total = 0
    for proc in _hub_processes(psutil.Process(hub.process.pid)):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return round(total / 1024 / 1024, 1)


def compare_workers(args: argparse.Namespace, data_dir: Path, counts: list[int]) -> int:
    """`--workers 1,2`: one hub per worker count, Q1 and Q3 with `--concurrency` clients."""
    report: dict[str, Any] = {"benchmark": "http_bench --workers", "machine": machine()}
    report["machine"]["busy_cores_before_start"] = wait_quiet(args.wait_quiet)
    report["config"] = {"duration_s": args.duration, "concurrency": args.concurrency}
    runs: dict[str, Any] = {}
    for count in counts:
        hub = start_hub(data_dir, _free_port(), workers=count)
        try:
            hub.wait_ready()
            token = issue_token(data_dir, args.jurisdiction)
            run: dict[str, Any] = {}
            for name in ("Q1", "Q3"):
                probe(hub, token, name)
                clients = args.concurrency
                measure(hub, data_dir, token, name, clients, args.warmup, 1, args.client)
                run[name] = measure(
                    hub, data_dir, token, name, clients, args.duration, 1, args.client
                )
            run["memory_mb"] = workers_memory(hub)
            runs[str(count)] = run
        except BenchError as error:
            print(f"http_bench: FAILED: {error}", file=sys.stderr)
            return 1
        finally:
            hub.stop()
    report["workers"] = runs
    report["summary"] = {
        count: {
            "Q1_req_per_s": run["Q1"]["req_per_s"],
            "Q3_req_per_s": run["Q3"]["req_per_s"],
            "memory_mb": run["memory_mb"],
        }
        for count, run in runs.items()
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
