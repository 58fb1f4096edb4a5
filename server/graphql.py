"""POST /graphql: body limits, authentication, one transaction per operation, one error shape."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry.http.ides import get_graphql_ide_html
from strawberry.types import ExecutionResult

from db.revocations import RevocationList
from resolvers.allowlist import AllowList
from resolvers.context import Context
from resolvers.errors import (
    BadUserInput,
    HubError,
    Internal,
    ServiceUnavailable,
    Unauthenticated,
)
from resolvers.ids import CursorCodec
from resolvers.regions import RegionDirectory
from resolvers.scope import Caller
from resolvers.session import RequestSession
from schema.limits import too_many_tokens
from schema.reports import Reports
from server.auth import GATEWAY_HEADER, KeySet, authenticate, gateway_credential
from server.metrics import Metrics
from server.observe import Observation, observation
from server.ratelimit import RateLimiter, Refusal
from server.reports import gateway_fetch, named_report, report_required
from server.settings import Settings

log = logging.getLogger("grassroots.graphql")

MAX_BODY = 1_000_000
# An `ingest` mutation alone may send up to 16 MB, and only an editor's: the caller is
# authenticated before more than MAX_BODY bytes are read, and the parsed document must be
# that one mutation field (`_ingest_only`).
INGEST_MAX_BODY = 16_000_000
TOO_LARGE = (
    f"The request body exceeds {MAX_BODY} bytes; only a request holding one `ingest` mutation "
    f"(editor role) may send up to {INGEST_MAX_BODY}"
)
MAX_BATCH = 10


@dataclass
class Services:
    """What the endpoint needs from the running app."""

    settings: Settings
    schema: strawberry.federation.Schema
    pool: Any
    directory: RegionDirectory
    cursors: CursorCodec
    keys: KeySet | None = None
    reports: Reports | None = None
    allowlist: AllowList | None = None
    metrics: Metrics | None = None
    limiter: RateLimiter | None = None
    revocations: RevocationList | None = None


RETRY_AFTER_SECONDS = "2"


def error_response(status: int, error: HubError) -> JSONResponse:
    """The refusal as JSON; a database that cannot be reached is a 503, whatever `status`."""
    if isinstance(error, ServiceUnavailable):
        return unavailable_response(error)
    return JSONResponse({"errors": [error.formatted]}, status_code=status)


def refuse(
    seen: Observation,
    status: int,
    error: HubError,
    reason: str,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A request refused before any operation ran, with the request id in the error; a
    database that cannot be reached is a 503, whatever `status`."""
    if isinstance(error, ServiceUnavailable):
        status, headers, reason = 503, {"retry-after": RETRY_AFTER_SECONDS}, "unavailable"
    seen.rejected = reason
    seen.code(error.code)
    formatted: dict[str, Any] = {**error.formatted}
    formatted["extensions"] = {**formatted.get("extensions", {}), "requestId": seen.request_id}
    return JSONResponse({"errors": [formatted]}, status_code=status, headers=headers)


def too_many(seen: Observation, refusal: Refusal) -> JSONResponse:
    return refuse(
        seen, 429, refusal.error, "rate_limited", {"retry-after": str(refusal.retry_after)}
    )


def _stamp(answer: dict[str, Any], seen: Observation) -> str:
    """Puts the request id in every error of one operation's answer; returns its outcome."""
    outcome = "ok"
    for error in answer.get("errors", ()):
        extensions = error.setdefault("extensions", {})
        extensions["requestId"] = seen.request_id
        code = str(extensions.get("code", "INTERNAL"))
        seen.code(code)
        if outcome == "ok":
            outcome = code
    return outcome


def unavailable_response(error: HubError) -> JSONResponse:
    return JSONResponse(
        {"errors": [error.formatted]},
        status_code=503,
        headers={"retry-after": RETRY_AFTER_SECONDS},
    )


def _unavailable(answers: list[dict[str, Any]]) -> bool:
    return any(
        (e.get("extensions") or {}).get("code") == ServiceUnavailable.code
        for answer in answers
        for e in answer.get("errors", ())
    )


