"""GET and POST /graphql: the IDE page, persisted queries, body limits, admission, one
transaction per operation, one error shape."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    visit,
)
from graphql.language import Visitor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.types import ExecutionResult

from resolvers.context import Context
from resolvers.errors import (
    BadUserInput,
    Forbidden,
    HubError,
    Internal,
    NotFound,
    ServiceUnavailable,
)
from resolvers.scope import Caller
from resolvers.session import RequestSession
from schema.limits import too_many_tokens
from server.admission import Ask, Credentials, Refused, admit
from server.assets import ide_page, wants_ide
from server.auth import gateway_credential
from server.http_get import MUTATION_OVER_GET, from_url, not_a_query
from server.lane import Answer as LaneAnswer
from server.lane import HeavyLane, Job
from server.observe import Observation, observation
from server.persisted import ByHash, by_hash, persisted_miss, resolve
from server.reports import gateway_fetch, named_report
from server.services import Services

__all__ = ["Services", "error_response", "format_error", "graphql_endpoint", "refused_response"]

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


RETRY_AFTER_SECONDS = "2"


class AnswerResponse(JSONResponse):
    """A GraphQL answer, encoded by orjson (the same JSON as Starlette's encoder gives, in a
    fraction of the time on a 50-row list)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


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


REJECTED_BY_STATUS = {401: "unauthenticated", 429: "rate_limited", 503: "unavailable"}


def refused_response(seen: Observation, refused: Refused) -> JSONResponse:
    """An admission refusal at an HTTP door."""
    headers = {"retry-after": str(refused.retry_after)} if refused.retry_after else None
    label = REJECTED_BY_STATUS.get(refused.status, refused.reason.lower() or "forbidden")
    return refuse(seen, refused.status, refused.error, label, headers)


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
        # graphql-core's own refusals (syntax, validation, variable coercion) carry no code.
        extensions = error.extensions or {"code": "BAD_USER_INPUT", "reason": "INVALID_OPERATION"}
        formatted["extensions"] = {"code": "BAD_USER_INPUT", **extensions}
        return formatted
    log.error("unexpected error", exc_info=original)
    masked: dict[str, Any] = {**Internal().formatted}
    if error.path is not None:
        masked["path"] = error.path
    if error.locations is not None:
        masked["locations"] = [loc.formatted for loc in error.locations]
    return masked


async def _read_body(
    request: Request, services: Services, seen: Observation, credentials: Credentials
) -> bytes | Response:
    """The body: past MAX_BODY bytes, reading goes on (to INGEST_MAX_BODY) only for an
    admitted editor."""
    limit = MAX_BODY

    async def widen() -> Response | None:
        nonlocal limit
        try:
            caller = await admit(services, credentials, Ask(cost=0))
        except Refused as refused:
            return refused_response(seen, refused)
        seen.subject = caller.subject
        if not caller.scope("editor"):
            return refuse(
                seen, 413, BadUserInput(TOO_LARGE, reason="BODY_TOO_LARGE"), "body_too_large"
            )
        limit = INGEST_MAX_BODY
        return None

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        refused = await widen()
        if refused is not None:
            return refused
        if int(declared) > limit:
            return refuse(
                seen, 413, BadUserInput(TOO_LARGE, reason="BODY_TOO_LARGE"), "body_too_large"
            )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            refused = await widen() if limit == MAX_BODY else None
            if refused is not None:
                return refused
            if len(body) > limit:
                return refuse(
                    seen, 413, BadUserInput(TOO_LARGE, reason="BODY_TOO_LARGE"), "body_too_large"
                )
    return bytes(body)


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
        return BadUserInput(
            "Each operation must be a JSON object with a `query`", reason="REQUEST_MALFORMED"
        )
    query, variables, name = item.get("query"), item.get("variables"), item.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return BadUserInput("The request has no `query` string", reason="REQUEST_MALFORMED")
    if variables is not None and not isinstance(variables, dict):
        return BadUserInput("`variables` must be a JSON object", reason="VARIABLES_MALFORMED")
    if name is not None and not isinstance(name, str):
        return BadUserInput("`operationName` must be a string", reason="REQUEST_MALFORMED")
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


def _in_lane(
    lane: HeavyLane, caller: Caller, request_id: str, now: dt.datetime
) -> Callable[[str, dict[str, Any] | None, str | None], Awaitable[LaneAnswer]]:
    """How `schema/limits.py` hands this request's heavy query to the heavy lane: with the
    caller the door admitted, the request id and the request's clock."""

    async def run(query: str, variables: dict[str, Any] | None, name: str | None) -> LaneAnswer:
        return await lane.run(Job(caller, query, variables, name, request_id, now))

    return run


