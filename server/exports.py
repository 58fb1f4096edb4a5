"""GET /exports/{service-requests|organizations|participation-events|breakdown}.{csv|xlsx}:
the GraphQL lists and breakdowns as files, with the same filters, token, scope and masking.

Query parameters mirror the GraphQL arguments (`under`, the filter input's fields, `orderBy`;
`by`, `from`, `to` for breakdowns); lists take `a,b` or repeated parameters. Refusals come
before the first byte, in GraphQL's error shape: 401 without a valid token, 400 for a bad
parameter, 403 for a breakdown of a region above the caller's jurisdiction, 404 for an
unknown file. Every export, finished or not, leaves one `export` entry in the audit log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from db import clock
from resolvers import organizations, participation, services
from resolvers.errors import BadUserInput, Forbidden, HubError, NotFound
from resolvers.export_figures import BREAKDOWNS, Figures, breakdown_allowed, breakdown_figures
from resolvers.exports import (
    RECORD_KINDS,
    Cell,
    RecordKind,
    RegionNames,
    audit_export,
    record_chunks,
)
from resolvers.labels import (
    ORGANIZATION_KIND,
    PARTICIPATION_KIND,
    SERVICE_CATEGORY,
    SERVICE_CHANNEL,
    SERVICE_STATUS,
)
from resolvers.scope import Caller, Path, check_region_code
from resolvers.session import RequestSession
from resolvers.stats import Period
from server.admission import Credentials, Refused, admit
from server.export_figures import HEADER as BREAKDOWN_HEADER
from server.export_figures import TOTAL_KEY, breakdown_cells
from server.graphql import error_response, refused_response
from server.observe import observation
from server.services import Services
from server.sheet_columns import COLUMNS, Column, mark_no_data
from server.sheets import Heading, Lang, full_name, lang_of, sheet_of
from server.spreadsheets import Chunks, Sheet, csv_stream, xlsx_stream

log = logging.getLogger("grassroots.exports")

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MAX_PARAMETER = 1_000


def _values(params: QueryParams, name: str) -> list[str]:
    return [v.strip() for raw in params.getlist(name) for v in raw.split(",") if v.strip()]


def _one(params: QueryParams, name: str) -> str | None:
    given = params.getlist(name)
    if len(given) > 1:
        raise BadUserInput(f"`{name}` may be given once", reason="PARAMETER_REPEATED")
    return given[0] if given and given[0] != "" else None


def _enums(params: QueryParams, name: str, allowed: Mapping[str, str]) -> list[str] | None:
    values = _values(params, name)
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise BadUserInput(
            f"`{name}` takes {', '.join(allowed)}; not {', '.join(wrong)}", reason="UNKNOWN_VALUE"
        )
    return values or None


def _day(params: QueryParams, name: str) -> dt.date | None:
    text = _one(params, name)
    if text is None:
        return None
    try:
        if DAY.match(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise BadUserInput(f"`{name}` must be a day, YYYY-MM-DD, not {text!r}", reason="DAY_MALFORMED")


def _boolean(params: QueryParams, name: str) -> bool | None:
    text = _one(params, name)
    if text is None or text in ("true", "false"):
        return None if text is None else text == "true"
    raise BadUserInput(f"`{name}` must be true or false, not {text!r}", reason="BOOLEAN_MALFORMED")


def _choice(params: QueryParams, name: str, allowed: tuple[str, ...]) -> str | None:
    text = _one(params, name)
    if text is not None and text not in allowed:
        raise BadUserInput(
            f"`{name}` takes one of {', '.join(allowed)}; not {text!r}", reason="UNKNOWN_VALUE"
        )
    return text


def _service_filters(p: QueryParams, now: dt.datetime) -> tuple[Any, ...]:
    return services.filters(
        _enums(p, "statuses", SERVICE_STATUS),
        _enums(p, "categories", SERVICE_CATEGORY),
        _enums(p, "channels", SERVICE_CHANNEL),
        _day(p, "submittedFrom"),
        _day(p, "submittedTo"),
        _boolean(p, "overdue"),
        _one(p, "text"),
        now,
    )


def _organization_filters(p: QueryParams, now: dt.datetime) -> tuple[Any, ...]:
    return organizations.filters(_enums(p, "kinds", ORGANIZATION_KIND), _one(p, "nameContains"))


def _event_filters(p: QueryParams, now: dt.datetime) -> tuple[Any, ...]:
    return participation.filters(
        _enums(p, "kinds", PARTICIPATION_KIND), _day(p, "from"), _day(p, "to"), _one(p, "text")
    )


@dataclass(frozen=True)
class ListParameters:
    names: tuple[str, ...]
    filters: Callable[[QueryParams, dt.datetime], tuple[Any, ...]]
    ordered: bool = False
    # the parameters that bound the period the title block names
    period: tuple[str, str] | None = None


LISTS = {
    "service-requests": ListParameters(
        (
            "statuses",
            "categories",
            "channels",
            "submittedFrom",
            "submittedTo",
            "overdue",
            "text",
            "orderBy",
        ),
        _service_filters,
        ordered=True,
        period=("submittedFrom", "submittedTo"),
    ),
    "organizations": ListParameters(("kinds", "nameContains"), _organization_filters),
    "participation-events": ListParameters(
        ("kinds", "from", "to", "text"), _event_filters, period=("from", "to")
    ),
}
TITLES = {
    "service-requests": "服务诉求清单",
    "organizations": "基层组织清单",
    "participation-events": "群众参与活动清单",
}
EN_TITLES = {
    "service-requests": "Service requests",
    "organizations": "Organizations",
    "participation-events": "Participation events",
}
BREAKDOWN_TITLES = {
    "CHILD": "分组统计(按下级区划)",
    "MONTH": "分组统计(按月)",
    "SERVICE_CATEGORY": "分组统计(按服务类别)",
    "ORGANIZATION_KIND": "分组统计(按组织类型)",
    "PARTICIPATION_KIND": "分组统计(按参与形式)",
    "QUARTER": "分组统计(按季度)",
    "YEAR": "分组统计(按年)",
}
BREAKDOWN_PARAMETERS = ("by", "from", "to")


@dataclass
class Export:
    """What a request asked for, checked: the columns, the rows to come, and the audit."""

    name: str
    header: tuple[str, ...]
    chunks: Chunks
    record_type: str
    region_code: str | None
    # rows by region path, counted as they go out: where the export's audit entries go
    reads: Counter[Path] | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    # what the title block says: the regions' full names, the period, and the legend
    regions: tuple[str, ...] = ()
    period: tuple[dt.date | None, dt.date | None] = (None, None)
    by: str | None = None


async def _no_rows() -> Chunks:
    return
    yield


async def _rows(rows: list[list[Cell]]) -> Chunks:
    yield rows


def check_parameters(params: QueryParams, allowed: list[str], what: str) -> None:
    """Refuse parameters not in `allowed`, and values longer than MAX_PARAMETER."""
    unknown = sorted(set(params.keys()) - set(allowed))
    if unknown:
        raise BadUserInput(
            f"Unknown parameter {', '.join(unknown)}; this {what} takes {', '.join(allowed)}",
            reason="UNKNOWN_PARAMETER",
        )
    if any(len(v) > MAX_PARAMETER for v in params.values()):
        raise BadUserInput(
            f"A parameter takes at most {MAX_PARAMETER} characters", reason="PARAMETER_TOO_LONG"
        )


def _audit_region(caller: Caller, first: tuple[Path, ...]) -> str | None:
    """Where the entry goes: the region exported, else the caller's jurisdiction."""
    paths = [*first, *caller.read]
    return paths[0].rsplit(".", 1)[-1] if paths else None


