"""WebSocket /graphql: subscriptions over graphql-transport-ws (the `graphql-ws` library's
protocol), on Strawberry's protocol handler with the hub's own authentication, one context
per operation, one session per delivery and the hub's error shape.

Close codes (besides the protocol's own 4400, 4406, 4408, 4409, 4429):

- 4401 Unauthorized: `connection_init` refused at the admission door (`server/admission.py`)
  where HTTP answers 401 or 403 (missing, malformed, badly signed, expired or revoked token,
  unknown jurisdiction, no reading role, an allow-listed client); the close reason starts
  with the refusal's `reason`. The graphql-ws client takes 4401 as fatal and does not retry
  with the same credentials. Where HTTP answers 429 or 503, the close is 1013. Each
  `subscribe` passes the door again: a refusal there is an `error` message with the same
  `extensions.code` and `reason` as over HTTP.
- 4401 also when the token of an open socket is revoked (`grassroots token revoke`).
- 4403 Forbidden: the token expired on an open socket (closed at its `exp`). The
  graphql-ws client retries 4403, calling `connectionParams` again, so a client holding a
  refreshed token reconnects and resubscribes on its own; one without gets 4401 and stops.
- 1013 Try Again Later: a subscription fell behind (its queue of changes overflowed) or the
  change feed was interrupted, so changes were missed. The client reconnects after its
  back-off and should refetch what it shows (graphql-ws reports `connected` with
  `wasRetry`).
  It is also the answer to a `connection_init` while the database cannot be reached, and
  to a socket opened while the hub is still starting.
- 1001 Going Away: the hub is shutting down (SIGTERM); every open socket is closed so
  before in-flight HTTP requests are waited for. The client reconnects to another instance
  or to this one once it is back.
- 4430 Too many sockets: the caller's token subject already holds
  `HUB_WS_MAX_SOCKETS_PER_SUBJECT` open sockets on this hub process (checked at
  `connection_init`, once the caller is known). The graphql-ws client retries it after its
  back-off, so it gets in once one of its other sockets closes.
- 4500: authentication could not be checked (an unexpected failure).

Refusals of one `subscribe` (an `error` message for its id; the socket stays open):
`BAD_USER_INPUT` with reason `TOO_MANY_SUBSCRIPTIONS` beyond
`HUB_WS_MAX_SUBSCRIPTIONS_PER_SOCKET` subscriptions at once on the socket, and
`RATE_LIMITED` (with `retryAfter`) when the caller's rate limit is spent: each subscription
start counts as one request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from graphql import GraphQLError, GraphQLFormattedError
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    Message,
    NextMessage,
    NextMessagePayload,
    SubscribeMessage,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError

from resolvers.changes import ChangeFeed, FellBehind, LiveContext
from resolvers.errors import BadUserInput, HubError
from resolvers.scope import Caller
from resolvers.session import RequestSession
from schema.limits import too_many_tokens
from server.admission import Ask, Credentials, Refused, admit
from server.auth import GATEWAY_HEADER
from server.graphql import format_error
from server.ratelimit import share
from server.services import Services
from server.socketcaps import SharedSockets, SubjectSockets

log = logging.getLogger("grassroots.websocket")

UNAUTHORIZED = 4401
EXPIRED = 4403
TRY_AGAIN_LATER = 1013
FELL_BEHIND = TRY_AGAIN_LATER
GOING_AWAY = 1001
SHUTTING_DOWN = "The hub is shutting down; reconnect in a moment"
INTERNAL = 4500
INIT_TIMEOUT = timedelta(seconds=10)
TOO_MANY_SOCKETS = 4430
REVOKED = "The token has been revoked; get a new one"
SUBSCRIPTIONS_ONLY = "This socket serves subscriptions; send queries and mutations with POST"
PROTOCOL_ERRORS = (InvalidOperationTypeError, CannotGetOperationTypeError, MissingQueryError)


@dataclass
class Connection:
    """One socket: what it serves from, and its caller once `connection_init` proved one."""

    services: Services
    feed: ChangeFeed
    handlers: set[LiveHandler]
    sockets: SubjectSockets
    address: str = "unknown"
    gateway: str | None = None  # the upgrade request's gateway header
    caller: Caller | None = None
    credentials: Credentials | None = None


def _reason(text: str) -> str:
    """A close reason fits in 123 bytes of UTF-8."""
    encoded = text.encode()
    return text if len(encoded) <= 123 else encoded[:120].decode(errors="ignore") + "…"


def _authorization(payload: dict[str, Any]) -> str | None:
    """The bearer credential of a `connection_init` payload, as an Authorization header."""
    for name in ("Authorization", "authorization"):
        value = payload.get(name)
        if isinstance(value, str):
            return value
    token = payload.get("token")
    if isinstance(token, str) and token.strip():
        token = token.strip()
        return token if token.lower().startswith("bearer ") else f"Bearer {token}"
    return None


def _expiry(header: str) -> tuple[float, str]:
    """The `exp` and `jti` of a token that `authenticate` has just verified."""
    token = header.partition(" ")[2].strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"]), str(claims["jti"])


def _format(error: GraphQLError) -> GraphQLFormattedError:
    """The hub's error shape; a document that names no runnable subscription is the
    client's mistake, not an internal error."""
    if isinstance(error.original_error, InvalidOperationTypeError):
        return BadUserInput(SUBSCRIPTIONS_ONLY, reason="SUBSCRIPTIONS_ONLY").formatted
    if isinstance(error.original_error, PROTOCOL_ERRORS):
        return BadUserInput(error.message, reason="PROTOCOL_ERROR").formatted
    return format_error(error)  # type: ignore[return-value]


