"""Deterministic synthetic demo data for one real county.

The county's regions (the county, its townships and villages) must already be imported.
`seed_demo` adds organizations of every kind, two years of service requests that follow the
workflow of DESIGN.md §5, participation events with their resolutions, and the reference
counters, all in one transaction. Names of regions are real; everything else is made up.

Every value comes from `random.Random` streams seeded from `seed` and from the fixed
`ANCHOR` (the data's "now"), never from the wall clock, so two runs write identical rows;
`anchor` then moves them by whole days to the database's anchor day, stored when the demo is
first seeded (the one clock's today, db/clock.py), so the demo lies in the present.

The modules hold one section each: `timeline` (the clock), `regions` (the county),
`people` and `draws` (small random values), `directory` and `organizations`,
`request_texts`, `workflow` and `service_requests`, `event_topics` and `events`, `columns`
and `seed` (writing it all). Their names are re-exported here.
"""

from db.demo.columns import (
    COUNTER_COLUMNS,
    EVENT_COLUMNS,
    ORGANIZATION_COLUMNS,
    REQUEST_COLUMNS,
    RESOLUTION_COLUMNS,
    Row,
)
from db.demo.directory import Directory, Organization, OrganizationFactory
from db.demo.draws import Weighted
from db.demo.event_topics import (
    GENERIC_RESOLUTIONS,
    TITLE_FORMS,
    UPPER_TOPICS,
    VILLAGE_TOPICS,
    VOLUNTEER_TOPICS,
)
from db.demo.events import (
    DELIBERATIVE_KINDS,
    EVENT_COUNT,
    EVENT_KINDS,
    GROUP_RANGES,
    ORGANIZER_ROLES,
    PARTICIPANT_GROUPS,
    RESOLUTION_STATUSES,
    RESOLUTION_VERSIONS,
    RESOLUTIONS_PER_EVENT,
    START_SECONDS,
    VOTING_KINDS,
    Event,
    build_participation,
)
from db.demo.organizations import (
    COUNTY_SOCIETIES,
    ORDINALS,
    PARTY_KINDS,
    build_organizations,
)
from db.demo.people import GIVEN, ID_CHECK, ID_WEIGHTS, MOBILE_PREFIXES, SURNAMES
from db.demo.regions import SELECT_REGIONS, County, Region, _load_county
from db.demo.request_texts import CATEGORIES, CHANNEL_HOURS, CHANNELS, REQUEST_TEXTS, Place
from db.demo.seed import ANALYZE_TABLES, LOCK_SEEDING, SELECT_SEEDED, DemoReport, seed_demo
from db.demo.service_requests import (
    REQUEST_COUNT,
    SPRING_FESTIVAL,
    Requests,
    draft_requests,
    request_row,
)
from db.demo.timeline import ANCHOR, CST, GO_LIVE, WINDOW_DAYS, WINDOW_START
from db.demo.workflow import (
    DEADLINE_DAYS,
    ESCALATE_REASONS,
    MEDIATION_NOTES,
    RATING_COMMENTS,
    REJECT_REASONS,
    REOPEN_REASONS,
    RESOLVE_NOTES,
    SCORES,
    WITHDRAW_REASONS,
    Draft,
    Lifecycle,
    Step,
    plan_lifecycle,
)

__all__ = [
    "ANALYZE_TABLES",
    "ANCHOR",
    "CATEGORIES",
    "CHANNELS",
    "CHANNEL_HOURS",
    "COUNTER_COLUMNS",
    "COUNTY_SOCIETIES",
    "CST",
    "DEADLINE_DAYS",
    "DELIBERATIVE_KINDS",
    "ESCALATE_REASONS",
    "EVENT_COLUMNS",
    "EVENT_COUNT",
    "EVENT_KINDS",
    "GENERIC_RESOLUTIONS",
    "GIVEN",
    "GO_LIVE",
    "GROUP_RANGES",
    "ID_CHECK",
    "ID_WEIGHTS",
    "LOCK_SEEDING",
    "MEDIATION_NOTES",
    "MOBILE_PREFIXES",
    "ORDINALS",
    "ORGANIZATION_COLUMNS",
    "ORGANIZER_ROLES",
    "PARTICIPANT_GROUPS",
    "PARTY_KINDS",
    "RATING_COMMENTS",
    "REJECT_REASONS",
    "REOPEN_REASONS",
    "REQUEST_COLUMNS",
    "REQUEST_COUNT",
    "REQUEST_TEXTS",
    "RESOLUTIONS_PER_EVENT",
    "RESOLUTION_COLUMNS",
    "RESOLUTION_STATUSES",
    "RESOLUTION_VERSIONS",
    "RESOLVE_NOTES",
    "SCORES",
    "SELECT_REGIONS",
    "SELECT_SEEDED",
    "SPRING_FESTIVAL",
    "START_SECONDS",
    "SURNAMES",
    "TITLE_FORMS",
    "UPPER_TOPICS",
    "VILLAGE_TOPICS",
    "VOLUNTEER_TOPICS",
    "VOTING_KINDS",
    "WINDOW_DAYS",
    "WINDOW_START",
    "WITHDRAW_REASONS",
    "County",
    "DemoReport",
    "Directory",
    "Draft",
    "Event",
    "Lifecycle",
    "Organization",
    "OrganizationFactory",
    "Place",
    "Region",
    "Requests",
    "Row",
    "Step",
    "Weighted",
    "_load_county",
    "build_organizations",
    "build_participation",
    "draft_requests",
    "plan_lifecycle",
    "request_row",
    "seed_demo",
]
