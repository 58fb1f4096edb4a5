"""`grassroots`: serve the hub, issue development tokens, and look after the database."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from server import revoke
from server.settings import Settings, SettingsError, load_settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    app = create_app(settings, seed_demo=args.demo)
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
        access_log=False,  # the hub's own JSON access log replaces uvicorn's (HUB_ACCESS_LOG)
        loop="auto",
        timeout_graceful_shutdown=10,
    )
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth import issue

    print(issue(settings, args.sub, args.jurisdiction, args.role, ttl=args.ttl, client=args.client))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from schema.build import SDL_PATH, build_schema, sdl

    text = sdl(build_schema())
    if args.write:
        SDL_PATH.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


async def _with_owner(
    settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[Any]]
) -> Any:
    from db.setup import prepare

    db = await prepare(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        runtime_database_url=settings.runtime_database_url,
        runtime_password=settings.runtime_password,
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
    from db import demo, divisions, migrate

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
    elif args.action == "seed-demo":

        async def run(conn: asyncpg.Connection) -> Any:
            await divisions.import_divisions(conn, divisions.DEMO_DIVISIONS)
            return vars(await demo.seed_demo(conn))
    else:

        async def run(conn: asyncpg.Connection) -> Any:
            applied = await migrate.applied(conn)
            pending = [m.name for m in migrate.available() if m.version not in applied]
            counts = {}
            for table in (
                "region",
                "organization",
                "service_request",
                "participation_event",
                "resolution",
            ):
                counts[table] = await conn.fetchval(f"select count(*) from {table}")
            return {
                "database": "embedded" if settings.embedded else "external",
                "applied": list(applied.values()),
                "pending": pending,
                "rows": counts,
            }

    try:
        result = await _with_owner(settings, run)
    except divisions.DivisionImportError as error:
        print(f"import-divisions: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


async def ingest_as(
    pool: Any, settings: Settings, token: str, source: str, format: str, data: str
) -> tuple[int, dict[str, Any]]:
    """`grassroots ingest`: the `ingest` mutation's own code, as the token's caller, in one
    transaction. Returns the exit code and what to print (the result, or the refusal)."""
    from resolvers.context import Context
    from resolvers.errors import HubError
    from resolvers.ids import CursorCodec
    from resolvers.mutations.ingest import ingest
    from resolvers.regions import RegionDirectory
    from resolvers.session import RequestSession
    from server.auth import KeySet, authenticate

    directory = RegionDirectory(pool)
    keys = KeySet(settings.jwks_url) if settings.jwks_url else None
    try:
        caller = await authenticate(f"Bearer {token}", settings, directory, keys)
    except HubError as error:
        return 1, {"errors": [error.formatted]}
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
    )
    try:
        pool = await create_pool(db.runtime_dsn, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:  # as the server does: never as a privileged login
                await check_runtime_role(conn)
            return await ingest_as(pool, settings, token, source, format, data)
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
        rows = await conn.fetch("select name, region_code, registered_at from source order by name")
        return [
            {
                "source": r["name"],
                "jurisdiction": r["region_code"],
                "registered": r["registered_at"],
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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="grassroots", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate and serve /graphql, /healthz, /readyz")
    serve.add_argument("--demo", action="store_true", help="seed the demo county when empty")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    token = commands.add_parser(
        "token", help="print a development JWT signed with the secret (or: token revoke)"
    )
    # --sub, --jurisdiction and --role are required unless revoking (checked in `main`).
    token.add_argument("--sub")
    token.add_argument("--jurisdiction", action="append", metavar="CODE")
    token.add_argument("--role", action="append", choices=["viewer", "editor", "pii", "auditor"])
    token.add_argument("--ttl", type=int, default=3600, metavar="SECONDS")
    token.add_argument("--client")
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
    return asyncio.run(_db(settings, args))


if __name__ == "__main__":
    sys.exit(main())
