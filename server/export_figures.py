"""A breakdown as spreadsheet rows: one per breakdown row, then the subtree's total, with the
figures of `RegionStats` (the same objects GraphQL answers with) spread over columns."""

from __future__ import annotations

from resolvers import stats
from resolvers.export_figures import Figures
from resolvers.exports import REGION_HEADER, Cell, iso
from resolvers.labels import ORGANIZATION_KIND, PARTICIPATION_KIND, SERVICE_CATEGORY
from resolvers.labels import SERVICE_STATUS as STATUS
from schema.stats import RegionStats

SERVICE_STATUS = {k: v for k, v in STATUS.items() if k != "WITHDRAWN"}
TOTAL_KEY, TOTAL_LABEL = "TOTAL", "合计"

HEADER = (
    "key",
    "label",
    *REGION_HEADER,
    "month",
    "organizations",
    "party_members",
    *(f"organizations_{k}" for k in ORGANIZATION_KIND),
    "service_requests",
    "service_requests_open",
    "service_requests_resolved",
    "service_requests_overdue",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "average_hours_to_resolve",
    *(f"service_requests_{k}" for k in SERVICE_STATUS),
    *(f"service_requests_{k}" for k in SERVICE_CATEGORY),
    "participation_events",
    "participants",
    *(f"participation_events_{k}" for k in PARTICIPATION_KIND),
    "resolutions_adopted",
    "resolutions_implemented",
)


def _figures(sections: stats.Sections) -> list[Cell]:
    figures = RegionStats.of(*sections)
    cells: list[Cell] = []
    if figures.organizations is None:
        cells += [None] * (2 + len(ORGANIZATION_KIND))
    else:
        cells += [figures.organizations, figures.party_members]
        cells += [c.count for c in figures.organizations_by_kind or []]
    found = figures.service_requests
    if found is None:
        cells += [None] * (8 + len(SERVICE_STATUS) + len(SERVICE_CATEGORY))
    else:
        cells += [found.total, found.open, found.resolved, found.overdue]
        cells += [found.response_rate, found.resolution_rate, found.satisfaction_rate]
        cells += [found.average_hours_to_resolve]
        cells += [c.count for c in found.by_status] + [c.count for c in found.by_category]
    events = figures.participation
    if events is None:
        cells += [None] * (4 + len(PARTICIPATION_KIND))
    else:
        cells += [events.events, events.participants, *(c.count for c in events.by_kind)]
        cells += [events.resolutions_adopted, events.resolutions_implemented]
    return cells


def breakdown_cells(figures: Figures) -> list[list[Cell]]:
    own = figures.names.cells(figures.region["path"])
    rows: list[list[Cell]] = []
    for row in figures.rows:
        where = figures.names.cells(row.region["path"]) if row.region else own
        rows.append([row.key, row.label, *where, iso(row.month), *_figures(row.sections)])
    rows.append([TOTAL_KEY, TOTAL_LABEL, *own, None, *_figures(figures.total)])
    return rows
