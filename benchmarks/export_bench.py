"""Export throughput, time to first byte and the hub's peak memory, for a million requests.

    .venv/bin/python benchmarks/export_bench.py [--rows N] [--formats csv,xlsx] [--keep]

In a scratch folder under the system's temporary directory (deleted at the end unless
`--keep`), the script prepares an embedded PostgreSQL as `grassroots serve` would (migrated,
the demo county 341126 seeded), then, as the owner, copies the demo's service requests with
`generate_series` until the table holds N (default 1,000,000) — every one of them in the
county — and analyses it. It starts `grassroots serve` on that folder, signs a viewer token
for the county, and downloads `/exports/service-requests.{csv,xlsx}?under=341126` with one
streaming client, reading as fast as it can:

- `rows`, `bytes`, `seconds` and `rows_per_second` of each download (rows: the audit
  entry's count, checked against the lines of the CSV);
- `first_byte_seconds`: from sending the request to the first byte of the body;
- `hub_peak_rss_mb`: the hub process's peak resident memory (VmHWM) during that download,
  its peak reset just before (`/proc/PID/clear_refs`), beside `hub_rss_before_mb`, and
  `hub_rss_samples_mb`, its resident memory every few seconds while streaming: flat memory
  means flat samples.

It prints one JSON object, stops the hub and its PostgreSQL, and removes the folder.
Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db.demo_setup import ensure_demo  # noqa: E402
from db.setup import prepare  # noqa: E402
from server.auth import issue  # noqa: E402
from server.settings import load_settings  # noqa: E402

COUNTY = "341126"
SECRET = "benchmark-secret-that-is-long-enough-for-hs256"

COPY_COLUMNS = """reference, region_code, path, handling_region_code, handled_by, category,
    channel, status, title, description, requester_name, requester_phone, submitted_at,
    first_responded_at, accepted_at, due_at, resolved_at, closed_at, satisfaction, version"""
# Copies of the demo's requests, each moved back a few minutes per copy so that the order
# by submission time interleaves them; triggers are off (the owner writes finished rows).
MULTIPLY = f"""
insert into service_request ({COPY_COLUMNS})
select t.reference || '-' || g, t.region_code, t.path, t.handling_region_code, t.handled_by,
    t.category, t.channel, t.status, t.title, t.description, t.requester_name,
    t.requester_phone, t.submitted_at - g * interval '7 minutes',
    t.first_responded_at - g * interval '7 minutes', t.accepted_at - g * interval '7 minutes',
    t.due_at - g * interval '7 minutes', t.resolved_at - g * interval '7 minutes',
    t.closed_at - g * interval '7 minutes', t.satisfaction, t.version
