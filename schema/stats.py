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
from resolvers.loaders.figures import RegionFirstDaysLoader, RegionStatsLoader
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


# What a figures object compares with: the region asked (code, path, level), and which
# sections the object has (organizations, services, participation).
Asked = tuple[str, str, str]
Applies = tuple[bool, bool, bool]
EVERY_SECTION: Applies = (True, True, True)


@strawberry.type(description="A mark on one figure of a figures object (DESIGN.md §8).")
class FigureNote:
    path: str = strawberry.field(
        description="The figure, by schema field names (never aliases): "
        "`serviceRequests.total`, `serviceRequests.byCategory.HEALTH`, `participation.events`, "
        "`participation.byKind.HEARING` or `organizations`."
    )
    kind: FigureNoteKind = strawberry.field(description="What the mark says.")


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
    from_: dt.date | None = strawberry.field(
        name="from",
        default=None,
        description="The period's first day (China Standard Time); null: unbounded.",
    )
    to: dt.date | None = strawberry.field(
        default=None, description="The period's last day, inclusive; null: unbounded."
    )
    asked: strawberry.Private[Asked | None] = None
    applies: strawberry.Private[Applies] = EVERY_SECTION
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
        period: figures.Period | None = None,
        asked: Asked | None = None,
        notes_of: NotesOf | None = None,
    ) -> RegionStats:
        """`period`: the days the figures cover; `asked`: the region they are of, when they
        are its whole subtree's (then `previous` and `yearAgo` can be read)."""
        return cls(
            organizations=organizations.total if organizations else None,
            organizations_by_kind=_counts(ORGANIZATION_KIND, organizations.by_kind)
            if organizations
            else None,
            party_members=organizations.party_members if organizations else None,
            service_requests=ServiceStats.of(services) if services else None,
            participation=ParticipationStats.of(participation) if participation else None,
            from_=period.start if period else None,
            to=period.end if period else None,
            asked=asked,
            applies=(organizations is not None, services is not None, participation is not None),
            notes_of=notes_of,
        )

    @strawberry.field(
        description="The same figures for the previous period (DESIGN.md §8): of a whole "
        "month, quarter or year, the previous whole one; of any other range, the same number "
        "of days just before it. Null when the period is unbounded, and on rows that are not "
        "a region's whole subtree (the own row 本级, category and kind rows)."
    )
    async def previous(self, info: Info[Context, None]) -> ComparedStats | None:
        period = figures.Period(self.from_, self.to).previous()
        return await self._compared(info, period)

    @strawberry.field(
        description="The same figures for the same days one year earlier (29 February: 28 "
        "February). Null as for `previous`."
    )
    async def year_ago(self, info: Info[Context, None]) -> ComparedStats | None:
        period = figures.Period(self.from_, self.to).year_ago()
        return await self._compared(info, period)

    async def _compared(
        self, info: Info[Context, None], period: figures.Period | None
    ) -> ComparedStats | None:
        if self.asked is None or period is None:
            return None
        found = await info.context.loader(RegionStatsLoader, period).load(self.asked)
        orgs, services, events = self.applies
        then = RegionStats.of(
            found[0] if orgs else None,
            found[1] if services else None,
            found[2] if events else None,
            period=period,
            asked=self.asked,
        )
        assert period.start is not None and period.end is not None
        return ComparedStats(
            from_=period.start, to=period.end, stats=then, change=StatsChange.between(self, then)
        )


def _less(now: float | None, then: float | None) -> float | None:
    return now - then if now is not None and then is not None else None