def _fell_behind(result: ExecutionResult) -> FellBehind | None:
    for error in result.errors or ():
        if isinstance(error.original_error, FellBehind):
            return error.original_error
    return None


class LiveHandler(BaseGraphQLTransportWSHandler[Connection, None]):
    """graphql-transport-ws with the hub's authentication, expiry and per-operation context."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._expiry: asyncio.Task[None] | None = None
        self._unwatch: Callable[[], None] | None = None
        self._revocation: asyncio.Task[None] | None = None
        self._closing = False
        self._claimed: str | None = None
        self.context.handlers.add(self)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload")
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            await self.close(4400, "Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.close(4429, "Too many initialisation requests")
            return
        self.connection_init_received = True

        services = self.context.services
        header = _authorization(payload)
        credentials = Credentials(header, self.context.gateway, self.context.address)
        try:
            # The allow-list is weighed at each `subscribe`, which names what it asks for.
            caller = await admit(services, credentials, Ask(reports_only=True, cost=0))
            expires, jti = _expiry(header or "")
        except Refused as refused:
            await self.close(refused.close_code, refused.close_reason)
            return
        except Exception:
            log.exception("could not authenticate a WebSocket connection")
            await self.close(INTERNAL, "Internal server error")
            return
        remaining = expires - time.time()
        if remaining <= 0:
            # Within the clock-skew leeway HTTP allows, but a socket lives until `exp` only.
            await self.close(EXPIRED, "The token has expired; connect with a new one")
            return
        if not await self._claim_socket(caller):
            return
        self.context.caller = caller
        self.context.credentials = credentials
        self._expiry = asyncio.create_task(self._expire(remaining))
        if services.revocations is not None:
            self._unwatch = services.revocations.watch(jti, self._revoked)
            if services.revocations.revoked(jti):  # revoked while `authenticate` ran
                await self.close(UNAUTHORIZED, REVOKED)
                return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def _claim_socket(self, caller: Caller) -> bool:
        """Count this socket against its subject's cap; closes it (4430) when the cap is met."""
        sockets = self.context.sockets
        ticket = await sockets.claim(caller.subject)
        if ticket is None:
            await self.close(
                TOO_MANY_SOCKETS,
                f"Too many sockets: at most {sockets.limit} open for this caller; "
                "close one and connect again",
            )
            return False
        self._claimed = ticket
        return True

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        cap = self.context.services.settings.ws_max_subscriptions_per_socket
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and len(self.operations) >= cap
        ):
            refused = BadUserInput(
                f"At most {cap} subscriptions at once on one socket; complete one first",
                reason="TOO_MANY_SUBSCRIPTIONS",
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [refused.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def _expire(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.close(EXPIRED, "The token has expired; connect with a new one")

    async def _admitted(self) -> HubError | None:
        """Every `subscribe` passes the door again: revocation, the allow-list (registered
        reports are queries, never subscriptions) and the rate limit, which it counts
        against."""
        credentials = self.context.credentials
        assert credentials is not None  # the base class refuses `subscribe` before the ack
        try:
            await admit(self.context.services, credentials)
        except Refused as refused:
            return refused.error
        return None

    def _revoked(self) -> None:
        self._revocation = asyncio.create_task(self.close(UNAUTHORIZED, REVOKED))

    async def close(self, code: int, reason: str) -> None:
        """End every operation, then close the socket (once)."""
        if self._closing:
            return
        self._closing = True
        current = asyncio.current_task()
        for operation in list(self.operations.values()):
            if operation.task is not None and operation.task is not current:
                operation.task.cancel()
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=_reason(reason))

    async def handle_invalid_message(self, error_message: str) -> None:
        await self.close(4400, error_message)

    async def send_message(self, message: Message) -> None:
        if not self._closing:
            await self.websocket.send_json(message)

    async def shutdown(self) -> None:
        self.context.handlers.discard(self)
        if self._claimed is not None:
            await self.context.sockets.release(self._claimed)
            self._claimed = None
        if self._unwatch is not None:
            self._unwatch()
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        await super().shutdown()

    async def run_operation(self, operation: Operation[Connection, None]) -> None:
        caller = self.context.caller
        assert caller is not None  # the base class refuses `subscribe` before the ack
        services = self.context.services
        ctx = LiveContext(
            caller,
            RequestSession(services.pool, caller),
            services.cursors,
            services.directory,
            pool=services.pool,
            feed=self.context.feed,
        )
        try:
            await self._run(operation, ctx)
        except Exception:
            if not self._closing:
                log.exception("a subscription failed")
                with contextlib.suppress(Exception):
                    await operation.send_operation_message({"id": operation.id, "type": "complete"})
        finally:
            with contextlib.suppress(Exception):
                await ctx.release()

    async def _run(self, operation: Operation[Connection, None], ctx: LiveContext) -> None:
        refused = _refusal(operation)
        if refused is None:
            refused = await self._admitted()
        if refused is not None:
            await operation.send_initial_errors([refused])
            return
        source = await self.schema.subscribe(
            operation.query,
            variable_values=operation.variables,
            context_value=ctx,
            operation_name=operation.operation_name,
        )
        async with contextlib.aclosing(source):
            async for result in source:
                # The delivery's transaction ends before anything is sent: a slow client
                # must not hold a pooled connection.
                await ctx.release()
                lagged = _fell_behind(result)
                if lagged is not None:
                    await self.close(FELL_BEHIND, str(lagged))
                    return
                errors = [_format(e) for e in result.errors or ()]
                if isinstance(result, PreExecutionError) or (result.data is None and errors):
                    failed: ErrorMessage = {"id": operation.id, "type": "error", "payload": errors}
                    await operation.send_operation_message(failed)
                    return
                payload: NextMessagePayload = {"data": result.data}
                if errors:
                    payload["errors"] = errors
                delivered: NextMessage = {"id": operation.id, "type": "next", "payload": payload}
                await operation.send_operation_message(delivered)
        await operation.send_operation_message({"id": operation.id, "type": "complete"})


def _refusal(operation: Operation[Connection, None]) -> HubError | None:
    if not isinstance(operation.query, str) or not operation.query.strip():
        return BadUserInput(
            "The subscribe message has no `query` string", reason="REQUEST_MALFORMED"
        )
    if operation.variables is not None and not isinstance(operation.variables, dict):
        return BadUserInput("`variables` must be a JSON object")
    return too_many_tokens(operation.query)


class LiveEndpoint(GraphQL[Connection, None]):
    """Strawberry's ASGI view, for WebSocket only and graphql-transport-ws only."""

    graphql_transport_ws_handler_class = LiveHandler

    def __init__(self, services: Services, feed: ChangeFeed) -> None:
        super().__init__(
            services.schema,
            graphql_ide=None,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=INIT_TIMEOUT,
            # `LiveHandler.handle_subscribe` applies the cap, with the hub's error shape.
            max_subscriptions_per_connection=None,
        )
        self.services = services
        self.feed = feed
        self.handlers: set[LiveHandler] = set()
        # In memory with N workers each holds its part of the cap (÷ N, at least 1); through
        # Redis every process counts against the whole of it.
        settings = services.settings
        cap = settings.ws_max_sockets_per_subject
        local = SubjectSockets(share(cap, settings.workers))
        store = services.limiter.store if services.limiter is not None else None
        self.sockets: SubjectSockets = (
            SharedSockets(cap, store, local) if store is not None and store.shared else local
        )

    async def get_context(self, request: Any, response: Any) -> Connection:
        address = request.client.host if request.client else "unknown"
        gateway = request.headers.get(GATEWAY_HEADER)
        return Connection(self.services, self.feed, self.handlers, self.sockets, address, gateway)

    async def close_all(self, code: int = GOING_AWAY, reason: str = SHUTTING_DOWN) -> None:
        """Close every open socket (on shutdown: 1001 Going Away), ending its operations."""
        await asyncio.gather(
            *(handler.close(code, reason) for handler in list(self.handlers)),
            return_exceptions=True,
        )
        await self.sockets.close()


async def graphql_socket(websocket: WebSocket) -> None:
    endpoint: LiveEndpoint = websocket.app.state.live
    await endpoint.run(websocket)
