"""Bearer tokens to callers (DESIGN.md §3): signature, expiry, claims, known jurisdictions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from resolvers.errors import Unauthenticated
from resolvers.regions import RegionDirectory
from resolvers.scope import REGION_CODE, ROLES, Caller, Grant
from server.settings import Settings

LEEWAY_SECONDS = 30
ALGORITHMS = ["HS256"]


def bearer(header: str | None) -> str:
    if not header:
        raise Unauthenticated("Send a bearer token: `Authorization: Bearer <JWT>`")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send a bearer token: `Authorization: Bearer <JWT>`")
    return token.strip()


def decode(token: str, settings: Settings) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=ALGORITHMS,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=LEEWAY_SECONDS,
            options={
                "require": ["exp", "sub"],
                "verify_aud": settings.jwt_audience is not None,
                "verify_iss": settings.jwt_issuer is not None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired; get a new one") from None
    except jwt.PyJWTError:
        raise Unauthenticated("The token is not valid") from None
    return claims


def _grants_claim(claims: Mapping[str, Any]) -> list[tuple[str, frozenset[str]]]:
    def roles_of(value: Any) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
            raise Unauthenticated("The token's roles must be a list of strings")
        return frozenset(r for r in value if r in ROLES)

    if "grants" in claims:
        grants = claims["grants"]
        if not isinstance(grants, list) or not all(isinstance(g, dict) for g in grants):
            raise Unauthenticated("The token's grants must be a list of {region, roles}")
        return [(str(g.get("region")), roles_of(g.get("roles"))) for g in grants]
    codes = claims.get("jurisdictions")
    if not isinstance(codes, list) or not codes:
        raise Unauthenticated("The token names no jurisdiction")
    roles = roles_of(claims.get("roles", []))
    return [(str(code), roles) for code in codes]


async def authenticate(
    header: str | None, settings: Settings, directory: RegionDirectory
) -> Caller:
    claims = decode(bearer(header), settings)
    pairs = _grants_claim(claims)
    codes = [code for code, _ in pairs]
    if not all(REGION_CODE.match(code) for code in codes):
        raise Unauthenticated("The token names a jurisdiction that is not a division code")
    known = await directory.lookup(codes)
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise Unauthenticated(
            f"The token names jurisdictions that do not exist: {', '.join(unknown)}"
        )
    grants = [Grant(code, known[code].path, roles) for code, roles in pairs]
    client = claims.get("client")
    return Caller.from_grants(str(claims["sub"]), grants, str(client) if client else None)


def issue(
    settings: Settings,
    subject: str,
    jurisdictions: Iterable[str],
    roles: Iterable[str],
    ttl: int = 3600,
    client: str | None = None,
) -> str:
    """A development token signed with the configured secret."""
    role_list = sorted(set(roles))
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
        "jurisdictions": list(jurisdictions),
        "roles": role_list,
        "scope": " ".join(role_list),
    }
    if client:
        claims["client"] = client
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
