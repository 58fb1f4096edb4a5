"""One-time links (`db/migrations/0017_one_time_links.sql`, DESIGN.md §8): made and redeemed.

A nonce is 256 random bits from `secrets`, shown once; the database keeps its SHA-256 only,
so a copy of the table opens nothing. The request role reaches the table only through
`create_one_time_link` and `redeem_one_time_link`; the CLI's sign-in links are stored the
same way, as the owner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

Kind = Literal["download", "sign_in"]
Outcome = Literal["ok", "unknown", "revoked", "used", "expired"]

NONCE_BYTES = 32
# What `secrets.token_urlsafe(32)` gives: 43 characters of the URL-safe base64 alphabet.
NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")

# name: create-one-time-link — store a link by its nonce's hash.
CREATE = "select create_one_time_link($1, $2, $3, $4, $5::text::jsonb, $6, $7)"
# name: redeem-one-time-link — mark a link used once (or only look); says why not otherwise.
REDEEM = "select * from redeem_one_time_link($1, $2, $3)"


@dataclass(frozen=True)
class Redemption:
    """What redeeming a nonce found: `outcome`, and for a link that exists, what it holds."""

    outcome: Outcome
    subject: str | None = None
    jti: str | None = None
    claims: dict[str, Any] | None = None
    target: str | None = None
    expires_at: dt.datetime | None = None


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def nonce_hash(nonce: str) -> bytes:
    return hashlib.sha256(nonce.encode("ascii", "replace")).digest()


async def store(
    conn: Any,
    kind: Kind,
    subject: str,
    jti: str,
    claims: dict[str, Any],
    target: str | None,
    expires_at: dt.datetime,
) -> str:
    """A new link on `conn` (the runtime pool's or the owner's connection); its nonce."""
    nonce = new_nonce()
    await conn.fetchval(
        CREATE,
        nonce_hash(nonce),
        kind,
        subject,
        jti,
        json.dumps(claims, ensure_ascii=False),
        target,
        expires_at,
    )
    return nonce


class LinkStore:
    """The running hub's links, through its request pool (as the allow-list is read); the
    caller wraps each call in `database_reachable`."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def create(
        self,
        kind: Kind,
        subject: str,
        jti: str,
        claims: dict[str, Any],
        target: str | None,
        expires_at: dt.datetime,
    ) -> str:
        async with self._pool.acquire() as conn:
            return await store(conn, kind, subject, jti, claims, target, expires_at)

    async def redeem(self, nonce: str, kind: Kind, *, use: bool = True) -> Redemption:
        """Redeems `nonce` once (`use=False`: only looks whether it could be); a nonce of the
        wrong shape is simply unknown."""
        if not NONCE.match(nonce):
            return Redemption("unknown")
        async with self._pool.acquire() as conn:
            row: asyncpg.Record = await conn.fetchrow(REDEEM, nonce_hash(nonce), kind, use)
        if row["outcome"] == "unknown":
            return Redemption("unknown")
        claims = row["claims"]
        return Redemption(
            row["outcome"],
            row["subject"],
            row["jti"],
            json.loads(claims) if isinstance(claims, str) else claims,
            row["target"],
            row["expires_at"],
        )
