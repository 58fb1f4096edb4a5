"""The one admission door (DESIGN.md §3 rule 9): every entry point admits its caller here.

GraphQL over HTTP (single and batched), `/exports/…`, `/reports`, WebSocket
`connection_init` and every `subscribe`, and the CLI commands acting as a token's caller
call `admit`; one-time links (`/exports/links/…`, `POST /auth/link`) call `admit_link`,
which passes their stored claims through the same rows; none decides on a credential
itself. It decides as one table, in this order:

1. a gateway header present is checked first: a wrong one is refused, even beside a valid
   token; a valid one with no bearer is a service-only caller (`_service` and nothing else);
2. a missing or bad bearer (malformed, badly signed, expired, without a required claim) is
   counted by client address first (429 wins over 401), then refused;
3. an admitted bearer then passes revocation, known jurisdictions, the role rules
   (DESIGN.md §8: reading needs viewer, editor or auditor; pii alone reads nothing), the
   client's allow-list (registered reports and its trusted documents only; no persisted
   query registrations) and the per-subject rate limit, which registrations also spend.

Each refusal is a `Refused` carrying one `HubError` with `extensions.code` and `reason`;
the doors turn it into their own form through `Refused.status`, `Refused.close_code` and
`Refused.exit_code` — the same case answers the same way at every door (README: the
refusal table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from db.links import Kind, LinkStore, Redemption
from db.revocations import RevocationList
from resolvers.allowlist import AllowList
from resolvers.errors import (
    Forbidden,
    HubError,
    ServiceUnavailable,
    Unauthenticated,
    database_reachable,
)
from resolvers.regions import RegionDirectory
from resolvers.scope import Caller
from server.auth import (
    GATEWAY_HEADER,
    KeySet,
    authenticate_claims,
    caller_of,
    gateway_credential,
)
from server.ratelimit import RateLimiter
from server.settings import Settings

REPORT_REQUIRED = (
    "This client may run registered reports only: send "
    '{"extensions": {"report": {"name": …, "version": …}}, "variables": {…}} '
    "without a `query` (GET /reports lists them)"
)
SERVICE_ONLY = "A gateway credential alone may read `_service` only; forward the caller's token"
REGISTRATION_REFUSED = (
    "This client runs registered reports and its trusted documents only: it may not register "
    "persisted queries"
)
NO_READING_ROLE = (
    "The token grants no role that reads records (viewer, editor or auditor); "
    "pii alone reads nothing"
)

# WebSocket close codes: a refusal a client cannot cure by waiting is fatal to the
# graphql-ws client (4401); one that passes with time is retried after its back-off (1013).
CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN_LATER = 1013
# CLI exit codes: 0 done, 1 the request was refused after admission (a bad batch), 2 bad
# local input (an unreadable file), 3 refused at admission, 4 the database is unreachable.
EXIT_REFUSED = 3
EXIT_UNAVAILABLE = 4


class Gatekeeping(Protocol):
    """What the door consults: the app's services, or the CLI's own."""

    @property
    def settings(self) -> Settings: ...
    @property
    def directory(self) -> RegionDirectory: ...
    @property
    def keys(self) -> KeySet | None: ...
    @property
    def revocations(self) -> RevocationList | None: ...
    @property
    def allowlist(self) -> AllowList | None: ...
    @property
    def limiter(self) -> RateLimiter | None: ...


@dataclass(frozen=True)
class Gate:
    """The door's services outside the app (the CLI)."""

    settings: Settings
    directory: RegionDirectory
    keys: KeySet | None = None
    revocations: RevocationList | None = None
    allowlist: AllowList | None = None
    limiter: RateLimiter | None = None


