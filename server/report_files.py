"""GET /reports/NAME.vN.{json,csv,xlsx}: a named report as a file, its variables as query
parameters, for tools that can only fetch a URL (Excel "From Web", Power Query, cron + curl).

`NAME.{json,csv,xlsx}` runs the latest version; pin the version in a tool. Variables are
parsed by their declared types as the exports' parameters are: lists as repeated (or
`a,b`) parameters, enums by name, `Date` as YYYY-MM-DD, `Boolean` as true/false. JSON is the
GraphQL result; CSV and XLSX are the report's declared table (`schema/report_tables.py`)
under the sheet rules of the exports. Admitted as GET /reports is (an allow-listed client may
fetch them), audited as an export, never cached.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    get_named_type,
    parse_type,
    type_from_ast,
)
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from db import clock
from resolvers.context import Context
from resolvers.errors import BadUserInput, HubError, NotFound
from resolvers.exports import audit_export
from resolvers.scope import Caller
from resolvers.session import RequestSession
from schema.reports import Report, Reports
from server.admission import Ask, Credentials, Refused, admit
from server.exports import (
    MEDIA_TYPES,
    ExportResponse,
    Tally,
    _audit_region,
    _counted,
    _day,
    _full_names,
    _one,
    _rows,
    _values,
    check_parameters,
)
from server.graphql import AnswerResponse, _execute, error_response, refused_response
from server.observe import observation
from server.services import Services
from server.sheets import Heading, Lang, lang_of, title_block
from server.spreadsheets import Sheet, csv_stream, xlsx_stream

FILE = re.compile(
    r"(?P<name>[a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?:\.v(?P<version>[1-9][0-9]{0,5}))?"
    r"\.(?P<form>json|csv|xlsx)"
)
NO_STORE = {"cache-control": "private, no-store", "x-content-type-options": "nosniff"}
STATUS_BY_CODE = {"FORBIDDEN": 403, "UNAUTHENTICATED": 401, "NOT_FOUND": 404}
INTEGER = re.compile(r"^-?[0-9]{1,10}$")
FLOAT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _no_such(file: str) -> Response:
    return error_response(
        404,
        NotFound(
            f"No report file {file}: try /reports/NAME.vN.{{json|csv|xlsx}}; "
            "GET /reports lists the registered ones",
            reason="REPORT_NOT_FOUND",
        ),
    )


def _scalar(text: str, name: str, type_: Any) -> Any:
    if isinstance(type_, GraphQLEnumType):
        if text not in type_.values:
            raise BadUserInput(
                f"`{name}` takes {', '.join(type_.values)}; not {text!r}", reason="UNKNOWN_VALUE"
            )
        return text
    if type_ is GraphQLInt:
        if not INTEGER.match(text):
            raise BadUserInput(f"`{name}` must be a whole number", reason="NUMBER_MALFORMED")
        return int(text)
    if type_ is GraphQLFloat:
        if not FLOAT.match(text):
            raise BadUserInput(f"`{name}` must be a number", reason="NUMBER_MALFORMED")
        return float(text)
    if type_ is GraphQLBoolean:
        if text not in ("true", "false"):
            raise BadUserInput(f"`{name}` must be true or false", reason="BOOLEAN_MALFORMED")
        return text == "true"
    return text


def report_variables(report: Report, schema: GraphQLSchema, params: QueryParams) -> dict[str, Any]:
    """The report's variables from the URL's parameters, parsed by their declared types."""
    declared = {v.name: v for v in report.variables}
    check_parameters(params, ["lang", *declared], "report")
    variables: dict[str, Any] = {}
    for name, variable in declared.items():
        type_ = type_from_ast(schema, parse_type(variable.type))
        if type_ is None:  # the report validated against this schema: never
            raise BadUserInput(f"`{name}` has an unknown type", reason="VARIABLE_NOT_IN_URL")
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        leaf = get_named_type(type_)
        if isinstance(leaf, GraphQLInputObjectType):
            raise BadUserInput(
                f"`{name}` is an input object: run this report with POST /graphql",
                reason="VARIABLE_NOT_IN_URL",
            )
        if isinstance(inner, GraphQLList):
            values = _values(params, name)
            if values:
                variables[name] = [_scalar(v, name, leaf) for v in values]
        else:
            text = _day(params, name) if leaf.name == "Date" else _one(params, name)
            if text is not None:
                variables[name] = _scalar(str(text), name, leaf)
        if name not in variables and isinstance(type_, GraphQLNonNull) and not variable.default:
            raise BadUserInput(
                f"`{name}` is required ({variable.type})", reason="VARIABLE_REQUIRED"
            )
    return variables


def _period(variables: Mapping[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    def day(name: str) -> dt.date | None:
        value = variables.get(name)
        return dt.date.fromisoformat(value) if isinstance(value, str) else None

    return day("from"), day("to")


def _sheet(report: Report, heading: Heading, lang: Lang, now: dt.datetime) -> Sheet:
    table, zh = report.table, lang == "zh"
    definitions = tuple(
        (c.label if zh else c.key, c.key, f"{c.description} ({c.field})".strip())
        for c in table.columns
    )
    return Sheet(
        name=report.name,
        header=tuple(c.label if zh else c.key for c in table.columns),
        kinds=tuple(c.kind for c in table.columns),
        title=title_block(heading, lang, now),
        definitions=definitions,
        definitions_name="指标说明" if zh else "definitions",
        definitions_header=("列名", "字段", "说明") if zh else ("column", "path", "definition"),
        booleans=("是", "否") if zh else None,
    )


def _report(services: Services, file: str) -> tuple[Report, str] | None:
    """The report a file name asks for, and the format."""
    match = FILE.fullmatch(file)
    reports: Reports | None = services.reports
    if match is None or reports is None:
        return None
    version = int(match["version"]) if match["version"] else None
    report = reports.get(match["name"], version)
    return (report, match["form"]) if report is not None else None


async def check_report_file(
    services: Services, caller: Caller, file: str, params: QueryParams
) -> None:
    """Whether `caller` could download the report file now: the report known and its
    parameters parsed, nothing run (a one-time link's target); a HubError if not."""
    found = _report(services, file)
    if found is None:
        raise NotFound(
            f"No report file {file}; GET /reports lists the registered ones",
            reason="REPORT_NOT_FOUND",
        )
    lang_of(params)
    report_variables(found[0], services.schema._schema, params)


async def report_file(
    services: Services,
    caller: Caller,
    file: str,
    params: QueryParams,
    head: bool = False,
    via: str | None = None,
) -> Response:
    """The report file `file` (`monthly-rates-by-child.v2.xlsx`, …) with `params`, for a
    caller already admitted (GET /reports/…, and one-time links); `via` (`link`) is written
    in its audit entry."""
    found = _report(services, file)
    reports = services.reports
    if found is None or reports is None:
        return _no_such(file)
    report, form = found
    schema = services.schema._schema
    try:
        lang = lang_of(params)
        variables = report_variables(report, schema, params)
    except HubError as error:
        return error_response(400, error)
    if head:
        media = "application/json" if form == "json" else MEDIA_TYPES[form]
        return Response(media_type=media, headers=NO_STORE)
    session = RequestSession(services.pool, caller)
    context = Context(caller, session, services.cursors, services.directory)
    # As POST /graphql runs a report: the versions registered before CHILD breakdowns gained
    # the region's own row keep their output without it (issue 20: `Reports.own_row`).
    own_row = getattr(reports, "own_row", None)
    if own_row is not None and hasattr(context, "own_row"):
        setattr(context, "own_row", own_row(report.document))  # noqa: B010
    answer, malformed = await _execute(
        services, context, report.document, variables, report.operation_name
    )
    data = answer.get("data")
    region = variables.get("region")
    visible = isinstance(data, dict) and isinstance(data.get("region"), dict)
    # at the region reported on when the caller reads it, else at the caller's jurisdiction
    whole = visible and isinstance(region, str) and not answer.get("errors")
    audited_at = region if whole and isinstance(region, str) else _audit_region(caller, ())
    parameters = {key: ",".join(params.getlist(key)) for key in params}
    details: dict[str, Any] = {
        "format": form,
        "export": f"report:{report.name}.v{report.version}",
        "parameters": parameters,
    }
    if via is not None:
        details["via"] = via
    if form == "json" or answer.get("errors"):
        if form == "json" and audited_at is not None and not malformed:
            count = len(report.table.rows_of(data)) if isinstance(data, dict) else 0
            await audit_export(
                services.pool,
                caller,
                audited_at,
                "Report",
                details | {"rows": count, "complete": True},
            )
        if form == "json":
            return AnswerResponse(answer, status_code=400 if malformed else 200, headers=NO_STORE)
        codes = [e.get("extensions", {}).get("code") for e in answer["errors"]]
        status = next((STATUS_BY_CODE[c] for c in codes if c in STATUS_BY_CODE), 400)
        return AnswerResponse({"errors": answer["errors"]}, status_code=status, headers=NO_STORE)
    table = report.table
    cells = [table.cells(row) for row in table.rows_of(data)]
    paths = (
        tuple(k.path for k in (await services.directory.lookup([region])).values())
        if visible and isinstance(region, str)
        else ()
    )
    title = table.title or report.name
    heading = Heading(
        title if lang == "zh" else report.name,
        await _full_names(services, caller, paths),
        *_period(variables),
        caller.subject,
    )
    sheet = _sheet(report, heading, lang, dt.datetime.now(dt.UTC))
    tally = Tally()
    rows = _counted(_rows(cells), tally)
    body = csv_stream(sheet, rows) if form == "csv" else xlsx_stream(sheet, rows)

    async def finish() -> None:
        if audited_at is not None:
            done = details | {"rows": tally.rows, "complete": tally.complete}
            await audit_export(services.pool, caller, audited_at, "Report", done)

    stamp = clock.now().astimezone(clock.CST)  # the one clock, as the sheet's "generated at"
    filename = (
        f"{report.name}.v{report.version}-{audited_at or 'none'}-{stamp:%Y%m%d-%H%M%S}.{form}"
    )
    return ExportResponse(body, MEDIA_TYPES[form], filename, finish)


async def report_file_endpoint(request: Request) -> Response:
    """GET /reports/{file}: admitted as GET /reports (reports only), then `report_file`."""
    services: Services = request.app.state.services
    seen = observation(request.scope)
    credentials = Credentials.of(request.headers, request.client.host if request.client else None)
    try:
        caller = await admit(services, credentials, Ask(reports_only=True))
    except Refused as refused:
        return refused_response(seen, refused)
    seen.subject = caller.subject
    return await report_file(
        services,
        caller,
        request.path_params["file"],
        request.query_params,
        head=request.method == "HEAD",
    )
