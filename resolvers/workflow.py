"""The workflow's rules (DESIGN.md §5) as one function: `refusal()` says why a caller may not
take an action on a request as it stands, or None when it may. The mutations enforce it and
`availableActions` lists the actions it lets through, so the two cannot disagree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from resolvers.errors import BadUserInput, Forbidden, HubError
from resolvers.scope import Caller, Path

REOPEN_DAYS = 15


@dataclass(frozen=True)
class Action:
    name: str
    past: str  # for messages: "cannot be accepted"
    sources: frozenset[str]
    target: str | None  # None: the status stays


ACTIONS = {
    a.name: a
    for a in (
        Action("accept", "accepted", frozenset({"SUBMITTED", "ESCALATED"}), "ACCEPTED"),
        Action("reject", "rejected", frozenset({"SUBMITTED", "ESCALATED"}), "REJECTED"),
        Action("start", "started", frozenset({"ACCEPTED", "IN_PROGRESS"}), "IN_PROGRESS"),
        Action("escalate", "escalated", frozenset({"ACCEPTED", "IN_PROGRESS"}), "ESCALATED"),
        Action("resolve", "resolved", frozenset({"ACCEPTED", "IN_PROGRESS"}), "RESOLVED"),
        Action("close", "closed", frozenset({"RESOLVED"}), "CLOSED"),
        Action("reopen", "reopened", frozenset({"RESOLVED"}), "IN_PROGRESS"),
        Action("withdraw", "withdrawn", frozenset({"SUBMITTED", "ACCEPTED"}), "WITHDRAWN"),
        Action("rate", "rated", frozenset({"RESOLVED", "CLOSED"}), None),
    )
}


@dataclass(frozen=True)
class Standing:
    """What the rules read of a request: where it is handled and where it stands."""

    status: str
    handling_path: Path
    resolved_at: dt.datetime | None
    satisfaction: int | None

    @classmethod
    def of(cls, row: Any) -> Standing:
        return cls(row["status"], row["handling_path"], row["resolved_at"], row["satisfaction"])


def handling_path(path: Path, handling_code: str) -> Path:
    """The handling region's path: the request's own region or one of its ancestors, whose
    labels are codes (an escalated request is handled higher up the same path)."""
    labels = path.split(".")
    if handling_code in labels:
        return ".".join(labels[: labels.index(handling_code) + 1])
    return path


def refusal(caller: Caller, name: str, standing: Standing, now: dt.datetime) -> HubError | None:
    """Why `caller` may not take action `name` now, or None when it may."""
    action = ACTIONS[name]
    if not caller.has("editor", standing.handling_path):
        return Forbidden("You need the editor role for this record's region", reason="NOT_EDITOR")
    if standing.status not in action.sources:
        allowed = ", ".join(sorted(action.sources))
        return BadUserInput(
            f"A request in status {standing.status} cannot be {action.past} (only from {allowed})",
            reason="INVALID_TRANSITION",
            status=standing.status,
        )
    if name == "escalate" and "." not in standing.handling_path:
        return BadUserInput(
            "The nation handles this request; there is no region above it", reason="NO_PARENT"
        )
    resolved = standing.resolved_at
    if (
        name == "reopen"
        and resolved is not None
        and now - resolved > dt.timedelta(days=REOPEN_DAYS)
    ):
        return BadUserInput(
            f"A request can be reopened within {REOPEN_DAYS} days of its resolution",
            reason="REOPEN_TOO_LATE",
        )
    if name == "rate" and standing.satisfaction is not None:
        return BadUserInput("This request was rated already", reason="ALREADY_RATED")
    return None


def available(caller: Caller, standing: Standing, now: dt.datetime) -> list[str]:
    """The actions `refusal` lets through, in the workflow's order."""
    return [name for name in ACTIONS if refusal(caller, name, standing, now) is None]