class Refused(Exception):
    """A caller refused at the door."""

    def __init__(self, status: int, error: HubError, retry_after: int | None = None) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error
        self.retry_after = retry_after

    @property
    def reason(self) -> str:
        return str((self.error.extensions or {}).get("reason", ""))

    @property
    def close_code(self) -> int:
        return CLOSE_TRY_AGAIN_LATER if self.status in (429, 503) else CLOSE_UNAUTHORIZED

    @property
    def close_reason(self) -> str:
        return f"{self.reason}: {self.error.message}" if self.reason else self.error.message

    @property
    def exit_code(self) -> int:
        return EXIT_UNAVAILABLE if self.status == 503 else EXIT_REFUSED


@dataclass(frozen=True)
class Credentials:
    """What a request presents: its bearer header, its gateway header and where it came from."""

    authorization: str | None
    gateway: str | None = None
    address: str = "unknown"

    @classmethod
    def of(cls, headers: Mapping[str, str], address: str | None) -> Credentials:
        return cls(headers.get("authorization"), headers.get(GATEWAY_HEADER), address or "unknown")

    @classmethod
    def bearer(cls, token: str, address: str = "cli") -> Credentials:
        return cls(f"Bearer {token}" if token.strip() else None, None, address)


@dataclass(frozen=True)
class Ask:
    """What the request asks for, as far as admission cares.

    `reports_only`: everything it runs is a registered report, a gateway's entity or SDL
    fetch, or the report listing — what an allow-listed client may do. `service_only`:
    everything it asks is `_service` — what a gateway alone may do. `cost`: the operations
    it counts against the caller's rate limit. `trusted`: when documents are asked by hash,
    whether a client's trusted manifests hold them all (`reports_only` then counts them as
    reports). `registers`: persisted query registrations, refused to an allow-listed client
    and spent from the rate limit besides `cost`."""

    reports_only: bool = False
    service_only: bool = False
    cost: int = 1
    trusted: Callable[[str | None], bool] | None = None
    registers: int = 0


NOTHING_BUT_RECORDS = Ask()


def _unavailable(error: ServiceUnavailable) -> Refused:
    return Refused(503, error)


async def _by_address(services: Gatekeeping, credentials: Credentials, error: HubError) -> Refused:
    """A request without a valid credential: 429 once its address has spent its budget."""
    if services.limiter is not None:
        refusal = await services.limiter.address(credentials.address)
        if refusal is not None:
            return Refused(429, refusal.error, refusal.retry_after)
    return Refused(401, error)


async def admit(
    services: Gatekeeping, credentials: Credentials, ask: Ask = NOTHING_BUT_RECORDS
) -> Caller:
    """The caller behind `credentials`, admitted for `ask`; else `Refused`."""
    caller, _ = await admit_claims(services, credentials, ask)
    return caller


async def admit_claims(
    services: Gatekeeping, credentials: Credentials, ask: Ask = NOTHING_BUT_RECORDS
) -> tuple[Caller, dict[str, Any]]:
    """`admit`, with the bearer's verified claims (none for a gateway alone)."""
    gateway = gateway_credential(credentials.gateway, services.settings)
    if gateway is False:
        error = Unauthenticated("The gateway credential is not valid", reason="GATEWAY_INVALID")
        raise await _by_address(services, credentials, error)
    if credentials.authorization is None and gateway:
        if not ask.service_only:
            raise Refused(401, Unauthenticated(SERVICE_ONLY, reason="SERVICE_ONLY"))
        return Caller.gateway(), {}
    try:
        caller, claims = await authenticate_claims(
            credentials.authorization,
            services.settings,
            services.directory,
            services.keys,
            services.revocations,
        )
    except ServiceUnavailable as error:
        raise _unavailable(error) from None
    except HubError as error:
        if error.extensions and error.extensions.get("reason") in TOKEN_FORM_REASONS:
            raise await _by_address(services, credentials, error) from None
        raise Refused(401, error) from None
    if not caller.read:
        raise Refused(403, Forbidden(NO_READING_ROLE, reason="NO_READING_ROLE"))
    await _within_limits(services, caller, ask)
    return caller, claims


