"""The hub beside PostGraphile v5 on the same database, same run: req/s and p50 per cell.

    .venv/bin/python benchmarks/peer_compare.py [--duration S] [--clients 1,16]
        [--queries Q1,Q2,Q3] [--profile Q1] [--hub-only] [--driver raw|hey]

Starts `grassroots serve --demo` (http_bench's hub: ./data/bench, every check on: scope,
masking, audit, rate limiter, metrics, access log), then PostGraphile 5.1.5 from
`benchmarks/postgraphile/` (`npm ci` there on first use) over the hub's own embedded
database as its owner, through the same Unix socket. Each query runs at each client count
against PostGraphile and then the hub, after a warm-up, and the table with the ratio
(hub ÷ PostGraphile req/s) is printed, then one JSON object. Q1 and Q3 are asked as a
viewer of the county 341126, Q2 as a viewer of the province 34.

`--profile Q` records the hub with py-spy (the `bench` extra) during Q's run at the largest
client count, into data/profile-Q.txt (collapsed stacks) and a summary of the hottest
functions on stderr. `--hub-only` skips PostGraphile (to compare two hub builds: run it
from each worktree, same data folder, one after the other).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench

ROOT = http_bench.ROOT
PEER_DIR = Path(__file__).resolve().parent / "postgraphile"

HUB_QUERIES = {
    "Q1": 'query Q1 { serviceRequests(under: "341126", first: 50) { edges { node { reference '
    "title status submittedAt region { name } handledBy { name } } } } }",
    "Q2": 'query Q2 { county: region(code: "341126") { stats { serviceRequests { total '
    'byStatus { key count } } } } province: region(code: "34") { stats { serviceRequests { '
    "total byStatus { key count } } } } }",
    "Q3": 'query Q3 { region(code: "341126") { code name level children(first: 30) { edges { '
    "node { code name level } } } } }",
}
PEER_QUERIES = {
    "Q1": "query Q1 { allServiceRequests(first: 50, orderBy: [SUBMITTED_AT_DESC], filter: "
    '{regionCode: {startsWith: "341126"}}) { nodes { reference title status submittedAt '
    "regionByRegionCode { name } organizationByHandledBy { name } } } }",
    "Q2": 'query Q2 { county: allServiceRequests(filter: {regionCode: {startsWith: "341126"}}) '
    "{ totalCount groupedAggregates(groupBy: STATUS) { keys distinctCount { reference } } } "
    'province: allServiceRequests(filter: {regionCode: {startsWith: "34"}}) { totalCount '
    "groupedAggregates(groupBy: STATUS) { keys distinctCount { reference } } } }",
    "Q3": 'query Q3 { regionByCode(code: "341126") { code name level regionsByParentCode('
    "first: 30) { nodes { code name level } } } }",
}
JURISDICTION = {"Q1": "341126", "Q2": "34", "Q3": "341126"}
DESCRIPTION = {
    "Q1": "50 newest requests of the county, with region name and handler (county viewer)",
    "Q2": "county + province request counts by status (province viewer)",
    "Q3": "the county with its 18 children (county viewer)",
}


class Target:
    """One GraphQL server under load: where, and the request bytes for each query."""

    def __init__(
        self,
        name: str,
        port: int,
        queries: dict[str, str],
        tokens: dict[str, str],
        pid: int,
        data_dir: Path,
    ) -> None:
        self.name, self.port, self.queries, self.tokens = name, port, queries, tokens
        self.pid, self.data_dir = pid, data_dir

    def request(self, query: str) -> bytes:
        body = json.dumps({"query": self.queries[query]}).encode()
        auth = self.tokens.get(JURISDICTION[query])
        head = f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if auth:
            head += f"Authorization: Bearer {auth}\r\n"
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    def check(self, query: str) -> int:
        """One request: HTTP 200 with data and no errors, or the run stops."""
        url = f"http://127.0.0.1:{self.port}/graphql"
        auth = self.tokens.get(JURISDICTION[query])
        headers = {"authorization": f"Bearer {auth}"} if auth else {}
        response = httpx.post(url, json={"query": self.queries[query]}, headers=headers)
        body = response.json()
        if response.status_code != 200 or body.get("errors") or not body.get("data"):
            raise http_bench.BenchError(f"{self.name} {query}: {response.text[:1000]}")
        return len(response.content)


async def _client(request: bytes, port: int, end: float, latencies: list[float]) -> None:
    connection = http_bench.RawConnection("127.0.0.1", port, request)
    await connection.open()
    try:
        while time.perf_counter() < end:
            started = time.perf_counter()
            status, content = await connection.send()
            latencies.append(time.perf_counter() - started)
            if status != 200 or b'"errors"' in content[:20]:
                raise http_bench.BenchError(f"HTTP {status}: {content[:500]!r}")
    finally:
        await connection.close()


async def _raw_load(request: bytes, port: int, clients: int, duration: float) -> list[float]:
    latencies: list[float] = []
    end = time.perf_counter() + duration
    await asyncio.gather(*(_client(request, port, end, latencies) for _ in range(clients)))
    return latencies


def drive(target: Target, query: str, clients: int, duration: float, driver: str) -> dict[str, Any]:
    """Warm up for 2 s, then `clients` keep-alive clients for `duration` seconds."""
    if driver == "hey":
        return _hey(target, query, clients, duration)
    request = target.request(query)
    http_bench._run(_raw_load(request, target.port, clients, 2.0))
    before = _cpu(target)
    began = time.perf_counter()
    latencies = sorted(http_bench._run(_raw_load(request, target.port, clients, duration)))
    wall = time.perf_counter() - began
    used = _cpu(target)
    cpu = sum(seconds - before.get(pid, 0.0) for pid, seconds in used.items())
    own = used.get(target.pid, 0.0) - before.get(target.pid, 0.0)
    return {
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2),
        "cpu_ms_per_request": round(cpu / len(latencies) * 1000, 3),
        "server_cpu_ms_per_request": round(own / len(latencies) * 1000, 3),
    }


def _cpu(target: Target) -> dict[int, float]:
    """CPU seconds so far of the server process and of every PostgreSQL process (only one
    server is under load at a time, so PostgreSQL's share of a cell is that server's)."""
    import psutil

    processes = [psutil.Process(target.pid), *http_bench._postgres_processes(target.data_dir)]
    used: dict[int, float] = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        used[process.pid] = times.user + times.system
    return used


def _hey(target: Target, query: str, clients: int, duration: float) -> dict[str, Any]:
    body = PEER_DIR.parent.parent / "data" / f"peer-{target.name}-{query}.json"
    body.write_text(json.dumps({"query": target.queries[query]}))
    auth = target.tokens.get(JURISDICTION[query])
    command = ["hey", "-c", str(clients), "-m", "POST", "-T", "application/json", "-D", str(body)]
    if auth:
        command += ["-H", f"Authorization: Bearer {auth}"]
    url = f"http://127.0.0.1:{target.port}/graphql"
    subprocess.run([*command, "-z", "2s", url], capture_output=True, check=True)
    out = subprocess.run([*command, "-z", f"{duration}s", url], capture_output=True, text=True)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    p50 = re.search(r"50% in ([\d.]+) secs", out.stdout)
    p95 = re.search(r"95% in ([\d.]+) secs", out.stdout)
    bad = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out.stdout)
    if rps is None or any(code != "200" for code, _ in bad):
        raise http_bench.BenchError(f"hey against {target.name}: {out.stdout[-1500:]}")
    return {
        "rps": float(rps.group(1)),
        "p50_ms": round(float(p50.group(1)) * 1000, 2) if p50 else None,
        "p95_ms": round(float(p95.group(1)) * 1000, 2) if p95 else None,
    }


def start_peer(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """PostGraphile over the hub's database, as its owner, through the Unix socket."""
    if not (PEER_DIR / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER_DIR, check=True)
    from db.embedded import DATABASE, OWNER, EmbeddedPostgres

    server = EmbeddedPostgres(data_dir)
    password = server.credentials.owner
    dsn = f"socket:{server.socket_dir}?db={DATABASE}&user={OWNER}&password={password}"
    env = os.environ | {
        "DATABASE_URL": dsn,
        "SCHEMA": "public",
        "PORT": str(port),
        "NODE_ENV": "production",
        "GRAPHILE_ENV": "production",
    }
    log = (data_dir.parent / "peer-postgraphile.log").open("wb")
    command = [
        "node",
        "--require",
        str(PEER_DIR / "polyfill.cjs"),
        str(PEER_DIR / "node_modules/postgraphile/dist/cli-run.js"),
        "-C",
        str(PEER_DIR / "graphile.config.mjs"),
    ]
    process = subprocess.Popen(command, cwd=PEER_DIR, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise http_bench.BenchError("PostGraphile exited; see data/peer-postgraphile.log")
        try:
            httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{__typename}"})
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    raise http_bench.BenchError("PostGraphile did not answer within 60 s")


def start_baseline(source: Path, data_dir: Path) -> http_bench.Hub:
    """The hub of another checkout, on the same data folder (its embedded PostgreSQL is
    already running, so this one only connects to it)."""
    env = http_bench._hub_env(data_dir) | {"PYTHONPATH": str(source)}
    log = (data_dir.parent / "peer-baseline.log").open("wb")
    port = http_bench._free_port()
    command = [http_bench._grassroots(), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=source, stdout=log, stderr=log)
    return http_bench.Hub(process, port, data_dir.parent / "peer-baseline.log", time.monotonic())


def profile(pid: int, query: str, seconds: float) -> subprocess.Popen[bytes]:
    out = ROOT / "data" / f"profile-{query}.txt"
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out)]
    command += ["--duration", str(int(seconds)), "--rate", "200", "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize(path: Path, top: int = 25) -> str:
    """The functions with the most samples anywhere on the stack (inclusive) and on top."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r" \((.*/)?([^/]+\.py):\d+\)", r" (\2)", f) for f in stack.split(";")]
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    lines = [f"{total} samples; inclusive %:"]
    lines += [f"  {100 * n / total:5.1f}  {f}" for f, n in inclusive.most_common(top)]
    lines += ["self %:"] + [f"  {100 * n / total:5.1f}  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def _load_now() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def table(rows: list[dict[str, Any]]) -> str:
    """req/s (p50) side by side and their ratio; then CPU per request (server + PostgreSQL)
    and its inverse ratio: what each would serve per core, less sensitive to a busy
    machine than req/s."""
    lines = [
        "| query | clients | PostGraphile req/s (p50) | hub req/s (p50) | hub ÷ PostGraphile "
        "| CPU ms/req PostGraphile | CPU ms/req hub | per-core ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        peer, hub = r.get("peer"), r["hub"]
        peer_cell = f"{peer['rps']:,.0f} ({peer['p50_ms']} ms)" if peer else "—"
        ratio = f"{hub['rps'] / peer['rps']:.2f}" if peer else "—"
        hub_cell = f"{hub['rps']:,.0f} ({hub['p50_ms']} ms)"
        if "base" in r:
            base = r["base"]
            hub_cell += f"; baseline {base['rps']:,.0f} ({base['p50_ms']} ms"
            hub_cell += f", ÷PG {base['rps'] / peer['rps']:.2f})" if peer else ")"
        peer_cpu, hub_cpu = (peer or {}).get("cpu_ms_per_request"), hub.get("cpu_ms_per_request")
        core = f"{peer_cpu / hub_cpu:.2f}" if peer_cpu and hub_cpu else "—"
        lines.append(
            f"| {r['query']} | {r['clients']} | {peer_cell} | {hub_cell} | {ratio} "
            f"| {peer_cpu or '—'} | {hub_cpu or '—'} | {core} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--queries", default="Q1,Q3,Q2")
    parser.add_argument("--data-dir", type=Path, default=http_bench.DEFAULT_DATA_DIR)
    parser.add_argument("--profile", default=None, help="a query to profile the hub under")
    parser.add_argument("--hub-only", action="store_true")
    parser.add_argument("--driver", choices=["raw", "hey"], default="raw")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another checkout of the hub (e.g. `git worktree add /tmp/base main`), served "
        "beside this one on the same database and measured in the same run",
    )
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]
    queries = args.queries.split(",")
    data_dir = args.data_dir.resolve()
    hub = http_bench.start_hub(data_dir, http_bench._free_port())
    peer_process: subprocess.Popen[bytes] | None = None
    started: list[http_bench.Hub] = []
    rows: list[dict[str, Any]] = []
    try:
        hub.wait_ready()
        tokens = {j: http_bench.issue_token(data_dir, j) for j in set(JURISDICTION.values())}
        targets = [Target("hub", hub.port, HUB_QUERIES, tokens, hub.process.pid, data_dir)]
        if args.baseline is not None:
            base = start_baseline(args.baseline.resolve(), data_dir)
            started.append(base)
            base.wait_ready()
            targets.append(
                Target("base", base.port, HUB_QUERIES, tokens, base.process.pid, data_dir)
            )
        if not args.hub_only:
            peer_port = http_bench._free_port()
            peer_process = start_peer(data_dir, peer_port)
            peer = Target("peer", peer_port, PEER_QUERIES, {}, peer_process.pid, data_dir)
            targets.insert(0, peer)
        for query in queries:
            for target in targets:
                target.check(query)
            for n in clients:
                row: dict[str, Any] = {"query": query, "clients": n, "load": _load_now()}
                for target in targets:
                    spy = None
                    if target.name == "hub" and query == args.profile and n == max(clients):
                        spy = profile(hub.process.pid, query, args.duration + 2)
                    row[target.name] = drive(target, query, n, args.duration, args.driver)
                    if spy is not None:
                        spy.wait()
                        print(summarize(ROOT / "data" / f"profile-{query}.txt"), file=sys.stderr)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
        rss = hub_rss(hub.process.pid)
    finally:
        if peer_process is not None:
            peer_process.terminate()
            peer_process.wait()
        for other in started:
            other.stop()
        hub.stop()
    print(table(rows))
    print(f"\nload average at the end: {_load_now()}; hub RSS after the load: {rss} MB")
    print(json.dumps({"rows": rows, "hub_rss_mb": rss}))
    return 0


def hub_rss(pid: int) -> float:
    import psutil

    process = psutil.Process(pid)
    children = [c for c in process.children(recursive=True) if "python" in c.name()]
    main_process = children[0] if children and "grassroots" not in process.name() else process
    return round(main_process.memory_info().rss / 2**20, 1)


if __name__ == "__main__":
    sys.exit(main())
