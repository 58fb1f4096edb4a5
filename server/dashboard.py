"""The dashboard page for higher-level offices: `/dashboard`, its assets, `/` and `/docs`.

The page and its files are static and outside admission (DESIGN.md §8: they serve no data);
its figures come from `/graphql` with the caller's token and the open trusted-document
manifest `schema/documents/dashboard.json`. One thing is filled in per hub: where to get a
token when an identity provider is configured (`HUB_JWKS_URL`, named by `HUB_JWT_ISSUER`),
written into a `<meta>` element, escaped, since the page runs no inline script.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.assets import STATIC_DIR
from server.settings import Settings

DASHBOARD_DIR = STATIC_DIR / "dashboard"
PAGE = DASHBOARD_DIR / "index.html"
# The page may load and call only its own origin; ECharts sets element.style from script,
# which style-src does not govern, so the page needs no inline style either.
POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": POLICY,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
TOKEN_HELP = '<meta name="hub-token-help" content="">'


def page_html(settings: Settings) -> str:
    """The page, with where to get a token written in when an identity provider signs them."""
    text = PAGE.read_text(encoding="utf-8")
    if settings.jwks_url is None:
        return text
    where = settings.jwt_issuer or settings.jwks_url
    return text.replace(
        TOKEN_HELP, f'<meta name="hub-token-help" content="{html.escape(where, quote=True)}">'
    )


class WithHeaders:
    """Adds the page's security headers to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in HEADERS.items()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def dashboard_routes(settings: Settings) -> list[BaseRoute]:
    """`/dashboard`, its files at `/static/dashboard/…`, `/` → the dashboard, and `/docs` →
    the offline IDE where it is open (the README documents the rest)."""
    text = page_html(settings)

    async def dashboard(request: Request) -> Response:
        return HTMLResponse(text, headers={**HEADERS, "cache-control": "no-cache"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/dashboard", status_code=302)

    async def docs(request: Request) -> Response:
        return RedirectResponse("/graphql", status_code=302)

    routes: list[BaseRoute] = [
        Route("/dashboard", dashboard, methods=["GET", "HEAD"]),
        Route("/", home, methods=["GET", "HEAD"]),
        Mount("/static/dashboard", app=WithHeaders(StaticFiles(directory=DASHBOARD_DIR))),
    ]
    if settings.graphiql:
        routes.append(Route("/docs", docs, methods=["GET", "HEAD"]))
    return routes
