"""The enumerations of the contract (DESIGN.md §4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import TypeVar

import strawberry

from resolvers import labels

E = TypeVar("E", bound=type[Enum])


def labelled(table: Mapping[str, str], description: str) -> Callable[[E], E]:
    """`strawberry.enum`, with each value described by its Chinese label from `table`."""

    def wrap(cls: E) -> E:
        done = strawberry.enum(cls, description=description)
        for value in done.__strawberry_definition__.values:  # type: ignore[attr-defined]
            value.description = table[value.name]
        return done

    return wrap


@labelled(
    labels.REGION_LEVEL,
    "A level of the administrative tree.",
)
class RegionLevel(Enum):
    NATION = "NATION"
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    VILLAGE = "VILLAGE"


@labelled(
    labels.REGION_ACCESS,
    "FULL: the region is in the caller's jurisdiction. BREADCRUMB: it lies above "
    "it, and only its identifying fields can be read.",
)
class RegionAccess(Enum):
    FULL = "FULL"
    BREADCRUMB = "BREADCRUMB"


@labelled(
    labels.ORGANIZATION_KIND,
    "What kind of grassroots organization.",
)
class OrganizationKind(Enum):
    PARTY_COMMITTEE = "PARTY_COMMITTEE"
    PARTY_GENERAL_BRANCH = "PARTY_GENERAL_BRANCH"
    PARTY_BRANCH = "PARTY_BRANCH"
    VILLAGE_COMMITTEE = "VILLAGE_COMMITTEE"
    RESIDENTS_COMMITTEE = "RESIDENTS_COMMITTEE"
    SUPERVISION_COMMITTEE = "SUPERVISION_COMMITTEE"
    COLLECTIVE_ECONOMY = "COLLECTIVE_ECONOMY"
    SERVICE_CENTRE = "SERVICE_CENTRE"
    SOCIAL_ORGANIZATION = "SOCIAL_ORGANIZATION"
    VOLUNTEER_TEAM = "VOLUNTEER_TEAM"


@labelled(
    labels.SERVICE_CATEGORY,
    "What a resident's request is about.",
)
class ServiceCategory(Enum):
    SOCIAL_SECURITY = "SOCIAL_SECURITY"
    ELDERLY_CARE = "ELDERLY_CARE"
    HEALTH = "HEALTH"
    EDUCATION = "EDUCATION"
    EMPLOYMENT = "EMPLOYMENT"
    HOUSING = "HOUSING"
    INFRASTRUCTURE = "INFRASTRUCTURE"
    ENVIRONMENT = "ENVIRONMENT"
    PUBLIC_SAFETY = "PUBLIC_SAFETY"
    DISPUTE_MEDIATION = "DISPUTE_MEDIATION"
    LEGAL_AID = "LEGAL_AID"
    OTHER = "OTHER"


@labelled(
    labels.SERVICE_CHANNEL,
    "How a request reached the office.",
)
class ServiceChannel(Enum):
    WALK_IN = "WALK_IN"
    HOTLINE = "HOTLINE"
    ONLINE = "ONLINE"
    MOBILE_APP = "MOBILE_APP"
    GRID_WORKER = "GRID_WORKER"
    HOME_VISIT = "HOME_VISIT"


@labelled(
    labels.SERVICE_STATUS,
    "Where a request stands in its workflow (DESIGN.md §5).",
)
class ServiceStatus(Enum):
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    IN_PROGRESS = "IN_PROGRESS"
    ESCALATED = "ESCALATED"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


@labelled(
    labels.SERVICE_REQUEST_ORDER,
    "Orders of service request lists; ties are broken by id.",
)
class ServiceRequestOrder(Enum):
    SUBMITTED_AT_DESC = "SUBMITTED_AT_DESC"
    SUBMITTED_AT_ASC = "SUBMITTED_AT_ASC"
    DUE_AT_ASC = "DUE_AT_ASC"
    DUE_AT_DESC = "DUE_AT_DESC"
    RESOLVED_AT_DESC = "RESOLVED_AT_DESC"
    RESOLVED_AT_ASC = "RESOLVED_AT_ASC"
    SATISFACTION_DESC = "SATISFACTION_DESC"
    SATISFACTION_ASC = "SATISFACTION_ASC"


@labelled(
    labels.ORGANIZATION_ORDER,
    "Orders of organization lists; ties are broken by id. Omitted: by region, then name.",
)
class OrganizationOrder(Enum):
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    MEMBER_COUNT_DESC = "MEMBER_COUNT_DESC"
    MEMBER_COUNT_ASC = "MEMBER_COUNT_ASC"


@labelled(
    labels.PARTICIPATION_EVENT_ORDER,
    "Orders of participation event lists; ties are broken by id. Omitted: STARTS_AT_DESC.",
)
class ParticipationEventOrder(Enum):
    STARTS_AT_DESC = "STARTS_AT_DESC"
    STARTS_AT_ASC = "STARTS_AT_ASC"


@labelled(
    labels.PARTICIPATION_KIND,
    "What form of participation an event was.",
)
class ParticipationKind(Enum):
    JOINT_MEETING = "JOINT_MEETING"
    DELIBERATION = "DELIBERATION"
    HEARING = "HEARING"
    OPINION_SOLICITATION = "OPINION_SOLICITATION"
    PUBLIC_SUPERVISION = "PUBLIC_SUPERVISION"
    VILLAGERS_ASSEMBLY = "VILLAGERS_ASSEMBLY"
    VOLUNTEER_ACTIVITY = "VOLUNTEER_ACTIVITY"


@labelled(
    labels.RESOLUTION_STATUS,
    "Where a resolution stands.",
)
class ResolutionStatus(Enum):
    PROPOSED = "PROPOSED"
    ADOPTED = "ADOPTED"
    REJECTED = "REJECTED"
    IMPLEMENTED = "IMPLEMENTED"


@labelled(
    labels.BREAKDOWN,
    "What a breakdown splits a region's figures by.",
)
class Breakdown(Enum):
    CHILD = "CHILD"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"
    SERVICE_CATEGORY = "SERVICE_CATEGORY"
    ORGANIZATION_KIND = "ORGANIZATION_KIND"
    PARTICIPATION_KIND = "PARTICIPATION_KIND"


@labelled(
    labels.BREAKDOWN_ORDER,
    "How CHILD breakdown rows are ranked: by a figure of their stats, ascending or "
    "descending; ties by code ascending, null rates last either way, the region's own row "
    "(本级) first. KEY_ASC, the default, is by code.",
)
class BreakdownOrder(Enum):
    KEY_ASC = "KEY_ASC"
    ORGANIZATIONS_ASC = "ORGANIZATIONS_ASC"
    ORGANIZATIONS_DESC = "ORGANIZATIONS_DESC"
    PARTY_MEMBERS_ASC = "PARTY_MEMBERS_ASC"
    PARTY_MEMBERS_DESC = "PARTY_MEMBERS_DESC"
    TOTAL_ASC = "TOTAL_ASC"
    TOTAL_DESC = "TOTAL_DESC"
    OPEN_ASC = "OPEN_ASC"
    OPEN_DESC = "OPEN_DESC"
    RESOLVED_ASC = "RESOLVED_ASC"
    RESOLVED_DESC = "RESOLVED_DESC"
    OVERDUE_ASC = "OVERDUE_ASC"
    OVERDUE_DESC = "OVERDUE_DESC"
    RESPONSE_RATE_ASC = "RESPONSE_RATE_ASC"
    RESPONSE_RATE_DESC = "RESPONSE_RATE_DESC"
    RESOLUTION_RATE_ASC = "RESOLUTION_RATE_ASC"
    RESOLUTION_RATE_DESC = "RESOLUTION_RATE_DESC"
    SATISFACTION_RATE_ASC = "SATISFACTION_RATE_ASC"
    SATISFACTION_RATE_DESC = "SATISFACTION_RATE_DESC"
    AVERAGE_HOURS_TO_RESOLVE_ASC = "AVERAGE_HOURS_TO_RESOLVE_ASC"
    AVERAGE_HOURS_TO_RESOLVE_DESC = "AVERAGE_HOURS_TO_RESOLVE_DESC"
    EVENTS_ASC = "EVENTS_ASC"
    EVENTS_DESC = "EVENTS_DESC"
    PARTICIPANTS_ASC = "PARTICIPANTS_ASC"
    PARTICIPANTS_DESC = "PARTICIPANTS_DESC"
    RESOLUTIONS_ADOPTED_ASC = "RESOLUTIONS_ADOPTED_ASC"
    RESOLUTIONS_ADOPTED_DESC = "RESOLUTIONS_ADOPTED_DESC"
    RESOLUTIONS_IMPLEMENTED_ASC = "RESOLUTIONS_IMPLEMENTED_ASC"
    RESOLUTIONS_IMPLEMENTED_DESC = "RESOLUTIONS_IMPLEMENTED_DESC"


@labelled(
    labels.SERVICE_REQUEST_ACTION,
    "A step of the service request workflow (DESIGN.md §5), as history records it and as "
    "`availableActions` offers it; IMPORTED is a record's state set by ingestion.",
)
class ServiceRequestAction(Enum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    START = "start"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    WITHDRAW = "withdraw"
    RATE = "rate"
    IMPORTED = "imported"


@strawberry.enum(description="Why a figure is marked (DESIGN.md §8); more kinds may join.")
class FigureNoteKind(Enum):
    NO_DATA = strawberry.enum_value(
        "NO_DATA",
        description="The region's subtree has no record of the figure's kind up to the "
        "period's end: it has never reported one, which is not the same as zero in this "
        "period. The value stays 0.",
    )
