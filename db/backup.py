"""`grassroots db backup FILE` and `db restore FILE`: one file that rebuilds the hub's
database together with the roles its policies and logins rely on.

The file is a tar archive of three members:

- `manifest.json`: format, time, server version, the database and its owner, the applied
  migrations, and the roles carried;
- `roles.sql`: `pg_dumpall --roles-only` with every superuser left out: the owner, the
  `hub_runtime` group, the runtime login and any other login (reporting tools, …) with
  their attributes, memberships and password hashes (SCRAM verifiers, never plain text);
- `hub.dump`: `pg_dump --format=custom` of the database: schema, rows, grants, policies.

`restore` rebuilds an embedded data folder, which must be empty: it runs `initdb` (with a
new credentials file), replays `roles.sql`, restores the dump in one transaction, and then
sets the passwords of the owner and the runtime login to the new folder's credentials, so
the file never needs to hold the old folder's plain-text passwords. Other logins keep their
passwords from the backup. A restore that fails leaves the folder as empty as it found it.

The file holds personal data and password hashes: it is written readable by its owner only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

from db import embedded, roles
from db.embedded import POSTGRES_BIN_PATH, EmbeddedPostgres

FORMAT = "grassroots-hub-backup/1"
MANIFEST, ROLES, DUMP = "manifest.json", "roles.sql", "hub.dump"
# What `load_settings` may already have written into a new data folder.
ALLOWED_IN_EMPTY_FOLDER = {"jwt-secret"}

SUPERUSERS = "select rolname, quote_ident(rolname) as quoted from pg_roles where rolsuper"
CARRIED_ROLES = """
select rolname from pg_roles
where not rolsuper and rolname !~ '^pg_' order by rolname
"""
REASSIGN = "select format('reassign owned by %I to %I', $1::text, $2::text)"
DATABASE_OWNER = """
select pg_get_userbyid(datdba) from pg_database where datname = current_database()
"""


class BackupError(RuntimeError):
    """The backup or restore could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    file: str
    bytes: int
    database: str
    roles: list[str]
    migrations: int


@dataclass(frozen=True)
class RestoreReport:
    data_dir: str
    database: str
    roles: list[str]
    migrations: int
    backed_up_at: str


