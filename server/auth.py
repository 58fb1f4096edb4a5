"""Bearer tokens to callers (DESIGN.md §3): signature, expiry, claims, known jurisdictions.

HS256 tokens are checked with the configured secret; RS/ES/PS tokens with the keys of the
configured JWKS URL (cached, refreshed when an unknown key id appears). A token's `alg`
only chooses between the two: an HS256 token is never checked with a public key, and no
algorithm outside these lists is accepted (`none` included).
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from db.revocations import RevocationList
from resolvers.errors import Unauthenticated
from resolvers.regions import RegionDirectory
from resolvers.scope import REGION_CODE, ROLES, Caller, Grant
from server.settings import Settings

LEEWAY_SECONDS = 30
SYMMETRIC = ["HS256"]
ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
GATEWAY_HEADER = "x-gateway-token"
SEND_BEARER = "Send a bearer token: `Authorization: Bearer <JWT>`"


class KeySet:
    """The JWKS keys, fetched in a worker thread and cached by PyJWT's client."""

    def __init__(self, url: str) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)

    async def key_for(self, token: str) -> Any:
        try:
            signing = await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientError:
            raise Unauthenticated(
                "The token's signing key is not known", reason="KEY_UNKNOWN"
            ) from None
        return signing.key


def bearer(header: str | None) -> str:
    if not header:
        raise Unauthenticated(SEND_BEARER, reason="TOKEN_MISSING")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(SEND_BEARER, reason="TOKEN_MALFORMED")
    return token.strip()


# Tokens whose HS256 signature and claims were verified, with their claims: a caller sends
# the same token with every request, and verifying it again gives the same answer until it
# expires (checked on every hit). Tokens checked against a JWKS are verified each time, so
# a key withdrawn from the set stops working at once.
VERIFIED_MAX = 4096
_verified: dict[tuple[str, ...], dict[str, Any]] = {}


def _verified_key(token: str, settings: Settings) -> tuple[str, ...]:
    """The token with every setting `decode` verifies it by: a token verified under one
    configuration is never taken as verified under another."""
    return (
        token,
        settings.jwt_secret,
        repr(settings.jwt_issuer),
        repr(settings.jwt_audience),
        repr(settings.require_jti),
    )


def _still_verified(token: str, settings: Settings) -> dict[str, Any] | None:
    key = _verified_key(token, settings)
    claims = _verified.get(key)
    if claims is None:
        return None
    if claims["exp"] + LEEWAY_SECONDS <= time.time():
        del _verified[key]
        raise Unauthenticated("The token has expired; get a new one", reason="TOKEN_EXPIRED")
    return claims


def _remember(token: str, settings: Settings, claims: dict[str, Any]) -> None:
    if len(_verified) >= VERIFIED_MAX:
        _verified.clear()
    if isinstance(claims.get("exp"), int | float):
        _verified[_verified_key(token, settings)] = claims


