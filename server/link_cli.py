"""`grassroots token --dashboard …`: a development sign-in link for the dashboard.

The link's nonce stores the claims the token would carry (never a JWT): `POST /auth/link`
redeems it once for a token of at most an hour. Printed as
`<HUB_PUBLIC_URL>/dashboard#link=<nonce>` (the nonce in the fragment, so it never reaches a
server log); without HUB_PUBLIC_URL, `http://127.0.0.1:<HUB_PORT>`. Production refuses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from typing import Any

import asyncpg

from db.links import store
from server.settings import Settings

PRODUCTION_REFUSES = (
    "token --dashboard: sign-in links are for development only (HUB_ENV=production); "
    "in production the dashboard takes a token from your identity provider"
)


def sign_in_claims(args: argparse.Namespace) -> dict[str, Any]:
    """The claims `POST /auth/link` mints the token with, as `grassroots token` would."""
    roles = sorted(set(args.role))
    claims: dict[str, Any] = {
        "sub": args.sub,
        "jti": str(uuid.uuid4()),
        "jurisdictions": list(args.jurisdiction),
        "roles": roles,
        "scope": " ".join(roles),
        "ttl": args.ttl,
    }
    if args.client:
        claims["client"] = args.client
    return claims


def base_url(settings: Settings) -> str:
    return settings.public_url or f"http://127.0.0.1:{settings.port}"


async def dashboard_link(settings: Settings, args: argparse.Namespace) -> int:
    from server.cli import _with_owner

    if settings.production:
        print(PRODUCTION_REFUSES, file=sys.stderr)
        return 2
    claims = sign_in_claims(args)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.link_ttl_seconds)

    async def run(conn: asyncpg.Connection) -> str:
        return await store(conn, "sign_in", args.sub, claims["jti"], claims, None, expires)

    nonce = await _with_owner(settings, run)
    print(f"{base_url(settings)}/dashboard#link={nonce}")
    return 0