SDL_GATEWAY_ONLY = (
    "`_service` answers the federation gateway's credential only in production "
    "(or every caller where HUB_GRAPHIQL=true)"
)


class _Selects(Visitor):
    """Finds a field of a given name anywhere in a document, fragments included."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.found = False

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        if node.name.value == self.name:
            self.found = True
            return BREAK
        return None


def _selects(document: DocumentNode, name: str) -> bool:
    finder = _Selects(name)
    visit(document, finder)
    return finder.found


def _service_only(query: str) -> bool:
    """Whether every operation of the document selects nothing but `_service`."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            return False
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode):
                return False
            if selection.name.value not in ("_service", "__typename"):
                return False
    return True


def _asks_for_sdl(query: str) -> bool:
    try:
        return _selects(parse(query), "_service")
    except GraphQLError:
        return False


Operation = tuple[str, dict[str, Any] | None, str | None]


@dataclass(frozen=True)
class Pending:
    """An operation named by hash: its document is known once the caller's client is."""

    asked: ByHash
    variables: dict[str, Any] | None
    name: str | None


Prepared = tuple[Operation | HubError | Pending, bool]


def _prepared(items: list[Any], services: Services) -> list[Prepared]:
    """Each item's operation (or why it cannot run, or its hash to look up), and whether it
    is a registered report."""
    prepared: list[Prepared] = []
    for item in items:
        report = named_report(item, services.reports)
        if report is not None:
            prepared.append((report, True))
            continue
        asked = by_hash(item)
        if asked is None or isinstance(asked, HubError):
            prepared.append((asked or _operation(item), False))
            continue
        operation = _operation({**item, "query": asked.query or "{ __typename }"})
        if isinstance(operation, HubError):
            prepared.append((operation, False))
            continue
        prepared.append((Pending(asked, operation[1], operation[2]), False))
    return prepared


def _ask(prepared: list[Prepared], services: Services, gateway: bool, alone: bool) -> Ask:
    """What admission weighs: may an allow-listed client or a gateway alone run all this?
    Documents are parsed again only for a gateway's requests (`alone`: without a bearer), so
    an ordinary caller's request pays for no second parse. A lookup by a hash some trusted
    manifest holds counts as a report, provided the caller's client's manifests hold it."""
    documents = services.documents
    lookups = [
        op.asked.digest for op, _ in prepared if isinstance(op, Pending) and not op.asked.query
    ]
    registers = sum(1 for op, _ in prepared if isinstance(op, Pending) and op.asked.query)
    queries = [op[0] for op, _ in prepared if isinstance(op, tuple)]
    runnable = not any(isinstance(op, HubError) for op, _ in prepared)

    def reportish(op: Operation | HubError | Pending, is_report: bool) -> bool:
        if isinstance(op, Pending):
            return (
                op.asked.query is None
                and documents is not None
                and documents.known(op.asked.digest)
            )
        return is_report or (gateway and gateway_fetch(op[0]))  # type: ignore[index]

    reports_only = runnable and all(reportish(op, is_report) for op, is_report in prepared)
    by_hash_asked = any(isinstance(op, Pending) for op, _ in prepared)
    service_only = alone and runnable and not by_hash_asked and all(map(_service_only, queries))
    trusted = None
    if lookups:
        trusted = lambda client: documents is not None and documents.trusts(client, lookups)  # noqa: E731
    return Ask(
        reports_only=reports_only,
        service_only=service_only,
        cost=len(prepared),
        trusted=trusted,
        registers=registers,
    )


async def _items(
    request: Request, services: Services, seen: Observation, credentials: Credentials
) -> tuple[list[Any], bool] | Response:
    """The request's operations (GET: one, from the URL; POST: the body, one or a batch)."""
    if request.method == "GET":
        item = from_url(request)
        if isinstance(item, HubError):
            return refuse(seen, 400, item, "malformed")
        return [item], False
    body = await _read_body(request, services, seen, credentials)
    if isinstance(body, Response):
        return body
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        # The decoder's message names a position, never the text it could not read.
        refused = BadUserInput(
            f"The request body is not valid JSON: {error}", reason="REQUEST_MALFORMED"
        )
        return refuse(seen, 400, refused, "malformed")
    batch = isinstance(payload, list)
    items = payload if batch else [payload]
    if batch and not 0 < len(items) <= MAX_BATCH:
        refused = BadUserInput(f"A batch holds 1 to {MAX_BATCH} operations", reason="BATCH_SIZE")
        return refuse(seen, 400, refused, "malformed")
    if len(body) > MAX_BODY and (
        batch or not isinstance(payload, dict) or not _ingest_only(str(payload.get("query")))
    ):
        return refuse(seen, 413, BadUserInput(TOO_LARGE, reason="BODY_TOO_LARGE"), "body_too_large")
    return items, batch


