"""Every refusal the hub gives, as a GraphQLError carrying `extensions.code` (DESIGN.md §4)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class HubError(GraphQLError):
    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, extensions={self.extensions!r})"


class Unauthenticated(HubError):
    code = "UNAUTHENTICATED"


class Forbidden(HubError):
    code = "FORBIDDEN"


class NotFound(HubError):
    code = "NOT_FOUND"


class BadUserInput(HubError):
    code = "BAD_USER_INPUT"


class Conflict(HubError):
    code = "CONFLICT"


class QueryTooComplex(HubError):
    code = "QUERY_TOO_COMPLEX"


class RateLimited(HubError):
    """Answered with HTTP 429 and `Retry-After`; `extensions.retryAfter` holds the seconds."""

    code = "RATE_LIMITED"


class Internal(HubError):
    code = "INTERNAL"

    def __init__(self) -> None:
        super().__init__("Internal server error")
