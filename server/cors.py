"""CORS for every HTTP route a browser uses (`HUB_CORS_ORIGINS`; none by default).

A listed origin's preflight is answered here, before routing and outside admission
(DESIGN.md §8: a preflight carries no credential and serves no data); its actual requests
get `Access-Control-Allow-Origin` with the headers a page needs to read (`x-request-id`,
`retry-after`, an export's `content-disposition`). An origin not listed gets no CORS header
at all, so its browser refuses to hand the answer to the page. Tokens travel in the
`Authorization` header, never in cookies: credentials mode stays off.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "authorization, content-type, x-request-id"
EXPOSE_HEADERS = "x-request-id, retry-after, content-disposition"
MAX_AGE_SECONDS = "600"


class CorsMiddleware:
    """Pure ASGI: answers listed origins' preflights and marks their answers readable."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.origins:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or origin.lower() not in self.origins:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self.preflight(origin)(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                answer["access-control-allow-origin"] = origin
                answer["access-control-expose-headers"] = EXPOSE_HEADERS
                answer.add_vary_header("origin")
            await send(message)

        await self.app(scope, receive, marked)

    @staticmethod
    def preflight(origin: str) -> Response:
        return Response(
            status_code=204,
            headers={
                "access-control-allow-origin": origin,
                "access-control-allow-methods": ALLOW_METHODS,
                "access-control-allow-headers": ALLOW_HEADERS,
                "access-control-max-age": MAX_AGE_SECONDS,
                "vary": "origin",
            },
        )
