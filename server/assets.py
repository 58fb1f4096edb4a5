"""Static browser assets, outside admission (DESIGN.md §8: they serve no data).

Everything under `server/static/` is served at `/static/…`: the IDE's files now, the
dashboard's later. Each is a committed build of a pinned npm release (`scripts/build-ide`)
listed with its hash in `server/static/SHA256SUMS`, which a test checks, so what is served
is exactly what was reviewed.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
HASHES = STATIC_DIR / "SHA256SUMS"
IDE_PAGE = STATIC_DIR / "ide" / "index.html"
# The IDE's page may load only what its own origin serves.
IDE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def static_mount() -> Mount:
    return Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static")


def ide_page() -> Response:
    """The offline GraphiQL page (its scripts from /static/ide)."""
    return HTMLResponse(
        IDE_PAGE.read_text(encoding="utf-8"),
        headers={
            "content-security-policy": IDE_POLICY,
            "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff",
        },
    )


def wants_ide(accept: str | None, has_operation: bool) -> bool:
    """A browser opening /graphql: it asks for HTML and sends no operation."""
    return not has_operation and accept is not None and "text/html" in accept
