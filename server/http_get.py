"""GET /graphql: the operation from the URL, and the rule that GET runs queries only
(DESIGN.md §8, caching: a mutation over GET is 405)."""

from __future__ import annotations

import json
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request

from resolvers.errors import BadUserInput, HubError

MUTATION_OVER_GET = "Send mutations and subscriptions with POST; GET runs queries only"


def not_a_query(query: str, name: str | None) -> bool:
    """Whether the operation GET would run is a mutation or subscription."""
    try:
        found = get_operation_ast(parse(query), name)
    except GraphQLError:
        return False
    return found is not None and found.operation != OperationType.QUERY


def from_url(request: Request) -> dict[str, Any] | HubError:
    """A GET request's operation: `query`, `operationName`, and JSON `variables` and
    `extensions` in the query string (text filters belong in POST bodies: URLs are logged)."""
    params = request.query_params
    item: dict[str, Any] = {
        "query": params.get("query"),
        "operationName": params.get("operationName"),
    }
    for name in ("variables", "extensions"):
        raw = params.get(name)
        if raw is None:
            continue
        try:
            item[name] = json.loads(raw)
        except json.JSONDecodeError as error:
            return BadUserInput(
                f"The `{name}` parameter is not valid JSON: {error}", reason="REQUEST_MALFORMED"
            )
    return item
