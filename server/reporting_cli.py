"""`grassroots reporting …` (reporting logins) and `grassroots client …` (allow-list clients)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

import asyncpg

from server.settings import Settings


def add_commands(commands: Any) -> None:
    """Add the `reporting` and `client` commands to the CLI's subparsers."""
    reporting = commands.add_parser(
        "reporting", help="PostgreSQL logins that read the reporting views of a jurisdiction"
    )
    actions = reporting.add_subparsers(dest="action", required=True)
    grant = actions.add_parser("grant", help="create or update a reporting login and its scope")
    grant.add_argument("role", help="the login's name: a-z, 0-9, _ (not pg_… or hub_…)")
    grant.add_argument("--jurisdiction", action="append", required=True, metavar="CODE")
    grant.add_argument(
        "--password-file",
        metavar="FILE",
        help="read the password from FILE (default: prompt on a terminal, else generate one "
        "and print it once)",
    )
    revoke = actions.add_parser("revoke", help="drop a reporting login and its scope")
    revoke.add_argument("role")
    actions.add_parser("list", help="the reporting logins and their jurisdictions")

    client = commands.add_parser("client", help="applications limited to registered reports")
    client_actions = client.add_subparsers(dest="action", required=True)
    listed = client_actions.add_parser(
        "allowlist", help="let the client (a token's `client` claim) run registered reports only"
    )
    listed.add_argument("name")
    unlisted = client_actions.add_parser("unlist", help="let the client send any query again")
    unlisted.add_argument("name")
    client_actions.add_parser("list", help="the allow-list clients")


def _password(args: argparse.Namespace) -> tuple[str, bool] | str:
    """The password and whether it was generated, or why there is none."""
    from db.reporting import new_password

    if args.password_file:
        try:
            text = Path(args.password_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            return f"cannot read {args.password_file}: {error}"
        lines = text.splitlines()
        return (lines[0] if lines else "", False)
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {args.role}: ")
        if first != getpass.getpass("again: "):
            return "the passwords differ"
        return first, False
    return new_password(), True


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from db import allowlist, reporting
    from server.cli import _with_owner

    secret: tuple[str, bool] | None = None
    if args.command == "reporting" and args.action == "grant":
        got = _password(args)
        if isinstance(got, str):
            print(f"reporting: {got}", file=sys.stderr)
            return 1
        secret = got

    async def work(conn: asyncpg.Connection) -> Any:
        if args.command == "client":
            if args.action == "allowlist":
                added = await allowlist.add(conn, args.name)
                return {"client": args.name, "status": "added" if added else "unchanged"}
            if args.action == "unlist":
                removed = await allowlist.remove(conn, args.name)
                return {"client": args.name, "status": "removed" if removed else "not listed"}
            return await allowlist.clients(conn)
        if args.action == "grant":
            assert secret is not None
            password, generated = secret
            granted = await reporting.grant(conn, args.role, args.jurisdiction, password)
            result: dict[str, Any] = {
                "role": granted.role,
                "status": granted.status,
                "jurisdictions": list(granted.jurisdictions),
            }
            if generated:
                result["password"] = password  # shown once, stored only as a verifier
            return result
        if args.action == "revoke":
            found = await reporting.revoke(conn, args.role)
            return {"role": args.role, "status": "revoked" if found else "not found"}
        return await reporting.logins(conn)

    try:
        result = await _with_owner(settings, work)
    except reporting.ReportingError as error:
        print(f"reporting: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0
