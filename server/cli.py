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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="grassroots", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate and serve /graphql, /healthz, /readyz")
    serve.add_argument("--demo", action="store_true", help="seed the demo county when empty")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    token = commands.add_parser("token", help="print a development JWT signed with the secret")
    token.add_argument("--sub", required=True)
    token.add_argument("--jurisdiction", action="append", required=True, metavar="CODE")
    token.add_argument(
        "--role", action="append", required=True, choices=["viewer", "editor", "pii", "auditor"]
    )
    token.add_argument("--ttl", type=int, default=3600, metavar="SECONDS")
    token.add_argument("--client")

    printed = commands.add_parser("schema", help="print the SDL (or --write schema/schema.graphql)")
    printed.add_argument("--write", action="store_true")

    db = commands.add_parser("db", help="database maintenance")
    actions = db.add_subparsers(dest="action", required=True)
    actions.add_parser("migrate", help="apply pending migrations")
    imports = actions.add_parser("import-divisions", help="import division files (gzip CSV)")
    imports.add_argument("dir", nargs="?", help="folder of the five files (default: the demo)")
    actions.add_parser("seed-demo", help="import the demo county and seed its records")
    actions.add_parser("status", help="migrations and row counts")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"grassroots: {error}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "token":
        return _token(settings, args)
    if args.command == "schema":
        return _schema(args)
    return asyncio.run(_db(settings, args))


if __name__ == "__main__":
    sys.exit(main())