async def decode(token: str, settings: Settings, keys: KeySet | None = None) -> dict[str, Any]:
    cached = _still_verified(token, settings)
    if cached is not None:
        return dict(cached)
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise Unauthenticated("The token is not a JWT", reason="TOKEN_MALFORMED") from None
    if algorithm in SYMMETRIC:
        key: Any = settings.jwt_secret
        allowed = SYMMETRIC
    elif algorithm in ASYMMETRIC and keys is not None:
        key = await keys.key_for(token)
        allowed = [algorithm]
    else:
        raise Unauthenticated("The token is not valid", reason="TOKEN_INVALID")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=allowed,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=LEEWAY_SECONDS,
            options={
                "require": ["exp", "sub", "jti"] if settings.require_jti else ["exp", "sub"],
                "verify_aud": settings.jwt_audience is not None,
                "verify_iss": settings.jwt_issuer is not None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated(
            "The token has expired; get a new one", reason="TOKEN_EXPIRED"
        ) from None
    except jwt.MissingRequiredClaimError as error:
        raise Unauthenticated(
            f"The token has no `{error.claim}` claim", reason="TOKEN_INVALID"
        ) from None
    except jwt.PyJWTError:
        raise Unauthenticated("The token is not valid", reason="TOKEN_INVALID") from None
    if algorithm in SYMMETRIC:
        _remember(token, settings, claims)
        return dict(claims)
    return claims


def _grants_claim(
    claims: Mapping[str, Any], settings: Settings
) -> list[tuple[str, frozenset[str]]]:
    """(region code, roles) pairs from the grants claim, else from jurisdictions and roles;
    the claim names are settings, to map an identity provider's tokens."""

    def roles_of(value: Any) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
            raise Unauthenticated(
                "The token's roles must be a list of strings", reason="TOKEN_INVALID"
            )
        return frozenset(r for r in value if r in ROLES)

    if settings.jwt_grants_claim in claims:
        grants = claims[settings.jwt_grants_claim]
        if not isinstance(grants, list) or not all(isinstance(g, dict) for g in grants):
            raise Unauthenticated(
                "The token's grants must be a list of {region, roles}", reason="TOKEN_INVALID"
            )
        return [(str(g.get("region")), roles_of(g.get("roles"))) for g in grants]
    codes = claims.get(settings.jwt_jurisdictions_claim)
    if not isinstance(codes, list) or not codes:
        raise Unauthenticated("The token names no jurisdiction", reason="TOKEN_INVALID")
    roles = roles_of(claims.get(settings.jwt_roles_claim, []))
    return [(str(code), roles) for code in codes]


async def authenticate(
    header: str | None,
    settings: Settings,
    directory: RegionDirectory,
    keys: KeySet | None = None,
    revocations: RevocationList | None = None,
) -> Caller:
    caller, _ = await authenticate_claims(header, settings, directory, keys, revocations)
    return caller


async def authenticate_claims(
    header: str | None,
    settings: Settings,
    directory: RegionDirectory,
    keys: KeySet | None = None,
    revocations: RevocationList | None = None,
) -> tuple[Caller, dict[str, Any]]:
    """`authenticate`, with the token's verified claims (what a one-time link stores)."""
    claims = await decode(bearer(header), settings, keys)
    return await caller_of(claims, settings, directory, revocations), claims


async def caller_of(
    claims: Mapping[str, Any],
    settings: Settings,
    directory: RegionDirectory,
    revocations: RevocationList | None = None,
) -> Caller:
    """The caller verified claims grant: revocation, then known jurisdictions. A one-time
    link's stored claims pass here exactly as the token's did."""
    # Without a `jti` (HUB_REQUIRE_JTI=false) a token can be cut off only by its expiry.
    jti = claims.get("jti")
    if revocations is not None and jti is not None and revocations.revoked(str(jti)):
        raise Unauthenticated("The token has been revoked; get a new one", reason="TOKEN_REVOKED")
    pairs = _grants_claim(claims, settings)
    codes = [code for code, _ in pairs]
    if not all(REGION_CODE.match(code) for code in codes):
        raise Unauthenticated(
            "The token names a jurisdiction that is not a division code",
            reason="JURISDICTION_UNKNOWN",
        )
    known = await directory.lookup(codes)
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise Unauthenticated(
            f"The token names jurisdictions that do not exist: {', '.join(unknown)}",
            reason="JURISDICTION_UNKNOWN",
        )
    grants = [Grant(code, known[code].path, roles) for code, roles in pairs]
    client = claims.get("client")
    return Caller.from_grants(str(claims["sub"]), grants, str(client) if client else None)


def gateway_credential(header: str | None, settings: Settings) -> bool | None:
    """None when no gateway credential was sent; else whether it is the configured one."""
    if header is None:
        return None
    secret = settings.gateway_secret
    return secret is not None and hmac.compare_digest(header.encode(), secret.encode())


def issue(
    settings: Settings,
    subject: str,
    jurisdictions: Iterable[str],
    roles: Iterable[str],
    ttl: int = 3600,
    client: str | None = None,
    jti: str | None = None,
) -> str:
    """A development token signed with the configured secret (`jti`: a new one unless given)."""
    role_list = sorted(set(roles))
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": now,
        "exp": now + ttl,
        "jti": jti or str(uuid.uuid4()),
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