async def _record_export(
    services_: Services, caller: Caller, kind: RecordKind, params: QueryParams
) -> Export:
    wanted = LISTS[kind.name]
    check_parameters(params, ["under", "lang", *wanted.names], "export")
    now = clock.now()
    filters = wanted.filters(params, now)
    order = _choice(params, "orderBy", tuple(kind.spec.orders)) if wanted.ordered else None
    under = _one(params, "under")
    targets = await services_.directory.under(caller.read, under)
    reads: Counter[Path] = Counter()
    chunks = record_chunks(
        services_.pool,
        caller,
        kind,
        targets,
        filters,
        order,
        services_.settings.export_statement_timeout_ms,
        now,
        reads=reads,
    )
    region = _audit_region(caller, targets)
    start, end = (_day(params, n) for n in wanted.period) if wanted.period else (None, None)
    regions = await _full_names(services_, caller, targets)
    return Export(
        kind.name,
        kind.header,
        chunks,
        kind.record_type,
        region,
        reads=reads,
        regions=regions,
        period=(start, end),
    )


async def _full_names(
    services_: Services, caller: Caller, paths: tuple[Path, ...]
) -> tuple[str, ...]:
    """The full names of the regions exported, as the caller sees them."""
    if not paths:
        return ()
    names = RegionNames()
    session = RequestSession(services_.pool, caller, readonly=True)
    try:
        await names.fill(session, paths)
    finally:
        await session.close(commit=True)
    return tuple(full_name(names[code] for code in path.split(".")) for path in paths)