def format_error(error: GraphQLError) -> dict[str, Any]:
    """Refusals keep their message and code; anything unexpected is logged and masked."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        formatted: dict[str, Any] = {**error.formatted}
        formatted["extensions"] = {"code": "BAD_USER_INPUT", **(error.extensions or {})}
        return formatted
    log.error("unexpected error", exc_info=original)
    masked: dict[str, Any] = {**Internal().formatted}
    if error.path is not None:
        masked["path"] = error.path
    if error.locations is not None:
        masked["locations"] = [loc.formatted for loc in error.locations]
    return masked


async def _read_body(
    request: Request, services: Services, seen: Observation
) -> tuple[bytes, Caller | None] | Response:
    """The body, and the caller when it had to be known first: past MAX_BODY bytes, reading
    goes on (to INGEST_MAX_BODY) only for an authenticated editor."""
    limit, caller = MAX_BODY, None

    async def widen() -> Response | None:
        nonlocal limit, caller
        try:
            caller = await _caller(request, services)
        except HubError as error:
            return await _unauthenticated(request, services, seen, error)
        seen.subject = caller.subject
        if not caller.scope("editor"):
            return refuse(seen, 413, BadUserInput(TOO_LARGE), "body_too_large")
        limit = INGEST_MAX_BODY
        return None

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        refused = await widen()
        if refused is not None:
            return refused
        if int(declared) > limit:
            return refuse(seen, 413, BadUserInput(TOO_LARGE), "body_too_large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            refused = await widen() if limit == MAX_BODY else None
            if refused is not None:
                return refused
            if len(body) > limit:
                return refuse(seen, 413, BadUserInput(TOO_LARGE), "body_too_large")
    return bytes(body), caller


def _ingest_only(query: str) -> bool:
    """Whether the document is one mutation selecting one field, `ingest` (with its batch in
    the variables: the document itself stays within the ordinary limit)."""
    if len(query) > MAX_BODY:
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    if len(document.definitions) != 1:
        return False
    definition = document.definitions[0]
    if not isinstance(definition, OperationDefinitionNode):
        return False
    if definition.operation != OperationType.MUTATION:
        return False
    selections = definition.selection_set.selections
    return (
        len(selections) == 1
        and isinstance(selections[0], FieldNode)
        and selections[0].name.value == "ingest"
    )


def _operation(item: Any) -> tuple[str, dict[str, Any] | None, str | None] | HubError:
    if not isinstance(item, dict):
        return BadUserInput("Each operation must be a JSON object with a `query`")
    query, variables, name = item.get("query"), item.get("variables"), item.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return BadUserInput("The request has no `query` string")
    if variables is not None and not isinstance(variables, dict):
        return BadUserInput("`variables` must be a JSON object")
    if name is not None and not isinstance(name, str):
        return BadUserInput("`operationName` must be a string")
    refused = too_many_tokens(query)
    if refused is not None:
        return refused
    return query, variables, name


async def _execute(
    services: Services,
    context: Context,
    query: str,
    variables: dict[str, Any] | None,
    name: str | None,
) -> tuple[dict[str, Any], bool]:
    """The response entry for one operation, and whether the request itself was malformed."""
    try:
        result: ExecutionResult = await services.schema.execute(
            query, variable_values=variables, context_value=context, operation_name=name
        )
    finally:
        await context.session.close(commit=True)
    body: dict[str, Any] = {}
    malformed = False
    if result.errors:
        body["errors"] = [format_error(e) for e in result.errors]
        malformed = result.data is None and all(e.original_error is None for e in result.errors)
    if not malformed:
        body["data"] = result.data
    return body, malformed


SERVICE_ONLY = "A gateway credential alone may read `_service` only; forward the caller's token"


async def _caller(request: Request, services: Services) -> Caller:
    gateway = gateway_credential(request.headers.get(GATEWAY_HEADER), services.settings)
    if gateway is False:
        raise Unauthenticated("The gateway credential is not valid")
    header = request.headers.get("authorization")
    if header is None and gateway:
        return Caller.gateway()
    return await authenticate(
        header, services.settings, services.directory, services.keys, services.revocations
    )


async def _unauthenticated(
    request: Request, services: Services, seen: Observation, error: HubError
) -> Response:
    """401, or 429 when the client address has spent its budget for such requests."""
    if services.limiter is not None:
        address = request.client.host if request.client else "unknown"
        refusal = services.limiter.address(address)
        if refusal is not None:
            return too_many(seen, refusal)
    return refuse(seen, 401, error, "unauthenticated")


def _service_only(query: str) -> bool:
    """Whether every operation of the document selects nothing but `_service`."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if not isinstance(selection, FieldNode):
                    return False
                if selection.name.value not in ("_service", "__typename"):
                    return False
        else:
            return False
    return True


