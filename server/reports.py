"""Named reports over HTTP, and the allow-list rule for the clients limited to them.

A tool runs a registered report through POST /graphql with no `query`:
`{"extensions": {"report": {"name": "monthly-rates-by-child", "version": 1}},
"variables": {...}}` (no version: the latest). The report then runs exactly as if its
document had been sent: the caller's token, scope and limits. GET /reports lists them.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.errors import BadUserInput, HubError, NotFound
from schema.reports import Reports
from server.admission import Ask, Credentials, Refused, admit
from server.observe import observation

Operation = tuple[str, dict[str, Any] | None, str | None]

# What a federation gateway may still send for an allow-list client's token.
GATEWAY_FIELDS = frozenset({"_entities", "_service", "__typename"})


def named_report(item: Any, reports: Reports | None) -> Operation | HubError | None:
    """The registered operation an item asks for, a refusal, or None for no report."""
    if not isinstance(item, dict):
        return None
    extensions = item.get("extensions")
    if not isinstance(extensions, dict) or "report" not in extensions:
        return None
    asked = extensions["report"]
    if item.get("query") is not None:
        return BadUserInput(
            "Send either a `query` or `extensions.report`, not both", reason="REPORT_AND_QUERY"
        )
    if not isinstance(asked, dict) or not isinstance(asked.get("name"), str):
        return BadUserInput(
            '`extensions.report` is {"name": String, "version": Int}', reason="REPORT_MALFORMED"
        )
    version = asked.get("version")
    if version is not None and (type(version) is not int or version < 1):
        return BadUserInput(
            "`extensions.report.version` is a positive whole number", reason="REPORT_MALFORMED"
        )
    variables = item.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return BadUserInput("`variables` must be a JSON object", reason="VARIABLES_MALFORMED")
    report = reports.get(asked["name"], version) if reports is not None else None
    if report is None:
        shown = asked["name"] if version is None else f"{asked['name']} v{version}"
        return NotFound(
            f"No report {shown}; GET /reports lists the registered ones",
            reason="REPORT_NOT_FOUND",
        )
    return report.document, variables, report.operation_name


def gateway_fetch(query: str) -> bool:
    """Whether every operation of the document selects only entity or SDL fetches."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            return False
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.name.value not in GATEWAY_FIELDS:
                return False
    return True


async def reports_endpoint(request: Request) -> Response:
    """GET /reports: every registered report with its versions, variables and document."""
    from server.graphql import refused_response

    services = request.app.state.services
    seen = observation(request.scope)
    credentials = Credentials.of(request.headers, request.client.host if request.client else None)
    try:
        caller = await admit(services, credentials, Ask(reports_only=True))
    except Refused as refused:
        return refused_response(seen, refused)
    seen.subject = caller.subject
    reports: Reports | None = services.reports
    return JSONResponse({"reports": reports.listing() if reports is not None else []})
