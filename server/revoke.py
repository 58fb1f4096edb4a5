"""`grassroots token revoke`: refuse a token from now on, by its `jti`.

    grassroots token revoke JTI [--until 2026-12-01T00:00:00+08:00] [--reason TEXT]
    grassroots token revoke --token JWT [--reason TEXT]

With `--token`, the jti and the expiry are read from the token itself (its signature is not
checked: revoking a forged token's jti harms nobody). The revocation is kept until
`--until` (or the token's `exp`), for ever without either. Running hubs refuse the token
within moments (NOTIFY), at the latest after HUB_REVOCATION_RELOAD_SECONDS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

import asyncpg
import jwt

from db.revocations import MAX_JTI, revoke
from server.settings import Settings


class RevokeError(ValueError):
    """The command line names no usable jti or expiry; the message says what to change."""


def add_parser(token: argparse.ArgumentParser) -> None:
    actions = token.add_subparsers(dest="action", metavar="revoke")
    revoked = actions.add_parser("revoke", help="revoke a token by its jti (or the token itself)")
    revoked.add_argument("jti", nargs="?", help="the token's `jti` claim")
    revoked.add_argument("--token", help="the token itself: its jti and exp are used")
    revoked.add_argument("--until", help="ISO 8601 time with offset; default: the token's exp")
    revoked.add_argument("--reason", help="why (kept with the revocation, at most 500 characters)")


def _target(args: argparse.Namespace) -> tuple[str, dt.datetime | None]:
    expires: dt.datetime | None = None
    jti = args.jti
    if args.token is not None:
        if jti is not None:
            raise RevokeError("give a JTI or --token, not both")
        try:
            claims: dict[str, Any] = jwt.decode(args.token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise RevokeError("--token is not a JWT") from None
        jti = claims.get("jti")
        if not isinstance(jti, str):
            raise RevokeError("the token carries no `jti`, so it cannot be revoked") from None
        exp = claims.get("exp")
        if isinstance(exp, int | float):
            expires = dt.datetime.fromtimestamp(exp, dt.UTC)
    if not jti or len(jti) > MAX_JTI:
        raise RevokeError(f"name the token's jti (1 to {MAX_JTI} characters) or give --token")
    if args.until is not None:
        try:
            expires = dt.datetime.fromisoformat(args.until)
        except ValueError:
            raise RevokeError(f"--until is not an ISO 8601 time: {args.until!r}") from None
        if expires.tzinfo is None:
            raise RevokeError("--until needs an offset, e.g. 2026-12-01T00:00:00+08:00")
    if args.reason is not None and len(args.reason) > 500:
        raise RevokeError("--reason takes at most 500 characters")
    return jti, expires


async def revoke_command(settings: Settings, args: argparse.Namespace) -> int:
    from server.cli import _with_owner

    try:
        jti, expires = _target(args)
    except RevokeError as error:
        print(f"token revoke: {error}", file=sys.stderr)
        return 2

    async def run(conn: asyncpg.Connection) -> dt.datetime:
        return await revoke(conn, jti, expires, args.reason)

    at = await _with_owner(settings, run)
    printed = {
        "jti": jti,
        "revokedAt": at.isoformat(),
        "expiresAt": None if expires is None else expires.isoformat(),
    }
    print(json.dumps(printed, ensure_ascii=False, indent=2))
    return 0
