"""Region: a node of the administrative tree, with the records of its subtree."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import listing, organizations, participation, ranking, regions, services
from resolvers.context import Context
from resolvers.figures import Clock, Period, checked_period
from resolvers.ids import global_id
from resolvers.loaders.figures import (
    RegionBreakdownLoader,
    RegionFirstDaysLoader,
    RegionRecordTimesLoader,
    RegionStatsLoader,
)
from resolvers.loaders.records import RegionListCountLoader, RegionListLoader
from resolvers.loaders.regions import (
    RegionByCodeLoader,
    RegionChildCountLoader,
    RegionChildrenLoader,
)
from resolvers.pagination import Page, make_page, page_size
from resolvers.stats import Row
from schema.arguments import FILTER, ORDER_BY, After, Before, First, IncludeDescendants, Last, Until
from schema.enums import (
    Breakdown,
    BreakdownOrder,
    OrganizationOrder,
    ParticipationEventOrder,
    RegionAccess,
    RegionLevel,
    ServiceRequestOrder,
)
from schema.permissions import InJurisdiction
from schema.record_times import ChildrenReporting, RecordTimes
from schema.relay import Connection, Node, connection
from schema.stats import BreakdownRow, NotesOf, RegionStats, row_notes

if TYPE_CHECKING:
    from schema.organization import Organization, OrganizationFilter
    from schema.participation import ParticipationEvent, ParticipationEventFilter
    from schema.service import ServiceRequest, ServiceRequestFilter

OrganizationT = Annotated["Organization", strawberry.lazy("schema.organization")]
OrganizationFilterT = Annotated["OrganizationFilter", strawberry.lazy("schema.organization")]
ServiceRequestT = Annotated["ServiceRequest", strawberry.lazy("schema.service")]
ServiceRequestFilterT = Annotated["ServiceRequestFilter", strawberry.lazy("schema.service")]
EventT = Annotated["ParticipationEvent", strawberry.lazy("schema.participation")]
EventFilterT = Annotated["ParticipationEventFilter", strawberry.lazy("schema.participation")]

Day = Annotated[
    dt.date | None,
    strawberry.argument(name="from", description="First day (China Standard Time), inclusive."),
]
CHILDREN_LIST = "children"
DESCENDANTS = "Records of this region's whole subtree (true) or of this region itself (false)."


@strawberry.federation.type(keys=["code"], description="A region of the administrative tree.")
class Region(Node):
    id: strawberry.ID = strawberry.field(description="Derived from the code.")
    code: str = strawberry.field(description="Statistical division code; 100000 for the nation.")
    name: str = strawberry.field(description="The division's name, e.g. 凤阳县.")
    full_name: str = strawberry.field(
        description="Names from the province down, placeholders such as 市辖区 skipped."
    )
    level: RegionLevel = strawberry.field(description="Its level in the tree.")
    access: RegionAccess = strawberry.field(
        description="FULL in your jurisdiction, BREADCRUMB above it."
    )
    path: strawberry.Private[str]
    parent_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any) -> Region:
        return cls(
            id=strawberry.ID(global_id("Region", row["code"])),
            code=row["code"],
            name=row["name"],
            full_name=row["full_name"],
            level=RegionLevel(row["level"]),
            access=RegionAccess.FULL if row["full"] else RegionAccess.BREADCRUMB,
            path=row["path"],
            parent_code=row["parent_code"],
        )

    @classmethod
    def from_record(cls, row: Any) -> Region:
        """The region selected beside a record (`RECORD_REGION_COLUMNS`): a full one."""
        return cls(
            id=strawberry.ID(global_id("Region", row["region_code"])),
            code=row["region_code"],
            name=row["region_name"],
            full_name=row["region_full_name"],
            level=RegionLevel(row["region_level"]),
            access=RegionAccess.FULL,
            path=row["path"],
            parent_code=row["region_parent_code"],
        )

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], code: str) -> Region | None:
        return await load_region(info.context, code)

    @strawberry.field(description="The region above; null for the nation.")
    async def parent(self, info: Info[Context, None]) -> Region | None:
        if self.parent_code is None:
            return None
        return await load_region(info.context, self.parent_code)

    def _asked(self) -> tuple[str, str, str]:
        return (self.code, self.path, self.level.value)

    @strawberry.field(description="Every region above this one, the nation first.")
    async def ancestors(self, info: Info[Context, None]) -> list[Region]:
        codes = self.path.split(".")[:-1]
        found = await info.context.loader(RegionByCodeLoader).load_many(codes)
        return [Region.from_row(row) for row in found if row is not None]

    @strawberry.field(
        description="Regions directly below, by code: on a breadcrumb, only those in your "
        "jurisdiction or on the way to it."
    )
    async def children(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> Connection[Region] | None:
        ctx = info.context
        size = page_size(first)
        position = ctx.cursors.decode(CHILDREN_LIST, after)[0] if after is not None else None
        rows = await ctx.loader(RegionChildrenLoader, size + 1, position).load(self.code)
        code = self.code

        async def count() -> int | None:
            return await ctx.loader(RegionChildCountLoader).load(code)

        page = make_page(
            rows, size, after, ctx.cursors, CHILDREN_LIST, lambda r: [r["code"]], count
        )
        return connection(page, Region.from_row)

    @strawberry.field(
        description="Organizations of this region. " + DESCENDANTS,
        permission_classes=[InJurisdiction],
    )
    async def organizations(
        self,
        info: Info[Context, None],
        include_descendants: IncludeDescendants = True,
        filter: Annotated[OrganizationFilterT | None, FILTER] = None,
        order_by: Annotated[OrganizationOrder | None, ORDER_BY] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[OrganizationT] | None:
        from schema.organization import Organization

        f = filter
        args = organizations.filters(
            [k.value for k in f.kinds] if f and f.kinds else None, f.name_contains if f else None
        )
        return await self._records(
            info,
            organizations.LIST,
            include_descendants,
            args,
            order_by.value if order_by else None,
            first,
            after,
            Organization.from_row,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="Service requests raised in this region. " + DESCENDANTS,
        permission_classes=[InJurisdiction],
    )
    async def service_requests(
        self,
        info: Info[Context, None],
        include_descendants: IncludeDescendants = True,
        filter: Annotated[ServiceRequestFilterT | None, FILTER] = None,
        order_by: Annotated[ServiceRequestOrder | None, ORDER_BY] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[ServiceRequestT] | None:
        from schema.service import ServiceRequest, service_filters

        return await self._records(
            info,
            services.LIST,
            include_descendants,
            service_filters(filter, info.context.now),
            order_by.value if order_by else None,
            first,
            after,
            ServiceRequest.from_row,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="Participation events held in this region. " + DESCENDANTS,
        permission_classes=[InJurisdiction],
    )
    async def participation_events(
        self,
        info: Info[Context, None],
        include_descendants: IncludeDescendants = True,
        filter: Annotated[EventFilterT | None, FILTER] = None,
        order_by: Annotated[ParticipationEventOrder | None, ORDER_BY] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[EventT] | None:
        from schema.participation import ParticipationEvent, event_filters

        return await self._records(
            info,
            participation.LIST,
            include_descendants,
            event_filters(filter),
            order_by.value if order_by else None,
            first,
            after,
            ParticipationEvent.from_row,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="Figures of this region's whole subtree; `from`/`to` are inclusive days "
        "(China Standard Time), omitted = unbounded.",
        permission_classes=[InJurisdiction],
    )
    async def stats(
        self, info: Info[Context, None], from_: Day = None, to: Until = None
    ) -> RegionStats | None:
        ctx = info.context
        period = checked_period(from_, to, Clock(ctx.now).today)
        sections = await ctx.loader(RegionStatsLoader, period).load(self._asked())
        notes_of = NotesOf(self._asked(), False, "", period.end, sections)
        return RegionStats.of(*sections, period=period, asked=self._asked(), notes_of=notes_of)

    @strawberry.field(
        description="This region's figures split by child region, month, quarter, year, "
        "category or kind. A CHILD breakdown starts with the region's own row (本级, "
        "`own: true`): with it, the rows add up to the region's `stats`.",
        permission_classes=[InJurisdiction],
    )
    async def breakdown(
        self,
        info: Info[Context, None],
        by: Annotated[Breakdown, strawberry.argument(description="What the rows split by.")],
        from_: Day = None,
        to: Until = None,
        order_by: Annotated[
            BreakdownOrder | None,
            strawberry.argument(
                description="The order of CHILD rows (only with `by: CHILD`, else "
                "BAD_USER_INPUT, reason ORDER_NEEDS_CHILD); KEY_ASC, by code, when omitted."
            ),
        ] = None,
    ) -> list[BreakdownRow] | None:
        ctx = info.context
        ranking.check_order(order_by.value if order_by else None, by.value)
        period = checked_period(from_, to, Clock(ctx.now).today, by.value)
        rows = await ctx.loader(RegionBreakdownLoader, period, by.value).load(self._asked())
        rows = ranking.ranked(rows, order_by.value if order_by else None)
        if not ctx.own_row:
            rows = [r for r in rows if not r.own]
        return [self._row(r, period, by.value) for r in rows]

    def _row(self, r: Row, period: Period, by: str) -> BreakdownRow:
        notes_of = row_notes(self._asked(), period, by, r)
        if r.region is not None:  # a child: its whole subtree
            asked: tuple[str, str, str] | None = (
                r.region["code"],
                r.region["path"],
                r.region["level"],
            )
        elif r.first is not None:  # a month, quarter or year of this region
            asked, period = self._asked(), Period(r.first, r.last)
        else:
            asked = None
        return BreakdownRow(
            key=r.key,
            label=r.label,
            region=Region.from_row(r.region) if r.region is not None else self if r.own else None,
            month=r.month,
            stats=RegionStats.of(*r.sections, period=period, asked=asked, notes_of=notes_of),
            from_=r.first,
            to=r.last,
            own=r.own,
        )

    # --- who has reported (issue 20) ---
    @strawberry.field(
        description="The newest record of each kind in this region's own subtree (the part "
        "in your jurisdiction).",
        permission_classes=[InJurisdiction],
    )
    async def last_record_at(self, info: Info[Context, None]) -> RecordTimes | None:
        times = await info.context.loader(RegionRecordTimesLoader).load(self._asked())
        return RecordTimes.of(times)

    @strawberry.field(
        description="Among this region's children: how many have never reported a record of "
        "each kind up to the period's end (`to`; omitted: ever), and, apart, how many "
        "reported before but have none in the period. `from`/`to` as in `stats`.",
        permission_classes=[InJurisdiction],
    )
    async def children_reporting(
        self, info: Info[Context, None], from_: Day = None, to: Until = None
    ) -> ChildrenReporting | None:
        ctx = info.context
        period = checked_period(from_, to, Clock(ctx.now).today)
        rows = await ctx.loader(RegionBreakdownLoader, period, "CHILD").load(self._asked())
        first = await ctx.loader(RegionFirstDaysLoader, True).load(self._asked())
        return ChildrenReporting.of(self.code, rows, first, period)

    async def _records(
        self,
        info: Info[Context, None],
        spec: listing.ListSpec,
        deep: bool,
        filters: tuple[Any, ...],
        order: str | None,
        first: int | None,
        after: str | None,
        convert: Any,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Any]:
        ctx = info.context
        args = listing.list_args(spec, ctx.cursors, filters, order, first, after, last, before)
        rows = await ctx.loader(RegionListLoader, spec, deep, args).load(self.path)
        path = self.path

        async def count() -> int | None:
            return await ctx.loader(RegionListCountLoader, spec, deep, args.filters).load(path)

        page: Page = listing.page_of(spec, ctx.cursors, args, rows, count)
        return connection(page, convert)


async def load_region(ctx: Context, code: str) -> Region | None:
    row = await ctx.loader(RegionByCodeLoader).load(code)
    return Region.from_row(row) if row is not None else None


__all__ = ["Region", "load_region", "regions"]
