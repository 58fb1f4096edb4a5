"""The columns each table is written with, in COPY order, and the row type they describe."""

from __future__ import annotations

ORGANIZATION_COLUMNS = (
    "id",
    "region_code",
    "parent_id",
    "kind",
    "name",
    "member_count",
    "party_member_count",
    "leader_name",
    "leader_role",
    "leader_phone",
    "founded_on",
    "version",
    "created_at",
    "updated_at",
)
REQUEST_COLUMNS = (
    "id",
    "reference",
    "region_code",
    "handling_region_code",
    "handled_by",
    "category",
    "channel",
    "status",
    "title",
    "description",
    "requester_name",
    "requester_phone",
    "submitted_at",
    "first_responded_at",
    "accepted_at",
    "due_at",
    "resolved_at",
    "closed_at",
    "satisfaction",
    "history",
    "version",
    "created_at",
    "updated_at",
)
COUNTER_COLUMNS = ("region_code", "year", "last")
EVENT_COLUMNS = (
    "id",
    "region_code",
    "organizer_id",
    "kind",
    "title",
    "topic",
    "starts_at",
    "participant_count",
    "participants_by_group",
    "version",
    "created_at",
    "updated_at",
)
RESOLUTION_COLUMNS = (
    "id",
    "event_id",
    "region_code",
    "position",
    "text",
    "status",
    "decided_on",
    "implemented_on",
    "votes_for",
    "votes_against",
    "version",
    "created_at",
    "updated_at",
)

Row = tuple[object, ...]