def _libpq(dsn: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that passes the password (so it
    never shows in the process list)."""
    parts = urlsplit(dsn)
    password = parts.password
    host = parts.netloc.rsplit("@", 1)[-1]
    user = quote(parts.username or "", safe="")
    netloc = f"{user}@{host}" if parts.username else host
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password is not None:
        env["PGPASSWORD"] = unquote(password)
    return urlunsplit(parts._replace(netloc=netloc)), env


def _database_of(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/") or "postgres"


async def _run(tool: str, *args: str, env: dict[str, str]) -> bytes:
    process = await asyncio.create_subprocess_exec(
        str(POSTGRES_BIN_PATH / tool),
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{tool} failed: {err.decode(errors='replace').strip()}")
    return out


def _without_superusers(script: str, superusers: list[tuple[str, str]]) -> str:
    """`pg_dumpall --roles-only` output minus the statements about superusers, which the
    target server has of its own (and which no hub role needs), and minus psql's
    meta-commands (`\\restrict`), so that it runs as plain SQL."""
    kept: list[str] = []
    for line in script.splitlines():
        if line.startswith("\\"):
            continue
        about_superuser = False
        for _, quoted in superusers:
            if line.startswith((f"CREATE ROLE {quoted};", f"ALTER ROLE {quoted} ")) or (
                line.startswith("GRANT ") and f" TO {quoted}" in line
            ):
                about_superuser = True
                break
            line = line.replace(f" GRANTED BY {quoted}", "")
        if not about_superuser:
            kept.append(line)
    return "\n".join(kept) + "\n"


async def backup(dsn: str, file: Path) -> BackupReport:
    """Write the backup of the database `dsn` names. A superuser login (the embedded
    server's) carries password hashes; any other login carries roles without passwords."""
    conn = await asyncpg.connect(dsn)
    try:
        superuser = bool(await conn.fetchval("select rolsuper from pg_roles where rolname = user"))
        superusers = [(r["rolname"], r["quoted"]) for r in await conn.fetch(SUPERUSERS)]
        carried = [r["rolname"] for r in await conn.fetch(CARRIED_ROLES)]
        owner = await conn.fetchval(DATABASE_OWNER)
        version = await conn.fetchval("show server_version")
        migrations = {}
        if await conn.fetchval("select to_regclass('schema_migration') is not null"):
            rows = await conn.fetch("select version, name from schema_migration order by version")
            migrations = {str(r["version"]): r["name"] for r in rows}
    finally:
        await conn.close()
    url, env = _libpq(dsn)
    database = _database_of(dsn)
    passwords = [] if superuser else ["--no-role-passwords"]
    script = await _run(
        "pg_dumpall", "--roles-only", *passwords, f"--dbname={url}", f"-l{database}", env=env
    )
    manifest = {
        "format": FORMAT,
        "backedUpAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "serverVersion": version,
        "database": database,
        "owner": owner,
        "rolePasswords": superuser,
        "roles": carried,
        "migrations": migrations,
    }
    with tempfile.TemporaryDirectory(prefix="hub-backup-") as work:
        dump = Path(work) / DUMP
        await _run("pg_dump", "--format=custom", f"--file={dump}", f"--dbname={url}", env=env)
        roles_sql = _without_superusers(script.decode(), superusers)
        written, size = await asyncio.to_thread(_package, file, manifest, roles_sql, dump)
    return BackupReport(written, size, database, carried, len(migrations))


def _package(file: Path, manifest: dict[str, Any], roles_sql: str, dump: Path) -> tuple[str, int]:
    """The archive, written beside `file` and renamed onto it: whole or not at all."""
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(f".{file.name}.partial")
    try:
        with tarfile.open(partial, "w") as tar:
            partial.chmod(0o600)
            _add(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
            _add(tar, ROLES, roles_sql.encode())
            tar.add(dump, arcname=DUMP, filter=_private)
        partial.replace(file)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return str(file.absolute()), file.stat().st_size


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _read(file: Path, work: Path) -> dict[str, Any]:
    try:
        with tarfile.open(file, "r") as tar:
            names = set(tar.getnames())
            if names != {MANIFEST, ROLES, DUMP}:
                raise BackupError(f"{file} is not a hub backup (it holds {sorted(names)})")
            tar.extractall(work, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise BackupError(f"cannot read {file}: {error}") from None
    manifest: dict[str, Any] = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{file} is in format {manifest.get('format')!r}, not {FORMAT}")
    return manifest


def refuse_unless_empty(data_dir: Path) -> None:
    present = (
        sorted(p.name for p in data_dir.iterdir() if p.name not in ALLOWED_IN_EMPTY_FOLDER)
        if data_dir.is_dir()
        else []
    )
    if present:
        raise BackupError(
            f"the data folder {data_dir} is not empty ({', '.join(present[:5])}); restore "
            "builds a new one: point HUB_DATA_DIR at an empty or new folder"
        )


async def restore(file: Path, data_dir: Path) -> RestoreReport:
    """Rebuild the embedded data folder `data_dir` (empty) from the backup `file`."""
    refuse_unless_empty(data_dir)
    with tempfile.TemporaryDirectory(prefix="hub-restore-") as folder:
        work = Path(folder)  # read by pg_restore, which runs as this process's user
        manifest = await asyncio.to_thread(_read, file, work)
        server = EmbeddedPostgres(data_dir)
        try:
            await asyncio.to_thread(server.start)
            await _replay(server, work, manifest)
        except BaseException:
            await asyncio.to_thread(_undo, server, data_dir)
            raise
        await asyncio.to_thread(server.stop)
    return RestoreReport(
        str(data_dir),
        embedded.DATABASE,
        list(manifest["roles"]),
        len(manifest["migrations"]),
        manifest["backedUpAt"],
    )


async def _replay(server: EmbeddedPostgres, work: Path, manifest: dict[str, Any]) -> None:
    credentials = server.credentials
    superuser = await asyncpg.connect(server.superuser_dsn())
    try:
        async with superuser.transaction():
            await superuser.execute((work / ROLES).read_text(encoding="utf-8"))
        # The owner login and the database, with the new folder's owner password.
        await roles.ensure_owner_and_database(
            superuser, embedded.OWNER, credentials.owner, embedded.DATABASE
        )
    finally:
        await superuser.close()
    url, env = _libpq(server.superuser_dsn(embedded.DATABASE))
    await _run(
        "pg_restore",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={url}",
        str(work / DUMP),
        env=env,
    )
    hub = await asyncpg.connect(server.superuser_dsn(embedded.DATABASE))
    try:
        if manifest["owner"] != embedded.OWNER:  # from an external server: the hub's owner
            statement = await hub.fetchval(REASSIGN, manifest["owner"], embedded.OWNER)
            await hub.execute(statement)
        await roles.ensure_runtime_login(hub, embedded.RUNTIME, credentials.runtime)
        await hub.execute("analyze")
    finally:
        await hub.close()
    runtime = await asyncpg.connect(server.runtime_dsn())
    try:  # what `serve` will insist on: the restored runtime login is still safe
        await roles.check_runtime_role(runtime)
    finally:
        await runtime.close()


def _undo(server: EmbeddedPostgres, data_dir: Path) -> None:
    """Back to the empty folder the restore started from."""
    try:
        server.stop()
    finally:
        for entry in data_dir.iterdir():
            if entry.name in ALLOWED_IN_EMPTY_FOLDER:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
