"""Who has reported: a region's newest records and which children have sent nothing
(DESIGN.md §8, "no data apart from zero")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import strawberry

from resolvers import notes, record_times, stats
from resolvers.figures import Period


@strawberry.type(description="The newest record of each kind in a region's subtree.")
class RecordTimes:
    service_request: dt.datetime | None = strawberry.field(
        description="When the newest service request the figures count (not withdrawn) "
        "reached the hub; null when there is none."
    )
    participation_event: dt.datetime | None = strawberry.field(
        description="When the newest participation event reached the hub; null when none."
    )
    organization: dt.datetime | None = strawberry.field(
        description="When the newest organization reached the hub; null when none."
    )

    @classmethod
    def of(cls, times: record_times.Times) -> RecordTimes:
        return cls(
            service_request=times["serviceRequest"],
            participation_event=times["participationEvent"],
            organization=times["organization"],
        )


@strawberry.type(description="Children that have sent no records of one kind.")
class ReportingGap:
    never_reported: int = strawberry.field(
        description="Children whose subtree has no record of the kind up to the period's end "
        "(their figures are NO_DATA)."
    )
    silent_in_period: int = strawberry.field(
        description="Children that reported records of the kind before, but none in the period."
    )


@strawberry.type(description="How many of a region's children have reported, per kind.")
class ChildrenReporting:
    children: int = strawberry.field(description="The region's children.")
    service_requests: ReportingGap = strawberry.field(
        description="Service requests, counted as the figures count them (not withdrawn)."
    )
    participation: ReportingGap = strawberry.field(description="Participation events.")

    @classmethod
    def of(
        cls,
        own: str,
        rows: Sequence[stats.Row],
        first: Mapping[str, notes.FirstDays],
        period: Period,
    ) -> ChildrenReporting:
        """From the CHILD breakdown `rows` of the period and the children's first days; the
        region's own row (key `own`) is no child."""
        children = [r for r in rows if r.region is not None and r.key != own]

        def gap(section: str, counted: Callable[[stats.Sections], int]) -> ReportingGap:
            never = sum(
                not notes.keyed(first, r.key).reported(section, period.end) for r in children
            )
            silent = sum(
                notes.keyed(first, r.key).reported(section, period.end) and not counted(r.sections)
                for r in children
            )
            return ReportingGap(never_reported=never, silent_in_period=silent)

        return cls(
            children=len(children),
            service_requests=gap(notes.SERVICES, lambda s: s[1].total if s[1] else 0),
            participation=gap(notes.PARTICIPATION, lambda s: s[2].events if s[2] else 0),
        )
