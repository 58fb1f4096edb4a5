"""A supergraph on loopback: the hub as a real process, the population subgraph, and GraphQL
Hive Gateway over both (federation/). Used by the federation tests and by
benchmarks/gateway_latency.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]
FEDERATION = ROOT / "federation"
NODE_MODULES = FEDERATION / "node_modules"
COMPOSE = FEDERATION / "compose.mjs"
GATEWAY_CONFIG = FEDERATION / "gateway.config.mjs"
GATEWAY_BIN = NODE_MODULES / "@graphql-hive" / "gateway" / "dist" / "bin.js"
POPULATION = FEDERATION / "population" / "server.py"
GATEWAY_SECRET = "gateway-credential-for-federation-tests-0123456789"
LOOPBACK = "127.0.0.1"


def missing_node_tooling() -> str | None:
    """Why the Node.js side cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH (Node.js 20 or later is needed for the federation tests)"
    for package in ("@graphql-hive/gateway", "@theguild/federation-composition", "graphql"):
        if not (NODE_MODULES / package / "package.json").is_file():
            return f"federation/node_modules lacks {package}: run `npm ci --prefix federation`"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def executable(name: str) -> str:
    """A console script of this virtual environment."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"{name} is not installed beside {sys.executable}")
    return found


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is not None:
            return
        # Its own process group (start_new_session), so workers it forked stop with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, self.stop_signal)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


def start(
    name: str,
    args: list[str],
    logs: Path,
    env: Mapping[str, str | None] | None = None,
    cwd: Path = ROOT,
    stop_signal: int = signal.SIGTERM,
) -> Process:
    """`args` in its own process group, output to logs/<name>.log; env: None values unset."""
    merged = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    log = logs / f"{name}.log"
    handle: IO[bytes] = log.open("wb")
    try:
        popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=merged,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        handle.close()
    return Process(name, popen, log, stop_signal)


def wait_until_ready(process: Process, url: str, timeout: float = 60.0) -> None:
    """Until `url` answers 200 (a GET, or for /graphql a `{ __typename }` POST)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.popen.poll() is not None:
                raise RuntimeError(
                    f"{process.name} exited with {process.popen.returncode}:\n{process.output()}"
                )
            try:
                if url.endswith("/graphql"):
                    response = client.post(url, json={"query": "{ __typename }"})
                else:
                    response = client.get(url)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{process.name} not ready after {timeout} s:\n{process.output()}"
                )
            time.sleep(0.1)


def start_hub(logs: Path, port: int, env: Mapping[str, str | None], demo: bool = False) -> Process:
    """`grassroots serve` on loopback; env holds its HUB_* settings."""
    args = [executable("grassroots"), "serve", "--host", LOOPBACK, "--port", str(port)]
    return start("hub", [*args, "--demo"] if demo else args, logs, env, stop_signal=signal.SIGINT)


def start_population(logs: Path, port: int) -> Process:
    args = [sys.executable, str(POPULATION), "--host", LOOPBACK, "--port", str(port)]
    return start("population", args, logs)


def compose(
    out: Path, hub_url: str, population_url: str, extra: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run federation/compose.mjs; the caller checks the return code and stderr."""
    args = [
        "node",
        str(COMPOSE),
        "--out",
        str(out),
        "--hub-url",
        hub_url,
        "--population-url",
        population_url,
        *(extra or []),
    ]
    return subprocess.run(args, cwd=FEDERATION, capture_output=True, text=True, timeout=60)


def start_gateway(logs: Path, port: int, supergraph: Path, env: Mapping[str, str]) -> Process:
    args = [
        "node",
        str(GATEWAY_BIN),
        "supergraph",
        str(supergraph),
        "--config-path",
        str(GATEWAY_CONFIG),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    return start("gateway", args, logs, env, cwd=FEDERATION)


@dataclass
class Supergraph:
    hub_url: str
    population_url: str
    gateway_url: str
    processes: list[Process]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@contextlib.contextmanager
def supergraph(
    logs: Path, hub_env: Mapping[str, str | None], jwt_secret: str, demo: bool = False
) -> Iterator[Supergraph]:
    """Hub, population subgraph and gateway, started together and stopped together.

    `hub_env` holds the hub's settings (database, data folder); the JWT secret and the gateway
    credential are set here, the same for the hub and the gateway.
    """
    ports = {name: free_port() for name in ("hub", "population", "gateway")}
    urls = {name: f"http://{LOOPBACK}:{port}" for name, port in ports.items()}
    secrets = {"HUB_JWT_SECRET": jwt_secret, "HUB_GATEWAY_SECRET": GATEWAY_SECRET}
    processes: list[Process] = []
    graph = Supergraph(
        urls["hub"] + "/graphql",
        urls["population"] + "/graphql",
        urls["gateway"] + "/graphql",
        processes,
    )
    try:
        hub = start_hub(logs, ports["hub"], {**hub_env, **secrets}, demo=demo)
        processes.append(hub)
        population = start_population(logs, ports["population"])
        processes.append(population)
        supergraph_sdl = logs / "supergraph.graphql"
        composed = compose(supergraph_sdl, graph.hub_url, graph.population_url)
        if composed.returncode != 0:
            raise RuntimeError(f"composition failed:\n{composed.stderr}")
        gateway = start_gateway(logs, ports["gateway"], supergraph_sdl, secrets)
        processes.append(gateway)
        wait_until_ready(hub, urls["hub"] + "/readyz", timeout=300.0 if demo else 60.0)
        wait_until_ready(population, graph.population_url)
        wait_until_ready(gateway, graph.gateway_url)
        yield graph
    finally:
        graph.stop()
