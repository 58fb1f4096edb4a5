"""Ranking of CHILD breakdown rows by a figure (`orderBy`): ties by code ascending, rows
without the figure (a null rate) last in either direction, the region's own row first."""

from __future__ import annotations

from collections.abc import Callable

from resolvers.errors import BadUserInput
from resolvers.figures import OrganizationFigures, ParticipationFigures, ServiceFigures
from resolvers.stats import Row, Sections

Value = int | float | None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _organizations(pick: Callable[[OrganizationFigures], Value]) -> Callable[[Sections], Value]:
    return lambda s: pick(s[0]) if s[0] is not None else None


def _services(pick: Callable[[ServiceFigures], Value]) -> Callable[[Sections], Value]:
    return lambda s: pick(s[1]) if s[1] is not None else None


def _participation(pick: Callable[[ParticipationFigures], Value]) -> Callable[[Sections], Value]:
    return lambda s: pick(s[2]) if s[2] is not None else None


# Each figure a row carries, as `RegionStats` gives it.
FIGURES: dict[str, Callable[[Sections], Value]] = {
    "ORGANIZATIONS": _organizations(lambda o: o.total),
    "PARTY_MEMBERS": _organizations(lambda o: o.party_members),
    "TOTAL": _services(lambda f: f.total),
    "OPEN": _services(lambda f: f.open),
    "RESOLVED": _services(lambda f: f.resolved),
    "OVERDUE": _services(lambda f: f.overdue),
    "RESPONSE_RATE": _services(lambda f: _rate(f.answered_in_time, f.answer_due)),
    "RESOLUTION_RATE": _services(lambda f: _rate(f.resolved, f.resolvable)),
    "SATISFACTION_RATE": _services(lambda f: _rate(f.satisfied, f.rated)),
    "AVERAGE_HOURS_TO_RESOLVE": _services(
        lambda f: f.resolve_hours / f.resolved if f.resolved else None
    ),
    "EVENTS": _participation(lambda p: p.events),
    "PARTICIPANTS": _participation(lambda p: p.participants),
    "RESOLUTIONS_ADOPTED": _participation(lambda p: p.adopted),
    "RESOLUTIONS_IMPLEMENTED": _participation(lambda p: p.implemented),
}
KEY_ASC = "KEY_ASC"


def check_order(order: str | None, by: str) -> None:
    """An order is for CHILD rows only: BAD_USER_INPUT, reason ORDER_NEEDS_CHILD, else."""
    if order is not None and by != "CHILD":
        raise BadUserInput(
            "`orderBy` ranks child regions: use it with `by: CHILD`", reason="ORDER_NEEDS_CHILD"
        )


def ranked(rows: list[Row], order: str | None) -> list[Row]:
    """The rows in `order` (`<FIGURE>_ASC` or `<FIGURE>_DESC`, or KEY_ASC: as they come)."""
    if order is None or order == KEY_ASC:
        return rows
    figure, direction = order.rsplit("_", 1)
    value = FIGURES[figure]
    sign = -1 if direction == "DESC" else 1

    def place(row: Row) -> tuple[bool, float, str]:
        found = value(row.sections)
        return (found is None, sign * found if found is not None else 0.0, row.key)

    own = [r for r in rows if r.own]
    return own + sorted((r for r in rows if not r.own), key=place)
