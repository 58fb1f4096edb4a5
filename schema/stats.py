"""Figures for higher-level offices: RegionStats and breakdown rows (DESIGN.md §4–5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import figures, notes, stats
from resolvers.context import Context
from resolvers.labels import (
    ORGANIZATION_KIND,
    PARTICIPATION_KIND,
    SERVICE_CATEGORY,
    SERVICE_STATUS,
)
from resolvers.loaders.figures import RegionFirstDaysLoader
from schema.enums import FigureNoteKind
from schema.relay import KindCount

if TYPE_CHECKING:
    from schema.region import Region

RegionT = Annotated["Region", strawberry.lazy("schema.region")]


def _counts(labels: Mapping[str, str], found: Mapping[str, int], skip: str = "") -> list[KindCount]:
    return [
        KindCount(key=key, label=label, count=int(found.get(key, 0)))
        for key, label in labels.items()
        if key != skip
    ]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@strawberry.type(description="Service requests submitted in the period, withdrawn ones left out.")
class ServiceStats:
    total: int = strawberry.field(description="Requests submitted in the period.")
    open: int = strawberry.field(description="SUBMITTED, ACCEPTED, IN_PROGRESS or ESCALATED.")
    resolved: int = strawberry.field(
        description="RESOLVED or CLOSED: the resolution rate's numerator."
    )
    overdue: int = strawberry.field(description="Open requests whose dueAt has passed (now).")
    response_due: int = strawberry.field(
        description="The response rate's denominator: requests whose 24 hours after "
        "submission have passed, or that were answered (first accept or reject) within them. "
        "It moves with the clock, like `overdue`."
    )
    responded_in_time: int = strawberry.field(
        description="The response rate's numerator: requests answered (first accept or "
        "reject) within 24 hours of submission."
    )
    response_rate: float | None = strawberry.field(
        description="respondedInTime ÷ responseDue; null when responseDue is 0."
    )
    resolvable: int = strawberry.field(
        description="The resolution rate's denominator: total − REJECTED."
    )
    resolution_rate: float | None = strawberry.field(
        description="resolved (RESOLVED or CLOSED) ÷ resolvable (total − REJECTED); null when "
        "resolvable is 0."
    )
    rated: int = strawberry.field(
        description="The satisfaction rate's denominator: requests rated 1 to 5."
    )
    satisfied: int = strawberry.field(
        description="The satisfaction rate's numerator: requests rated 4 or 5."
    )
    satisfaction_rate: float | None = strawberry.field(
        description="satisfied (rated 4 or 5) ÷ rated; null when rated is 0."
    )
    average_hours_to_resolve: float | None = strawberry.field(
        description="Mean hours from submission to the latest resolution, over resolved "
        "requests; null when none."
    )
    by_status: list[KindCount] = strawberry.field(description="Requests per status.")
    by_category: list[KindCount] = strawberry.field(description="Requests per category.")

    @classmethod
    def of(cls, f: figures.ServiceFigures) -> ServiceStats:
        return cls(
            total=f.total,
            open=f.open,
            resolved=f.resolved,
            overdue=f.overdue,
            response_due=f.answer_due,
            responded_in_time=f.answered_in_time,
            response_rate=_rate(f.answered_in_time, f.answer_due),
            resolvable=f.resolvable,
            resolution_rate=_rate(f.resolved, f.resolvable),
            rated=f.rated,
            satisfied=f.satisfied,
            satisfaction_rate=_rate(f.satisfied, f.rated),
            average_hours_to_resolve=f.resolve_hours / f.resolved if f.resolved else None,
            by_status=_counts(SERVICE_STATUS, f.by_status, skip="WITHDRAWN"),
            by_category=_counts(SERVICE_CATEGORY, f.by_category),
        )


@strawberry.type(description="Participation events starting in the period, and resolutions.")
class ParticipationStats:
    events: int = strawberry.field(description="Events whose startsAt falls in the period.")
    participants: int = strawberry.field(description="Their participants, summed.")
    by_kind: list[KindCount] = strawberry.field(description="Events per kind.")
    resolutions_adopted: int = strawberry.field(
        description="Resolutions ADOPTED or IMPLEMENTED, decided (decidedOn) in the period."
    )
    resolutions_implemented: int = strawberry.field(
        description="Resolutions implemented (implementedOn) in the period."
    )

    @classmethod
    def of(cls, f: figures.ParticipationFigures) -> ParticipationStats:
        return cls(
            events=f.events,
            participants=f.participants,
            by_kind=_counts(PARTICIPATION_KIND, f.by_kind),
            resolutions_adopted=f.adopted,
            resolutions_implemented=f.implemented,
        )


@strawberry.type(description="A mark on one figure of a figures object (DESIGN.md §8).")
class FigureNote:
    path: str = strawberry.field(
        description="The figure, by schema field names (never aliases): "
        "`serviceRequests.total`, `serviceRequests.byCategory.HEALTH`, `participation.events`, "
        "`participation.byKind.HEARING` or `organizations`."
    )
    kind: FigureNoteKind = strawberry.field(description="What the mark says.")


Asked = tuple[str, str, str]  # a region whose figures are asked: code, path, level


@dataclass(frozen=True)
class NotesOf:
    """Where a figures object's notes come from: the first days of region `asked` (of its
    child `key` when `child`), to day `end`, for the figures `sections`."""

    asked: Asked
    child: bool
    key: str
    end: dt.date | None
    sections: stats.Sections
    only: str | None = None


def figure_notes(
    first: notes.FirstDays, end: dt.date | None, sections: stats.Sections, only: str | None = None
) -> list[FigureNote]:
    """The notes of figures `sections` whose period ends on `end`; `only`: the one category
    or kind a breakdown row covers."""
    return [
        FigureNote(path=n.path, kind=FigureNoteKind(n.kind))
        for n in notes.sections_notes(first, end, sections, only)
    ]


@strawberry.type(
    description="A subtree's figures. Organizations are a stock: the period does not apply to "
    "them. Sections that do not apply to a breakdown row are null."
)
class RegionStats:
    organizations: int | None = strawberry.field(description="Organizations in the subtree.")
    organizations_by_kind: list[KindCount] | None = strawberry.field(
        description="Organizations per kind."
    )
    party_members: int | None = strawberry.field(
        description="Party members, each counted once at the lowest party organization."
    )
    service_requests: ServiceStats | None = strawberry.field(
        description="Service requests submitted in the period."
    )
    participation: ParticipationStats | None = strawberry.field(
        description="Participation events started in the period."
    )
    notes_of: strawberry.Private[NotesOf | None] = None

    @strawberry.field(
        description="Marks on single figures (DESIGN.md §8): NO_DATA where the subtree has "
        "never reported a record of the figure's kind up to the period's end; the value "
        "stays 0."
    )
    async def notes(self, info: Info[Context, None]) -> list[FigureNote]:
        """Read only when asked for: the subtree's first days, one loader for every row."""
        n = self.notes_of
        if n is None:
            return []
        first = await info.context.loader(RegionFirstDaysLoader, n.child).load(n.asked)
        return figure_notes(notes.keyed(first, n.key), n.end, n.sections, n.only)

    @classmethod
    def of(
        cls,
        organizations: figures.OrganizationFigures | None,
        services: figures.ServiceFigures | None,
        participation: figures.ParticipationFigures | None,
        notes_of: NotesOf | None = None,
    ) -> RegionStats:
        return cls(
            organizations=organizations.total if organizations else None,
            organizations_by_kind=_counts(ORGANIZATION_KIND, organizations.by_kind)
            if organizations
            else None,
            party_members=organizations.party_members if organizations else None,
            service_requests=ServiceStats.of(services) if services else None,
            participation=ParticipationStats.of(participation) if participation else None,
            notes_of=notes_of,
        )


@strawberry.type(description="One row of a breakdown.")
class BreakdownRow:
    key: str = strawberry.field(description="The child's code, the month (2026-03) or the value.")
    label: str = strawberry.field(
        description="The child's name, the month, or the value's Chinese name."
    )
    region: RegionT | None = strawberry.field(description="The child region, in CHILD rows.")
    month: dt.date | None = strawberry.field(description="The month's first day, in MONTH rows.")
    stats: RegionStats = strawberry.field(
        description="The row's figures; sections that do not apply are null."
    )


def row_notes(asked: Asked, period: figures.Period, by: str, row: stats.Row) -> NotesOf | None:
    """What a breakdown row's notes read (`notes.row_reading`); a period row ends on its
    last day (`last`, where the row carries one), else on its month's last day. The own row
    (本级, issue 20 part A) of a region read from roll-ups has none: its first days are not
    kept apart."""
    if getattr(row, "own", False) and not notes.own_records_known(asked[1]):
        return None
    end = getattr(row, "last", None)
    if end is None and row.month is not None:
        end = figures.next_month(row.month) - dt.timedelta(days=1)
    child, key, until, only = notes.row_reading(by, row.key, end, period.end)
    return NotesOf(asked, child, key, until, row.sections, only)