async def graphql_endpoint(request: Request) -> Response:
    services: Services = request.app.state.services
    seen = observation(request.scope)
    settings = services.settings
    if request.method == "GET" and wants_ide(
        request.headers.get("accept"),
        "query" in request.query_params or "extensions" in request.query_params,
    ):
        if not settings.graphiql:
            return refuse(seen, 404, NotFound(IDE_OFF, reason="IDE_OFF"), "not_found")
        return ide_page()
    credentials = Credentials.of(request.headers, request.client.host if request.client else None)
    read = await _items(request, services, seen, credentials)
    if isinstance(read, Response):
        return read
    items, batch = read
    gateway = gateway_credential(credentials.gateway, settings) is True
    prepared = _prepared(items, services)
    try:
        caller = await admit(
            services,
            credentials,
            _ask(prepared, services, gateway, gateway and credentials.authorization is None),
        )
    except Refused as refused_at_door:
        return refused_response(seen, refused_at_door)
    seen.subject = caller.subject
    sdl_open = gateway or not settings.production or settings.graphiql

    answers: list[dict[str, Any]] = []
    bodies: list[Any] = []  # what is sent: the answers, or a heavy lane's JSON as it came
    statements = 0
    all_malformed = True
    for pending, is_report in prepared:
        operation: Operation | HubError
        if isinstance(pending, Pending):
            found = resolve(pending.asked, caller.client, services.documents, services.registered)
            operation = (
                found if isinstance(found, HubError) else (found, pending.variables, pending.name)
            )
        else:
            operation = pending
        if not isinstance(operation, HubError) and not sdl_open and _asks_for_sdl(operation[0]):
            operation = Forbidden(SDL_GATEWAY_ONLY, reason="GATEWAY_ONLY")
        if (
            request.method == "GET"
            and not isinstance(operation, HubError)
            and not_a_query(operation[0], operation[2])
        ):
            refused = BadUserInput(MUTATION_OVER_GET, reason="METHOD_NOT_ALLOWED")
            return refuse(seen, 405, refused, "method_not_allowed", {"allow": "POST"})
        if isinstance(operation, HubError):
            answer: dict[str, Any] = {"errors": [dict(operation.formatted)]}
            seen.operations.append((None, _stamp(answer, seen)))
            answers.append(answer)
            bodies.append(answer)
            continue
        session = RequestSession(services.pool, caller)
        context = Context(caller, session, services.cursors, services.directory)
        if is_report and services.reports is not None:
            context.own_row = services.reports.own_row(operation[0])
        if services.lane is not None and context.own_row:  # the lane knows no report versions
            context.lane = _in_lane(services.lane, caller, seen.request_id, context.now)
        try:
            answer, malformed = await _execute(services, context, *operation)
        except ServiceUnavailable as error:  # the commit itself could not reach the database
            answer, malformed = {"errors": [error.formatted], "data": None}, False
        body: Any = answer
        if isinstance(context.lane_answer, LaneAnswer):  # ran in the heavy lane
            ran = context.lane_answer
            answer, malformed, body = ran.summary(), ran.malformed, ran.fragment()
            statements += ran.statements
        all_malformed = all_malformed and malformed
        statements += session.statements
        seen.operations.append((context.operation, _stamp(answer, seen)))
        answers.append(answer)
        bodies.append(body)
    seen.statements = statements
    if not batch and "data" not in answers[0]:
        all_malformed = True
    status = 400 if all_malformed and not batch else 200
    if not batch and persisted_miss(answers[0]):
        status = 200
    if _unavailable(answers):
        status = 503
    if status == 400:
        seen.rejected = "query_too_complex" if seen.codes == ["QUERY_TOO_COMPLEX"] else "malformed"
    response = AnswerResponse(bodies if batch else bodies[0], status_code=status)
    if status == 503:
        response.headers["retry-after"] = RETRY_AFTER_SECONDS
    if not settings.production:
        response.headers["x-sql-statements"] = str(statements)
    return response


IDE_OFF = "The IDE is off in production; HUB_GRAPHIQL=true opens it to authenticated callers"
