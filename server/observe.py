"""Every HTTP request: a request id, one JSON access-log line, and the GraphQL metrics.

The request id is the caller's `x-request-id` when it is sane (1 to 100 of `A-Z a-z 0-9 . _
: -`, no run of 11 or more digits, which could be a phone or ID number), else a new one; it
is echoed in the `x-request-id` response header and, by the endpoint, in every GraphQL
error's `extensions.requestId`.

The log line (logger `hub.access`, python-json-logger) holds the request id, method, path
(never the query string), status, duration, the caller's token subject, the operation
names, the error codes and the SQL statement count: never a header, token, query text,
variables or error message, which could all echo what the caller sent.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

from pythonjsonlogger.orjson import OrjsonFormatter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import LONG_NUMBER, Metrics, plain_name

ACCESS_LOGGER = "hub.access"
REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

access_log = logging.getLogger(ACCESS_LOGGER)


@dataclass
class Observation:
    """What the endpoint tells the middleware about one request."""

    request_id: str
    subject: str | None = None
    # (operation name, outcome: "ok" or the first error code) per operation run
    operations: list[tuple[str | None, str]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    statements: int = 0
    # why the request was refused before any operation ran
    rejected: str | None = None

    def code(self, code: str) -> None:
        if code not in self.codes:
            self.codes.append(code)


def request_id(given: str | None) -> str:
    if given and REQUEST_ID.match(given) and not LONG_NUMBER.search(given):
        return given
    return uuid.uuid4().hex


# A one-time link's nonce opens a file until it is spent: the log names the route only.
LINK_PATH = "/exports/links/"


def _log_path(path: str) -> str:
    return LINK_PATH + "…" if path.startswith(LINK_PATH) else path


def observation(scope: Scope) -> Observation:
    """The request's observation (a fresh one outside the middleware)."""
    found = scope.get("state", {}).get("observation")
    return found if isinstance(found, Observation) else Observation(request_id(None))


def json_handler(stream: IO[str]) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        # orjson: the same fields as the standard encoder, in UTF-8, at a third of its cost
        OrjsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # ISO 8601 in UTC
        )
    )
    return handler


def configure_access_log() -> None:
    """JSON lines on standard output, unless the access logger was configured already."""
    if not access_log.handlers:
        access_log.addHandler(json_handler(sys.stdout))
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


def _log_name(name: str | None) -> str | None:
    return name if name is None or plain_name(name) else "?"


class ObserveMiddleware:
    """Times each HTTP request, stamps its id, logs it, and counts GraphQL requests."""

    def __init__(self, app: ASGIApp, *, access: bool = True) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(REQUEST_ID_HEADER.encode())
        seen = Observation(request_id(given.decode("latin-1") if given else None))
        scope.setdefault("state", {})["observation"] = seen
        status = 500

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = seen.request_id
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            seconds = time.perf_counter() - started
            self._record(scope, seen, status, seconds)

    def _record(self, scope: Scope, seen: Observation, status: int, seconds: float) -> None:
        services: Any = getattr(scope["app"].state, "services", None)
        metrics: Metrics | None = getattr(services, "metrics", None)
        # GET runs operations too; the IDE page it also serves is no operation.
        ran = scope["method"] == "POST" or bool(seen.operations or seen.rejected)
        graphql = scope["path"] == "/graphql" and ran
        if metrics is not None and graphql:
            metrics.observe(seen.operations, seconds, seen.statements, seen.rejected)
        if self.access:
            access_log.info(
                "request",
                extra={
                    "requestId": seen.request_id,
                    "method": scope["method"],
                    "path": _log_path(scope["path"]),
                    "status": status,
                    "durationMs": round(seconds * 1000, 2),
                    "subject": seen.subject,
                    "operations": [_log_name(name) for name, _ in seen.operations],
                    "errorCodes": seen.codes,
                    "sqlStatements": seen.statements,
                },
            )