from (select * from service_request order by id) t cross join generate_series(1, $1) g
limit $2
"""


def _kb(status: str, field: str) -> int:
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _status(pid: int) -> str:
    return Path(f"/proc/{pid}/status").read_text()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def build(folder: Path, rows: int) -> dict[str, Any]:
    started = time.monotonic()
    db = await prepare(data_dir=folder, database_url=None)
    try:
        await ensure_demo(db.owner_dsn)
        seeded = time.monotonic()
        conn = await asyncpg.connect(db.owner_dsn)
        try:
            have = int(await conn.fetchval("select count(*) from service_request"))
            copies = -(-(rows - have) // have)
            await conn.execute("alter table service_request disable trigger user")
            await conn.execute(MULTIPLY, copies, rows - have)
            await conn.execute("alter table service_request enable trigger user")
            await conn.execute("vacuum analyze service_request")
            total = int(await conn.fetchval("select count(*) from service_request"))
        finally:
            await conn.close()
    finally:
        db.stop()
    return {
        "service_requests": total,
        "seed_seconds": round(seeded - started, 1),
        "copy_seconds": round(time.monotonic() - seeded, 1),
    }


class Sampler(threading.Thread):
    def __init__(self, pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.samples.append(round(_kb(_status(self.pid), "VmRSS") / 1024, 1))


def download(url: str, token: str, pid: int) -> dict[str, Any]:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _kb(_status(pid), "VmRSS")
    sampler = Sampler(pid, 2.0)
    sampler.start()
    size = lines = 0
    first: float | None = None
    first_row: float | None = None
    cpu = _cpu_seconds(pid)
    started = time.monotonic()
    with (
        httpx.Client(timeout=httpx.Timeout(None)) as client,
        client.stream("GET", url, headers={"authorization": f"Bearer {token}"}) as response,
    ):
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code} {response.read()[:500]!r}")
        for chunk in response.iter_raw():
            if first is None:
                first = time.monotonic() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
            if first_row is None and lines >= 2:
                first_row = time.monotonic() - started
    seconds = time.monotonic() - started
    cpu = _cpu_seconds(pid) - cpu
    sampler.done.set()
    sampler.join()
    return {
        "bytes": size,
        "lines": lines,
        "seconds": round(seconds, 2),
        "first_byte_seconds": round(first or seconds, 3),
        "first_row_seconds": round(first_row or seconds, 3),
        "hub_cpu_seconds": round(cpu, 1),
        "hub_rss_before_mb": round(before / 1024, 1),
        "hub_peak_rss_mb": round(_kb(_status(pid), "VmHWM") / 1024, 1),
        "hub_rss_samples_mb": sampler.samples,
    }


async def audited_rows(folder: Path, subject: str) -> list[int]:
    """Rows of each export, in order: its entry at the grant (the county), which counts them
    all (an export also leaves one entry per township that held rows: `audit.place`)."""
    db = await prepare(data_dir=folder, database_url=None, apply_migrations=False)
    try:
        conn = await asyncpg.connect(db.owner_dsn)
        try:
            found = await conn.fetch(
                "select (after->>'rows')::int as n from audit_log "
                "where actor = $1 and operation = 'export' and region_code = $2 order by at",
                subject,
                COUNTY,
            )
        finally:
            await conn.close()
    finally:
        db.stop()
    return [int(row["n"]) for row in found]


def serve(folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("DATABASE_URL", None)
    env |= {"HUB_DATA_DIR": str(folder), "HUB_JWT_SECRET": SECRET, "HUB_ENV": "production"}
    grassroots = Path(sys.executable).parent / "grassroots"
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(grassroots), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the hub exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the hub was not ready within 120 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="hub-export-bench-"))
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        },
        "scratch": str(folder),
    }
    try:
        result["data"] = asyncio.run(build(folder, args.rows))
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = folder / "hub.log"
        process = serve(folder, port, log)
        try:
            wait_ready(process, url, log)
            settings = load_settings({"HUB_JWT_SECRET": SECRET, "HUB_DATA_DIR": str(folder)})
            token = issue(settings, "export-bench", [COUNTY], ["viewer"], ttl=3600)
            result["hub_rss_idle_mb"] = round(_kb(_status(process.pid), "VmRSS") / 1024, 1)
            for form in args.formats.split(","):
                target = f"{url}/exports/service-requests.{form}?under={COUNTY}"
                try:
                    result[form] = download(target, token, process.pid)
                except httpx.HTTPError as error:
                    tail = log.read_text(errors="replace").splitlines()[-30:]
                    result[form] = {"error": repr(error), "hub_log": tail}
        finally:
            stop(process)
        counted = asyncio.run(audited_rows(folder, "export-bench"))
        for form, rows in zip(args.formats.split(","), counted, strict=True):
            if "error" in result[form]:
                continue
            result[form]["rows"] = rows
            result[form]["rows_per_second"] = round(rows / result[form]["seconds"])
            result[form]["rows_per_hub_cpu_second"] = round(rows / result[form]["hub_cpu_seconds"])
        if "csv" in result and result["csv"]["lines"] != result["csv"]["rows"] + 1:
            raise SystemExit(f"the CSV has {result['csv']['lines']} lines")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
