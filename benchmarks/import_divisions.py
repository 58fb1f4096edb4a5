"""Time the import of the national division files into a fresh, migrated database.

    .venv/bin/python benchmarks/import_divisions.py [--builtin-locale] [DIR]

DIR defaults to ../shared/data/divisions beside this checkout. The script starts its own
embedded PostgreSQL (durable, as in production) in a temporary folder, times a first import
(validation, COPY and index maintenance included), then a second one that must add nothing,
prints the figures as JSON and stops the server.

With --builtin-locale the database is created with PostgreSQL's builtin C.UTF-8 locale
instead of the cluster's libc one: ltree's GiST support folds every label through the
database's ctype, and libc's multibyte folding makes the GiST build about 4x slower.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db import divisions, embedded  # noqa: E402
from db.roles import ensure_owner_and_database  # noqa: E402
from db.setup import migrate_and_grant, start_embedded  # noqa: E402

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "divisions"
BUDGET_SECONDS = 30.0
CREATE_BUILTIN_LOCALE_DATABASE = (
    f'CREATE DATABASE "{embedded.DATABASE}" OWNER "{embedded.OWNER}" TEMPLATE template0 '
    "ENCODING 'UTF8' LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LOCALE 'C.UTF-8'"
)


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def _process_cpu_seconds(pid: int) -> float | None:
    """CPU time of a process (the server backend) from /proc, where there is one."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Timed:
    seconds: float
    cpu: dict[str, float | None]
    report: divisions.ImportReport


async def _timed_import(dsn: str, directory: Path) -> Timed:
    conn = await asyncpg.connect(dsn)
    try:
        backend = conn.get_server_pid()
        backend_before = _process_cpu_seconds(backend)
        client_before = time.process_time()
        started = time.perf_counter()
        report = await divisions.import_divisions(conn, directory)
        seconds = time.perf_counter() - started
        client = time.process_time() - client_before
        backend_after = _process_cpu_seconds(backend)
    finally:
        await conn.close()
    server = None
    if backend_before is not None and backend_after is not None:
        server = round(backend_after - backend_before, 2)
    return Timed(seconds, {"client": round(client, 2), "server_backend": server}, report)


async def _server_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def _create_database(superuser_dsn: str, password: str, builtin_locale: bool) -> str:
    superuser = await asyncpg.connect(superuser_dsn)
    try:
        if builtin_locale:
            await ensure_owner_and_database(superuser, embedded.OWNER, password, "postgres")
            await superuser.execute(CREATE_BUILTIN_LOCALE_DATABASE)
        await ensure_owner_and_database(superuser, embedded.OWNER, password, embedded.DATABASE)
        row = await superuser.fetchrow(SELECT_LOCALE, embedded.DATABASE)
    finally:
        await superuser.close()
    assert row is not None
    return f"{row['provider']} {row['locale']}"


SELECT_LOCALE = """
SELECT CASE datlocprovider WHEN 'b' THEN 'builtin' WHEN 'i' THEN 'icu' ELSE 'libc' END AS provider,
       coalesce(datlocale, datctype) AS locale
FROM pg_database WHERE datname = $1
"""


async def run(directory: Path, folder: Path, builtin_locale: bool) -> dict[str, Any]:
    db = start_embedded(folder, durable=True)
    assert db.server is not None
    try:
        credentials = db.server.credentials
        locale = await _create_database(
            db.server.superuser_dsn(), credentials.owner, builtin_locale
        )
        await migrate_and_grant(db.owner_dsn, (embedded.RUNTIME, credentials.runtime))
        first = await _timed_import(db.owner_dsn, directory)
        second = await _timed_import(db.owner_dsn, directory)
        version = await _server_version(db.owner_dsn)
    finally:
        db.stop()
    return {
        "regions": first.report.total,
        "seconds": round(first.seconds, 2),
        "within_budget": first.seconds <= BUDGET_SECONDS,
        "per_level": first.report.added,
        "phases": first.report.seconds,
        "cpu_seconds": first.cpu,
        "bulk": first.report.bulk,
        "database_locale": locale,
        "rerun": {
            "seconds": round(second.seconds, 2),
            "phases": second.report.seconds,
            "cpu_seconds": second.cpu,
            "added": sum(second.report.added.values()),
            "regions": second.report.total,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": _memory_gib(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgresql": version,
            "load_average": [round(load, 2) for load in os.getloadavg()],
        },
    }


def main(argv: list[str]) -> int:
    args = argv[1:]
    builtin_locale = "--builtin-locale" in args
    paths = [arg for arg in args if arg != "--builtin-locale"]
    directory = Path(paths[0]) if paths else DEFAULT_DIR
    if not directory.is_dir():
        print(f"no division files in {directory}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hub-bench-import-") as folder:
        result = asyncio.run(run(directory.resolve(), Path(folder), builtin_locale))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
