"""What a one-time download link may point at: file GETs only, by an allow-list of doors.

A target is a path and its query string, kept canonical (parameters sorted by name, the
values of one name in their order) so the stored target is exactly what is served. Each
door checks a target as its own GET would — the parameters parsed, the region checked,
nothing read — and serves it to the link's caller: export files (`/exports/NAME.FORM`) and
report files (`/reports/NAME.vN.FORM`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response

from resolvers.errors import BadUserInput
from resolvers.scope import Caller
from server import exports, report_files
from server.admission import NOTHING_BUT_RECORDS, Ask
from server.services import Services

MAX_TARGET = 4000
NOT_A_FILE = (
    "A link points at a file GET: /exports/{service-requests|organizations|"
    "participation-events|breakdown}.{csv|xlsx} or /reports/NAME.vN.{json|csv|xlsx}, "
    "with its query string"
)


@dataclass(frozen=True)
class Target:
    """`GET path?query`, the query canonical."""

    path: str
    query: str

    @property
    def text(self) -> str:
        return f"GET {self.path}?{self.query}" if self.query else f"GET {self.path}"

    @property
    def params(self) -> QueryParams:
        return QueryParams(self.query)

    @classmethod
    def stored(cls, text: str) -> Target:
        method, _, rest = text.partition(" ")
        path, _, query = rest.partition("?")
        if method != "GET":
            raise ValueError(f"not a stored target: {text!r}")
        return cls(path, query)


Check = Callable[[Services, Caller, str, QueryParams], Awaitable[None]]
Serve = Callable[[Services, Caller, str, QueryParams], Awaitable[Response]]


@dataclass(frozen=True)
class Door:
    """Files under `prefix`: `check` refuses what the caller could not download now (a
    HubError), `serve` answers the GET; both take the path's last part and the parameters."""

    prefix: str
    check: Check
    serve: Serve
    # what the door admits its GET for (report files: `Ask(reports_only=True)`)
    ask: Ask = NOTHING_BUT_RECORDS


async def _serve_export(
    services: Services, caller: Caller, file: str, params: QueryParams
) -> Response:
    return await exports.export_file(services, caller, file, params, via="link")


async def _serve_report(
    services: Services, caller: Caller, file: str, params: QueryParams
) -> Response:
    return await report_files.report_file(services, caller, file, params, via="link")


DOORS = (
    Door("/exports/", exports.check_export, _serve_export),
    # admitted as GET /reports/… is: an allow-listed client may fetch report files
    Door("/reports/", report_files.check_report_file, _serve_report, Ask(reports_only=True)),
)


def canonical(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(sorted(pairs, key=lambda pair: pair[0]), quote_via=quote)


def target(path: object, query: object) -> tuple[Target, Door]:
    """The target a request names, and its door; BAD_USER_INPUT otherwise."""
    if not isinstance(path, str) or not (query is None or isinstance(query, str)):
        raise BadUserInput(
            'Send {"path": "/exports/….csv", "query": "a=1&b=2"} (query optional)',
            reason="LINK_TARGET_MALFORMED",
        )
    if "?" in path or "#" in path or len(path) + len(query or "") > MAX_TARGET:
        raise BadUserInput(
            "`path` is the file's path alone (the parameters go in `query`), at most "
            f"{MAX_TARGET} characters with them",
            reason="LINK_TARGET_MALFORMED",
        )
    for door in DOORS:
        name = path.removeprefix(door.prefix)
        if path.startswith(door.prefix) and name and "/" not in name:
            return Target(path, canonical((query or "").lstrip("?"))), door
    raise BadUserInput(NOT_A_FILE, reason="LINK_TARGET_REFUSED")


def door_of(stored: Target) -> tuple[Door, str]:
    for door in DOORS:
        if stored.path.startswith(door.prefix):
            return door, stored.path.removeprefix(door.prefix)
    raise ValueError(f"no door serves {stored.path!r}")
