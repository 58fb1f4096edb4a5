"""Every refusal the hub gives, as a GraphQLError carrying `extensions.code` (DESIGN.md §4)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError

from db.availability import connection_lost, unreachable

UNAVAILABLE = "The database is unavailable at the moment; retry in a few seconds"
BUSY = "The hub is too busy to finish this request in time; retry in a few seconds"


class HubError(GraphQLError):
    """A refusal: `extensions.code` names its class and `extensions.reason` the case (every
    reason is listed in the README's refusal table; tests/server/test_refusals.py checks)."""

    code = "INTERNAL"

    def __init__(self, message: str, *, reason: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, "reason": reason, **extensions})

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


class ServiceUnavailable(HubError):
    """The database cannot be reached right now (restarting, down): retry in a few seconds.
    Answered with HTTP 503 and `Retry-After`."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(
        self, message: str = UNAVAILABLE, *, reason: str = "DATABASE_UNAVAILABLE", **extensions: Any
    ) -> None:
        super().__init__(message, reason=reason, **extensions)


class HubBusy(ServiceUnavailable):
    """The request outran a time limit because the hub itself was slow (its event loop held
    by other work), not because the database is down. Answered like `ServiceUnavailable`."""

    def __init__(self) -> None:
        super().__init__(BUSY, reason="HUB_BUSY")


@contextlib.contextmanager
def database_reachable(conn: Any = None) -> Iterator[None]:
    """Turn an error that says the database is out of reach into `ServiceUnavailable`; so
    is any error on `conn` once that connection has been lost."""
    try:
        yield
    except ServiceUnavailable:
        raise
    except Exception as error:
        if unreachable(error) or (conn is not None and connection_lost(conn)):
            raise ServiceUnavailable() from error
        raise


class RateLimited(HubError):
    """Answered with HTTP 429 and `Retry-After`; `extensions.retryAfter` holds the seconds."""

    code = "RATE_LIMITED"


class Internal(HubError):
    """Not a refusal: anything unexpected, its message masked; no reason."""

    code = "INTERNAL"

    def __init__(self) -> None:
        GraphQLError.__init__(self, "Internal server error", extensions={"code": self.code})
