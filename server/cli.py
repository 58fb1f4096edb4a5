"""`grassroots`: serve the hub, issue development tokens, and look after the database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from db import clock
from server import reporting_cli, revoke
from server.settings import Settings, SettingsError, load_settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import dataclasses

    from server.serve import serve
    from server.settings import workers

    if args.workers is not None:  # --workers overrides HUB_WORKERS
        try:
            settings = dataclasses.replace(settings, workers=workers(args.workers))
        except SettingsError as error:
            print(f"grassroots: --workers: {error}", file=sys.stderr)
            return 2
    return serve(settings, demo=args.demo, host=args.host, port=args.port)


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.scope import READING_ROLES
    from server.auth import issue

    if not READING_ROLES & set(args.role):
        print(
            "token: a token needs a role that reads records (viewer, editor or auditor); "
            "pii alone reads nothing",
            file=sys.stderr,
        )
        return 1
    if args.dashboard:  # a one-time sign-in link instead of a token (issue 19)
        from server.link_cli import dashboard_link

        return asyncio.run(dashboard_link(settings, args))
    print(issue(settings, args.sub, args.jurisdiction, args.role, ttl=args.ttl, client=args.client))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from schema.build import SDL_PATH, build_schema, sdl
    from schema.client_sdl import CLIENT_SDL_PATH, client_sdl

    text = sdl(build_schema())
    if args.write:
        SDL_PATH.write_text(text, encoding="utf-8")
        CLIENT_SDL_PATH.write_text(client_sdl(text), encoding="utf-8")
    else:
        print(text, end="")
    return 0


async def _with_owner(
    settings: Settings,
    work: Callable[[asyncpg.Connection], Awaitable[Any]],
    *,
    apply_migrations: bool = True,
) -> Any:
    from db.setup import prepare

    db = await prepare(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        runtime_database_url=settings.runtime_database_url,
        runtime_password=settings.runtime_password,
        apply_migrations=apply_migrations,
        listen=settings.postgres_listen,
    )
    try:
        conn = await asyncpg.connect(db.owner_dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()
    finally:
        db.stop()


async def _db(settings: Settings, args: argparse.Namespace) -> int:
    from db import demo, divisions, migrate, rollups

    if args.action == "migrate":

        async def run(conn: asyncpg.Connection) -> Any:
            return {"applied": list((await migrate.applied(conn)).values())}
    elif args.action == "import-divisions":
        folder = Path(args.dir) if args.dir else divisions.DEMO_DIVISIONS

        async def run(conn: asyncpg.Connection) -> Any:
            started = time.perf_counter()
            report = await divisions.import_divisions(conn, folder)
            return {
                "added": report.added,
                "total": report.total,
                "seconds": round(time.perf_counter() - started, 2),
            }
    elif args.action == "rebuild-rollups":

        async def run(conn: asyncpg.Connection) -> Any:
            return await rollups.rebuild(conn)
    elif args.action == "check-rollups":

        async def run(conn: asyncpg.Connection) -> Any:
            return {"differences": await rollups.check(conn)}
    elif args.action == "seed-demo":

        async def run(conn: asyncpg.Connection) -> Any:
            await divisions.import_divisions(conn, divisions.DEMO_DIVISIONS)
            return vars(await demo.seed_demo(conn))
    else:

        async def run(conn: asyncpg.Connection) -> Any:
            return await _status(settings, conn)

    try:
        result = await _with_owner(settings, run, apply_migrations=args.action != "status")
    except divisions.DivisionImportError as error:
        print(f"import-divisions: {error}", file=sys.stderr)
        return 1
    except migrate.ChangedMigrationError as error:
        print(f"grassroots: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 1 if any(result.get("differences", {}).values()) or result.get("changed") else 0


async def _status(settings: Settings, conn: asyncpg.Connection) -> dict[str, Any]:
    from db import migrate

    # A changed migration is reported here rather than refused, so status can show it.
    changed = await migrate.changed(conn)
    if not changed:
        await migrate.migrate(conn)
    applied = await migrate.applied(conn)
    pending = [m.name for m in migrate.available() if m.version not in applied]
    counts = {}
    for table in ("region", "organization", "service_request", "participation_event", "resolution"):
        counts[table] = await conn.fetchval(f"select count(*) from {table}")
    return {
        "database": "embedded" if settings.embedded else "external",
        "applied": list(applied.values()),
        "pending": pending,
        "changed": changed,
        "rows": counts,
    }


async def _backup_or_restore(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from db import backup, embedded

    file = Path(args.file)
    try:
        if args.action == "restore":
            if not settings.embedded:
                print(
                    "grassroots: restore builds an embedded data folder (HUB_DATA_DIR); with "
                    "HUB_DATABASE_URL set, restore the file's roles.sql and hub.dump with "
                    "psql and pg_restore (see README, Backups)",
                    file=sys.stderr,
                )
                return 2
            report: Any = await backup.restore(file, settings.data_dir)
        elif settings.database_url is not None:
            report = await backup.backup(settings.database_url, file)
        else:
            if not (settings.data_dir / "pg" / "PG_VERSION").exists():
                print(f"grassroots: no database in {settings.data_dir} to back up", file=sys.stderr)
                return 1
            server = embedded.EmbeddedPostgres(settings.data_dir)
            await asyncio.to_thread(server.start)
            try:
                report = await backup.backup(server.superuser_dsn(embedded.DATABASE), file)
            finally:
                await asyncio.to_thread(server.stop)
    except (backup.BackupError, embedded.EmbeddedError) as error:
        print(f"grassroots: {args.action}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    return 0


async def ingest_as(
    pool: Any,
    settings: Settings,
    token: str,
    source: str,
    format: str,
    data: str,
    revocation_dsn: str,
) -> tuple[int, dict[str, Any]]:
    """`grassroots ingest`: the `ingest` mutation's own code, as the token's caller, in one
    transaction. Returns the exit code and what to print (the result, or the refusal)."""
    from db.revocations import RevocationList
    from resolvers.allowlist import AllowList
    from resolvers.context import Context
    from resolvers.errors import HubError
    from resolvers.ids import CursorCodec
    from resolvers.mutations.ingest import ingest
    from resolvers.regions import RegionDirectory
    from resolvers.session import RequestSession
    from server.admission import Credentials, Gate, Refused, admit
    from server.auth import KeySet

    directory = RegionDirectory(pool)
    keys = KeySet(settings.jwks_url) if settings.jwks_url else None
    revocations = RevocationList(revocation_dsn)
    gate = Gate(settings, directory, keys, revocations, AllowList(pool))
    try:
        await revocations.reload()
        caller = await admit(gate, Credentials.bearer(token))
    except Refused as refused:
        return refused.exit_code, {"errors": [refused.error.formatted]}
    session = RequestSession(pool, caller)
    context = Context(caller, session, CursorCodec(settings.jwt_secret), directory)
    committed = False
    try:
        report = await ingest(context, source, format, data)
        await session.close(commit=True)
        committed = True
    except HubError as error:
        return 1, {"errors": [error.formatted]}
    finally:
        if not committed:
            await session.close(commit=False)
    return 0, report.as_dict()


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"ingest: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    format = args.format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    source = args.source or path.stem
    code, output = asyncio.run(_ingest_data(settings, args.token, source, format, data))
    print(json.dumps(output, ensure_ascii=False, indent=2))
    return code


async def _ingest_data(
    settings: Settings, token: str, source: str, format: str, data: str
) -> tuple[int, dict[str, Any]]:
    from db.pool import create_pool
    from db.roles import check_runtime_role
    from db.setup import prepare

    db = await prepare(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        runtime_database_url=settings.runtime_database_url,
        runtime_password=settings.runtime_password,
        listen=settings.postgres_listen,
    )
    try:
        pool = await create_pool(db.runtime_dsn, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:  # as the server does: never as a privileged login
                await check_runtime_role(conn)
            return await ingest_as(pool, settings, token, source, format, data, db.runtime_dsn)
        finally:
            await pool.close()
    finally:
        db.stop()


async def _source(settings: Settings, args: argparse.Namespace) -> int:
    async def run(conn: asyncpg.Connection) -> Any:
        if args.action == "register":
            status = await conn.fetchval(
                "select register_source($1, $2)", args.name, args.jurisdiction
            )
            return {"source": args.name, "jurisdiction": args.jurisdiction, "status": status}
        from resolvers.sources import EVERY_SOURCE

        rows = await conn.fetch(EVERY_SOURCE)
        return [
            {
                "source": r["name"],
                "jurisdiction": r["region_code"],
                "registered": r["registered_at"],
                "lastImport": r["last_import_at"],
                "batches": r["batches"],
                "records": {
                    "organizations": r["organizations"],
                    "serviceRequests": r["service_requests"],
                    "participationEvents": r["participation_events"],
                    "resolutions": r["resolutions"],
                },
            }
            for r in rows
        ]

    try:
        result = await _with_owner(settings, run)
    except asyncpg.ForeignKeyViolationError:
        print(f"source: no region {args.jurisdiction}", file=sys.stderr)
        return 1
    except (asyncpg.UniqueViolationError, asyncpg.CheckViolationError) as error:
        print(f"source: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


async def _synthesize(settings: Settings, args: argparse.Namespace) -> int:
    from db import synthesize
    from db.setup import prepare

    db = await prepare(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        runtime_database_url=settings.runtime_database_url,
        runtime_password=settings.runtime_password,
    )
    try:
        report = await synthesize.synthesize(db.owner_dsn, args.scale, replace=args.replace)
    except synthesize.SynthesisError as error:
        print(f"synthesize: {error}", file=sys.stderr)
        return 1
    finally:
        db.stop()
    result = report.as_dict()
    result["data_folder_bytes"] = _folder_bytes(settings.data_dir) if settings.embedded else None
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _folder_bytes(folder: Path) -> int:
    """Bytes of the files under `folder` (ones that vanish or cannot be read are skipped)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="grassroots", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate and serve /graphql, /healthz, /readyz")
    serve.add_argument("--demo", action="store_true", help="seed the demo county when empty")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers", help="worker processes on the one port: a number or auto (HUB_WORKERS)"
    )

    token = commands.add_parser(
        "token", help="print a development JWT signed with the secret (or: token revoke)"
    )
    # --sub, --jurisdiction and --role are required unless revoking (checked in `main`).
    token.add_argument("--sub")
    token.add_argument("--jurisdiction", action="append", metavar="CODE")
    token.add_argument("--role", action="append", choices=["viewer", "editor", "pii", "auditor"])
    token.add_argument("--ttl", type=int, default=3600, metavar="SECONDS")
    token.add_argument("--client")
    token.add_argument(
        "--dashboard",
        action="store_true",
        help="development: print a one-time sign-in link for /dashboard instead of a token",
    )
    revoke.add_parser(token)

    printed = commands.add_parser("schema", help="print the SDL (or --write schema/schema.graphql)")
    printed.add_argument("--write", action="store_true")

    db = commands.add_parser("db", help="database maintenance")
    actions = db.add_subparsers(dest="action", required=True)
    actions.add_parser("migrate", help="apply pending migrations")
    imports = actions.add_parser("import-divisions", help="import division files (gzip CSV)")
    imports.add_argument("dir", nargs="?", help="folder of the five files (default: the demo)")
    actions.add_parser("seed-demo", help="import the demo county and seed its records")
    actions.add_parser("status", help="migrations and row counts")
    actions.add_parser("rebuild-rollups", help="rebuild the roll-up tables from the base rows")
    actions.add_parser(
        "check-rollups", help="compare the roll-up tables with a rebuild (exit 1 if they differ)"
    )
    synth = actions.add_parser(
        "synthesize", help="fill a subtree with deterministic synthetic records (benchmarks)"
    )
    synth.add_argument(
        "--scale", required=True, metavar="SCALE", help="national, province:CODE or county:CODE"
    )
    synth.add_argument("--replace", action="store_true", help="delete the subtree's records first")
    saved = actions.add_parser(
        "backup", help="write the database and its roles to FILE (pg_dump + role definitions)"
    )
    saved.add_argument("file")
    restored = actions.add_parser(
        "restore", help="rebuild an empty embedded data folder (HUB_DATA_DIR) from FILE"
    )
    restored.add_argument("file")

    ingest = commands.add_parser(
        "ingest", help="ingest a batch of a source's records (JSON Lines or CSV) as the token"
    )
    ingest.add_argument("file", help="the batch; - reads standard input")
    ingest.add_argument("--token", required=True, help="the caller's bearer token (editor)")
    ingest.add_argument("--source", help="the registered source (default: the file's name)")
    ingest.add_argument("--format", choices=["jsonl", "csv"], help="default: by the extension")

    sources = commands.add_parser("source", help="the registry of subordinate systems")
    source_actions = sources.add_subparsers(dest="action", required=True)
    register = source_actions.add_parser("register", help="register a source to a jurisdiction")
    register.add_argument("name")
    register.add_argument("--jurisdiction", required=True, metavar="CODE")
    source_actions.add_parser("list", help="the registered sources")
    reporting_cli.add_commands(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    top = parser()
    args = top.parse_args(argv)
    issuing = args.command == "token" and args.action is None
    if issuing and not (args.sub and args.jurisdiction and args.role):
        top.error("token: --sub, --jurisdiction and --role are required")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"grassroots: {error}", file=sys.stderr)
        return 2
    if settings.today is not None:  # HUB_TODAY: the one clock's day (db/clock.py)
        clock.pin(settings.today)
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "token" and args.action == "revoke":
        return asyncio.run(revoke.revoke_command(settings, args))
    if args.command == "token":
        return _token(settings, args)
    if args.command == "schema":
        return _schema(args)
    if args.command == "ingest":
        return _ingest(settings, args)
    if args.command == "source":
        return asyncio.run(_source(settings, args))
    if args.command in ("reporting", "client"):
        return asyncio.run(reporting_cli.run(settings, args))
    if args.action == "synthesize":
        return asyncio.run(_synthesize(settings, args))
    if args.action in ("backup", "restore"):
        return asyncio.run(_backup_or_restore(settings, args))
    return asyncio.run(_db(settings, args))


if __name__ == "__main__":
    sys.exit(main())