@strawberry.type(
    description="This period's figures less the compared period's: counts as differences, "
    "rates as differences of fractions (0.05 = five percentage points). Null when either "
    "side is null or the section does not apply."
)
class StatsChange:
    service_requests: int | None = strawberry.field(description="Change of serviceRequests.total.")
    open: int | None = strawberry.field(description="Change of serviceRequests.open.")
    overdue: int | None = strawberry.field(description="Change of serviceRequests.overdue.")
    response_rate: float | None = strawberry.field(
        description="Change of serviceRequests.responseRate."
    )
    resolution_rate: float | None = strawberry.field(
        description="Change of serviceRequests.resolutionRate."
    )
    satisfaction_rate: float | None = strawberry.field(
        description="Change of serviceRequests.satisfactionRate."
    )
    events: int | None = strawberry.field(description="Change of participation.events.")
    participants: int | None = strawberry.field(description="Change of participation.participants.")

    @classmethod
    def between(cls, now: RegionStats, then: RegionStats) -> StatsChange:
        change = cls(
            service_requests=None,
            open=None,
            overdue=None,
            response_rate=None,
            resolution_rate=None,
            satisfaction_rate=None,
            events=None,
            participants=None,
        )
        a, b = now.service_requests, then.service_requests
        if a is not None and b is not None:
            change.service_requests = a.total - b.total
            change.open = a.open - b.open
            change.overdue = a.overdue - b.overdue
            change.response_rate = _less(a.response_rate, b.response_rate)
            change.resolution_rate = _less(a.resolution_rate, b.resolution_rate)
            change.satisfaction_rate = _less(a.satisfaction_rate, b.satisfaction_rate)
        p, q = now.participation, then.participation
        if p is not None and q is not None:
            change.events = p.events - q.events
            change.participants = p.participants - q.participants
        return change


@strawberry.type(description="Figures of a period compared with, and the change since it.")
class ComparedStats:
    from_: dt.date = strawberry.field(name="from", description="The compared period's first day.")
    to: dt.date = strawberry.field(description="The compared period's last day, inclusive.")
    stats: RegionStats = strawberry.field(
        description="The figures of the compared period: the same sections as those compared."
    )
    change: StatsChange = strawberry.field(
        description="These figures (the ones `previous` or `yearAgo` was read on) less the "
        "compared period's."
    )


@strawberry.type(description="One row of a breakdown.")
class BreakdownRow:
    key: str = strawberry.field(
        description="The child's code (the region's own code on the own row), the period "
        "(2026-03, 2026-Q1, 2026) or the value."
    )
    label: str = strawberry.field(
        description="The child's name (本级 on the own row), the period (2026年3月, "
        "2026年第1季度, 2026年), or the value's Chinese name."
    )
    region: RegionT | None = strawberry.field(
        description="The child region in CHILD rows; the region itself on the own row."
    )
    month: dt.date | None = strawberry.field(description="The month's first day, in MONTH rows.")
    stats: RegionStats = strawberry.field(
        description="The row's figures; sections that do not apply are null."
    )
    from_: dt.date | None = strawberry.field(
        name="from",
        default=None,
        description="The row's first day after clipping to the breakdown's period, in MONTH, "
        "QUARTER and YEAR rows; null in other rows.",
    )
    to: dt.date | None = strawberry.field(
        default=None,
        description="The row's last day after clipping, in MONTH, QUARTER and YEAR rows; null "
        "in other rows.",
    )
    own: bool = strawberry.field(
        default=False,
        description="True only on the region's own row (本级, DESIGN.md §8): its own records, "
        "not its children's; first among the rows of a CHILD breakdown, so rows add up to "
        "the total.",
    )


def row_notes(asked: Asked, period: figures.Period, by: str, row: stats.Row) -> NotesOf | None:
    """What a breakdown row's notes read (`notes.row_reading`); a period row ends on its
    last day (`last`, where the row carries one), else on its month's last day. The own row
    (本级) of a region read from roll-ups has none: its first days are not kept apart."""
    if getattr(row, "own", False) and not notes.own_records_known(asked[1]):
        return None
    end = getattr(row, "last", None)
    if end is None and row.month is not None:
        end = figures.next_month(row.month) - dt.timedelta(days=1)
    child, key, until, only = notes.row_reading(by, row.key, end, period.end)
    return NotesOf(asked, child, key, until, row.sections, only)