async def _breakdown_export(
    services_: Services, caller: Caller, params: QueryParams, *, dry: bool = False
) -> Export:
    """The breakdown asked for; `dry`: its parameters and region checked, no figures read."""
    check_parameters(params, ["under", "lang", *BREAKDOWN_PARAMETERS], "export")
    by = _choice(params, "by", BREAKDOWNS)
    if by is None:
        raise BadUserInput(
            f"`by` is required: one of {', '.join(BREAKDOWNS)}", reason="BREAKDOWN_REQUIRED"
        )
    start, end = _day(params, "from"), _day(params, "to")
    if start is not None and end is not None and start > end:
        raise BadUserInput("`from` must not be after `to`", reason="PERIOD_REVERSED")
    code = _one(params, "under")
    if code is None:
        if len(caller.grants) != 1:
            raise BadUserInput(
                "`under` is required: your token grants several regions", reason="REGION_REQUIRED"
            )
        code = caller.grants[0].code
    check_region_code(code, "under")
    if dry:
        await breakdown_allowed(
            services_.pool, caller, code, by, Period(start, end), dt.datetime.now(dt.UTC)
        )
        return Export("breakdown", BREAKDOWN_HEADER, _no_rows(), "Breakdown", code)
    figures = await breakdown_figures(
        services_.pool,
        caller,
        code,
        by,
        Period(start, end),
        clock.now(),
        services_.settings.export_statement_timeout_ms,
    )
    if figures is None:
        return Export(
            "breakdown",
            BREAKDOWN_HEADER,
            _no_rows(),
            "Breakdown",
            _audit_region(caller, ()),
            period=(start, end),
            by=by,
        )
    rows = [
        mark_no_data(cells, _notes(figures, str(cells[0]))) for cells in breakdown_cells(figures)
    ]
    path = figures.region["path"]
    regions = (full_name(figures.names[c] for c in path.split(".")),)
    return Export(
        "breakdown",
        BREAKDOWN_HEADER,
        _rows(rows),
        "Breakdown",
        code,
        regions=regions,
        period=(start, end),
        by=by,
    )


def _notes(figures: Figures, key: str) -> list[tuple[str, str]]:
    """The (path, kind) of the notes on a row's figures, found by the row's key (the total's
    under ""), as issue 20 puts them on the figures (`Figures.notes`); none before."""
    found = getattr(figures, "notes", None)
    if not isinstance(found, dict):
        return []
    notes = found.get("" if key == TOTAL_KEY else key) or []
    return [(note.path, str(getattr(note.kind, "name", note.kind))) for note in notes]


@dataclass
class Tally:
    rows: int = 0
    complete: bool = False


async def _counted(chunks: Chunks, tally: Tally) -> Chunks:
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            tally.rows += len(chunk)
            yield chunk
    tally.complete = True


