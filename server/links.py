"""One-time links over HTTP (DESIGN.md §8): asked for, redeemed for a file, redeemed to sign in.

    POST /exports/links      {"path": "/exports/breakdown.csv", "query": "by=CHILD&under=341126"}
                             (bearer token) → {"url": ".../exports/links/NONCE", "expiresAt": …}
    GET  /exports/links/NONCE                → the file, once, as the asking token would get it
    POST /auth/link          {"nonce": "…"}  → {"token": JWT, "expiresAt": …} (development)

A link lives `HUB_LINK_TTL_SECONDS` or until its token expires, whichever is first, and dies
with its token's `jti`. Every answer here, refusals included, is `Cache-Control: no-store`
and `Referrer-Policy: no-referrer`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db import clock
from db.links import LinkStore, Redemption
from resolvers.errors import BadUserInput, Forbidden, HubError, NotFound, Unauthenticated
from server.admission import (
    NOTHING_BUT_RECORDS,
    Ask,
    Credentials,
    Refused,
    admit_claims,
    admit_link,
)
from server.auth import issue
from server.graphql import error_response, refused_response
from server.link_targets import Door, Target, door_of, target
from server.observe import Observation, observation
from server.services import Services

SIGN_IN_TTL_MAX = 3600
MAX_BODY = 10_000
NEEDS_JTI = "This token has no `jti`, so it cannot be bound to a link (it could not be revoked)"
SIGN_IN_OFF = "Sign-in links are for development; in production, get a token from your provider"


def _private(response: Response) -> Response:
    response.headers["cache-control"] = "private, no-store"
    response.headers["referrer-policy"] = "no-referrer"
    return response


def _refused(seen: Observation, refused: Refused) -> Response:
    return _private(refused_response(seen, refused))


def _error(error: HubError) -> Response:
    status = 403 if isinstance(error, Forbidden) else 404 if isinstance(error, NotFound) else 400
    return _private(error_response(status, error))


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _base(services: Services, request: Request) -> str:
    return services.settings.public_url or str(request.base_url).rstrip("/")


async def _json(request: Request) -> dict[str, Any]:
    body = b""
    async for chunk in request.stream():  # read no further than the limit
        body += chunk
        if len(body) > MAX_BODY:
            break
    try:
        parsed = json.loads(body) if len(body) <= MAX_BODY else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise BadUserInput(
            f"Send a JSON object of at most {MAX_BODY} bytes", reason="REQUEST_MALFORMED"
        )
    return parsed


def _china(at: dt.datetime) -> str:
    return at.astimezone(clock.CST).isoformat(timespec="seconds")


async def create_link_endpoint(request: Request) -> Response:
    """POST /exports/links: a one-time link to a file the caller could download now."""
    services: Services = request.app.state.services
    seen = observation(request.scope)
    asked: tuple[Target, Door] | HubError
    try:
        body = await _json(request)
        asked = target(body.get("path"), body.get("query"))
    except HubError as error:
        asked = error  # answered once the caller is admitted
    ask = asked[1].ask if isinstance(asked, tuple) else NOTHING_BUT_RECORDS
    credentials = Credentials.of(request.headers, _address(request))
    try:
        caller, claims = await admit_claims(services, credentials, ask)
    except Refused as refused:
        return _refused(seen, refused)
    seen.subject = caller.subject
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        return _error(Forbidden(NEEDS_JTI, reason="LINK_NEEDS_JTI"))
    if isinstance(asked, HubError):
        return _error(asked)
    wanted, door = asked
    try:
        await door.check(services, caller, door_of(wanted)[1], wanted.params)
    except HubError as error:
        return _error(error)
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(seconds=services.settings.link_ttl_seconds)
    exp = claims.get("exp")
    if isinstance(exp, int | float):
        expires = min(expires, dt.datetime.fromtimestamp(exp, dt.UTC))
    if expires <= now:
        expired = Unauthenticated("The token has expired; get a new one", reason="TOKEN_EXPIRED")
        return _private(error_response(401, expired))
    try:
        nonce = await LinkStore(services.pool).create(
            "download", caller.subject, jti, claims, wanted.text, expires
        )
    except HubError as error:
        return _error(error)
    url = f"{_base(services, request)}/exports/links/{nonce}"
    return _private(JSONResponse({"url": url, "expiresAt": _china(expires)}))


def _door_ask(redemption: Redemption) -> Ask:
    """What the link's target's door admits its GET for."""
    return door_of(Target.stored(redemption.target or ""))[0].ask


async def redeem_link_endpoint(request: Request) -> Response:
    """GET /exports/links/NONCE: the file, once, to the caller the link stands for."""
    services: Services = request.app.state.services
    seen = observation(request.scope)
    if request.method != "GET":  # a HEAD would spend the link and send nothing
        error = BadUserInput("Open the link with GET", reason="METHOD_NOT_ALLOWED")
        return _private(error_response(405, error))
    links = LinkStore(services.pool)
    nonce = request.path_params["nonce"]
    try:
        caller, redemption = await admit_link(
            services, links, nonce, "download", _address(request), ask=_door_ask
        )
    except Refused as refused:
        return _refused(seen, refused)
    seen.subject = caller.subject
    assert redemption.target is not None  # a download link always has one (a CHECK says so)
    stored = Target.stored(redemption.target)
    door, name = door_of(stored)
    return _private(await door.serve(services, caller, name, stored.params))


async def sign_in_endpoint(request: Request) -> Response:
    """POST /auth/link {"nonce": …}: a development sign-in link redeemed for a short-lived
    token minted with the claims the link stores."""
    services: Services = request.app.state.services
    seen = observation(request.scope)
    if services.settings.production:
        return _error(NotFound(SIGN_IN_OFF, reason="SIGN_IN_LINKS_OFF"))
    try:
        nonce = (await _json(request)).get("nonce")
    except HubError as error:
        return _error(error)
    if not isinstance(nonce, str):
        return _error(BadUserInput('Send {"nonce": "…"}', reason="REQUEST_MALFORMED"))
    links = LinkStore(services.pool)
    try:
        caller, redemption = await admit_link(services, links, nonce, "sign_in", _address(request))
    except Refused as refused:
        return _refused(seen, refused)
    seen.subject = caller.subject
    claims = redemption.claims or {}
    asked = claims.get("ttl")
    ttl = min(asked, SIGN_IN_TTL_MAX) if isinstance(asked, int) and asked > 0 else SIGN_IN_TTL_MAX
    # The claims as the CLI stored them, already checked by the door (`caller_of`).
    token = issue(
        services.settings,
        caller.subject,
        [str(code) for code in claims.get("jurisdictions", [])],
        [str(role) for role in claims.get("roles", [])],
        ttl=ttl,
        client=caller.client,
        jti=redemption.jti,
    )
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    expires = dt.datetime.fromtimestamp(exp, dt.UTC)
    return _private(JSONResponse({"token": token, "expiresAt": _china(expires)}))