# --- one-time links (issue 19, DESIGN.md §8): the door's row for a nonce ---
LINK_REFUSALS = {
    "used": ("This link has been used; ask for a new one", "LINK_USED"),
    "expired": ("This link has expired; ask for a new one", "LINK_EXPIRED"),
    "revoked": ("The token has been revoked; get a new one", "TOKEN_REVOKED"),
}
LINK_UNKNOWN = "No such link; ask for a new one"


async def admit_link(
    services: Gatekeeping,
    links: LinkStore,
    nonce: str,
    kind: Kind,
    address: str = "unknown",
    ask: Ask | Callable[[Redemption], Ask] = NOTHING_BUT_RECORDS,
) -> tuple[Caller, Redemption]:
    """The caller a one-time link stands for, the link redeemed (marked used) by this call.

    Unknown nonces are counted by client address, as bad bearers are (429 wins over 401);
    used, expired or revoked ones are 401. The stored claims then pass the bearer's rows —
    revocation, known jurisdictions, the role rules, the allow-list and the rate limit —
    so the link admits exactly as its token would now, for `ask` (or what `ask` makes of the
    link: its target's door); only then is it spent (a link refused for the rate limit can
    be opened again)."""
    redemption = await _redeemed(services, links, nonce, kind, address, use=False)
    assert redemption.claims is not None
    try:
        caller = await caller_of(
            redemption.claims, services.settings, services.directory, services.revocations
        )
    except ServiceUnavailable as error:
        raise _unavailable(error) from None
    except HubError as error:
        raise Refused(401, error) from None
    if not caller.read:
        raise Refused(403, Forbidden(NO_READING_ROLE, reason="NO_READING_ROLE"))
    await _within_limits(services, caller, ask if isinstance(ask, Ask) else ask(redemption))
    return caller, await _redeemed(services, links, nonce, kind, address, use=True)


async def _redeemed(
    services: Gatekeeping, links: LinkStore, nonce: str, kind: Kind, address: str, *, use: bool
) -> Redemption:
    try:
        with database_reachable():
            redemption = await links.redeem(nonce, kind, use=use)
    except ServiceUnavailable as error:
        raise _unavailable(error) from None
    if redemption.outcome == "unknown" or redemption.claims is None:
        unknown = Unauthenticated(LINK_UNKNOWN, reason="LINK_UNKNOWN")
        raise await _by_address(services, Credentials(None, None, address), unknown)
    if redemption.outcome in LINK_REFUSALS:
        message, reason = LINK_REFUSALS[redemption.outcome]
        raise Refused(401, Unauthenticated(message, reason=reason))
    return redemption


async def _within_limits(services: Gatekeeping, caller: Caller, ask: Ask) -> None:
    """The admitted bearer's client allow-list, then its rate limit."""
    asks_more = not ask.reports_only or ask.trusted is not None or ask.registers > 0
    if asks_more and services.allowlist is not None:
        try:
            with database_reachable():
                limited = await services.allowlist.holds(caller.client)
        except ServiceUnavailable as error:
            raise _unavailable(error) from None
        if limited and ask.registers:
            raise Refused(403, Forbidden(REGISTRATION_REFUSED, reason="REGISTRATION_REFUSED"))
        trusted = ask.trusted is None or ask.trusted(caller.client)
        if limited and not (ask.reports_only and trusted):
            raise Refused(403, Forbidden(REPORT_REQUIRED, reason="REPORT_REQUIRED"))
    if services.limiter is not None:
        refusal = await services.limiter.caller(caller, cost=ask.cost + ask.registers)
        if refusal is not None:
            raise Refused(429, refusal.error, refusal.retry_after)


# The refusals of a credential that never was a valid token: counted by client address.
TOKEN_FORM_REASONS = frozenset(
    {"TOKEN_MISSING", "TOKEN_MALFORMED", "TOKEN_INVALID", "TOKEN_EXPIRED", "KEY_UNKNOWN"}
)