class ExportResponse(StreamingResponse):
    """A streamed file whose generators are closed (their connections given back) and whose
    export is audited however the response ends: finished, failed or left by the client."""

    def __init__(
        self,
        body: AsyncGenerator[bytes, None],
        media_type: str,
        filename: str,
        finish: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(
            body,
            media_type=media_type,
            headers={
                "content-disposition": f'attachment; filename="{filename}"',
                "cache-control": "private, no-store",
                "x-content-type-options": "nosniff",
            },
        )
        self._body = body
        self._finish = finish

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            log.exception("export failed after its first bytes; the connection is closed")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await self._body.aclose()
                await self._finish()


def _unknown_file() -> Response:
    return error_response(
        404,
        NotFound(
            "No such export: try /exports/{service-requests|organizations|"
            "participation-events|breakdown}.{csv|xlsx}",
            reason="EXPORT_NOT_FOUND",
        ),
    )


def known_export(file: str) -> bool:
    """Whether `file` (`service-requests.csv`, …) names an export."""
    name, _, form = file.rpartition(".")
    return form in MEDIA_TYPES and (name in RECORD_KINDS or name == "breakdown")


def _sheet(services_: Services, caller: Caller, export: Export, lang: Lang) -> Sheet:
    columns: tuple[Column, ...] = COLUMNS[export.name]
    if export.by is not None:
        title = (
            BREAKDOWN_TITLES.get(export.by, "分组统计")
            if lang == "zh"
            else f"Breakdown by {export.by}"
        )
    else:
        title = TITLES[export.name] if lang == "zh" else EN_TITLES[export.name]
    heading = Heading(
        title, export.regions, *export.period, caller.subject, legend=export.by is not None
    )
    now = clock.now()
    return sheet_of(export.name, columns, heading, lang, services_.schema._schema, now)


async def check_export(services_: Services, caller: Caller, file: str, params: QueryParams) -> None:
    """Whether `caller` could download the export `file` now: its parameters parsed as the
    export parses them, its region checked, nothing read (a one-time link's target)."""
    if not known_export(file):
        raise NotFound(
            "No such export: try /exports/{service-requests|organizations|"
            "participation-events|breakdown}.{csv|xlsx}",
            reason="EXPORT_NOT_FOUND",
        )
    name = file.rpartition(".")[0]
    lang_of(params)
    if name == "breakdown":
        await _breakdown_export(services_, caller, params, dry=True)
    else:
        export = await _record_export(services_, caller, RECORD_KINDS[name], params)
        await export.chunks.aclose()


async def export_file(
    services_: Services,
    caller: Caller,
    file: str,
    params: QueryParams,
    head: bool = False,
    via: str | None = None,
) -> Response:
    """The export `file` (`breakdown.xlsx`, …) with `params`, streamed, for a caller already
    admitted (GET /exports, and one-time links): refusals before the first byte, one audit
    entry however the stream ends; `via` (`link`) is written in it."""
    if not known_export(file):
        return _unknown_file()
    name, _, form = file.rpartition(".")
    try:
        lang = lang_of(params)
        if name == "breakdown":
            export = await _breakdown_export(services_, caller, params)
        else:
            export = await _record_export(services_, caller, RECORD_KINDS[name], params)
    except Forbidden as error:
        return error_response(403, error)
    except HubError as error:
        return error_response(400, error)
    if head:
        await export.chunks.aclose()
        return Response(media_type=MEDIA_TYPES[form])  # checked, and nothing read
    export.parameters = {key: ",".join(params.getlist(key)) for key in params}
    sheet = _sheet(services_, caller, export, lang)
    tally = Tally()
    rows = _counted(export.chunks, tally)
    body = csv_stream(sheet, rows) if form == "csv" else xlsx_stream(sheet, rows)

    async def finish() -> None:
        if export.region_code is None:
            return  # a caller who can read nothing has exported nothing
        details: dict[str, Any] = {
            "format": form,
            "export": export.name,
            "parameters": export.parameters,
            "rows": tally.rows,
            "complete": tally.complete,
        }
        if via is not None:
            details["via"] = via
        await audit_export(
            services_.pool, caller, export.region_code, export.record_type, details, export.reads
        )

    stamp = clock.now().astimezone(clock.CST)  # the one clock, as the sheet's "generated at"
    scope = export.region_code or "none"
    filename = f"{export.name}-{scope}-{stamp:%Y%m%d-%H%M%S}.{form}"
    return ExportResponse(body, MEDIA_TYPES[form], filename, finish)


async def export_endpoint(request: Request) -> Response:
    services_: Services = request.app.state.services
    file = request.path_params["name"]
    if not known_export(file):
        return _unknown_file()
    seen = observation(request.scope)
    credentials = Credentials.of(request.headers, request.client.host if request.client else None)
    try:
        caller = await admit(services_, credentials)
    except Refused as refused:
        return refused_response(seen, refused)
    seen.subject = caller.subject
    return await export_file(
        services_, caller, file, request.query_params, head=request.method == "HEAD"
    )