async def graphql_endpoint(request: Request) -> Response:
    services: Services = request.app.state.services
    seen = observation(request.scope)
    if request.method == "GET":
        if services.settings.production:
            refused = BadUserInput("Send GraphQL operations with POST")
            return refuse(seen, 405, refused, "method_not_allowed")
        return HTMLResponse(get_graphql_ide_html())
    read = await _read_body(request, services, seen)
    if isinstance(read, Response):
        return read
    body, known = read
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        # The decoder's message names a position, never the text it could not read.
        refused = BadUserInput(f"The request body is not valid JSON: {error}")
        return refuse(seen, 400, refused, "malformed")
    try:
        caller = known or await _caller(request, services)
    except HubError as error:
        return await _unauthenticated(request, services, seen, error)
    seen.subject = caller.subject

    gateway = gateway_credential(request.headers.get(GATEWAY_HEADER), services.settings) is True
    batch = isinstance(payload, list)
    items = payload if batch else [payload]
    if batch and not 0 < len(items) <= MAX_BATCH:
        refused = BadUserInput(f"A batch holds 1 to {MAX_BATCH} operations")
        return refuse(seen, 400, refused, "malformed")
    if len(body) > MAX_BODY and (
        batch or not isinstance(payload, dict) or not _ingest_only(str(payload.get("query")))
    ):
        return refuse(seen, 413, BadUserInput(TOO_LARGE), "body_too_large")
    if services.limiter is not None:
        refusal = services.limiter.caller(caller, cost=len(items))
        if refusal is not None:
            return too_many(seen, refusal)

    answers: list[dict[str, Any]] = []
    statements = 0
    all_malformed = True
    limited = services.allowlist is not None and await services.allowlist.holds(caller.client)
    for item in items:
        report = named_report(item, services.reports)
        operation = _operation(item) if report is None else report
        if isinstance(operation, HubError):
            answer: dict[str, Any] = {"errors": [dict(operation.formatted)]}
            seen.operations.append((None, _stamp(answer, seen)))
            answers.append(answer)
            continue
        if caller.service_only and not _service_only(operation[0]):
            return refuse(seen, 401, Unauthenticated(SERVICE_ONLY), "unauthenticated")
        if limited and report is None and not (gateway and gateway_fetch(operation[0])):
            return refuse(seen, 403, report_required(), "report_required")
        session = RequestSession(services.pool, caller)
        context = Context(caller, session, services.cursors, services.directory)
        try:
            answer, malformed = await _execute(services, context, *operation)
        except ServiceUnavailable as error:  # the commit itself could not reach the database
            answer, malformed = {"errors": [error.formatted], "data": None}, False
        all_malformed = all_malformed and malformed
        statements += session.statements
        seen.operations.append((context.operation, _stamp(answer, seen)))
        answers.append(answer)
    seen.statements = statements
    if not batch and "data" not in answers[0]:
        all_malformed = True
    status = 400 if all_malformed and not batch else 200
    if _unavailable(answers):
        status = 503
    if status == 400:
        seen.rejected = "query_too_complex" if seen.codes == ["QUERY_TOO_COMPLEX"] else "malformed"
    response = JSONResponse(answers if batch else answers[0], status_code=status)
    if status == 503:
        response.headers["retry-after"] = RETRY_AFTER_SECONDS
    if not services.settings.production:
        response.headers["x-sql-statements"] = str(statements)
    return response
