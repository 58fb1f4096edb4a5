"""The columns of every export: the English key a file had before issue 19 (`lang=en`), the
Chinese header an office files (the default), how a spreadsheet shows the cell, and the
schema field whose description defines it on the 「指标说明」 sheet.

The keys are the headers of `resolvers/exports.py` and `server/export_figures.py`, in their
order; `tests/server/test_sheets.py` holds the two in agreement and the README's column map
to this table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from resolvers.exports import LEVELS, ORGANIZATIONS, PARTICIPATION_EVENTS, SERVICE_REQUESTS, Cell
from resolvers.labels import (
    ORGANIZATION_KIND,
    PARTICIPANT_GROUP,
    PARTICIPATION_KIND,
    REGION_LEVEL,
    SERVICE_CATEGORY,
)
from server.export_figures import HEADER as BREAKDOWN_HEADER
from server.export_figures import SERVICE_STATUS as FIGURE_STATUS

# How a cell is written: text as is; numbers; rates as fractions shown as percentages; hours
# with one decimal; days and times as date cells; booleans as 是/否.
Kind = Literal["text", "number", "rate", "hours", "date", "datetime", "boolean"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"
    # `Type.field` of the built schema whose description defines the column
    field: str | None = None
    # what the column holds of that field, when it is a part of it (one kind of a count)
    part: str | None = None
    # the figure's path in `RegionStats.notes` (DESIGN.md §8), for `—` where it has no data
    note: str | None = None


LEVEL_KEYS = dict(
    zip(LEVELS, ("NATION", "PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE"), strict=True)
)


def _region_columns() -> list[Column]:
    columns = []
    for level, enum in LEVEL_KEYS.items():
        name = REGION_LEVEL[enum]
        columns.append(Column(f"{level}_code", f"{name}区划代码", field="Region.code", part=name))
        columns.append(Column(f"{level}_name", f"{name}区划名称", field="Region.name", part=name))
    return columns


REGION = _region_columns()


SERVICE_REQUEST_COLUMNS = (
    Column("id", "系统编号", field="ServiceRequest.id"),
    Column("reference", "诉求编号", field="ServiceRequest.reference"),
    *REGION,
    Column("title", "标题", field="ServiceRequest.title"),
    Column("description", "诉求内容", field="ServiceRequest.description"),
    Column("category", "服务类别代码", field="ServiceRequest.category"),
    Column("category_label", "服务类别", field="ServiceRequest.categoryLabel"),
    Column("channel", "来源渠道代码", field="ServiceRequest.channel"),
    Column("channel_label", "来源渠道", field="ServiceRequest.channelLabel"),
    Column("status", "办理状态代码", field="ServiceRequest.status"),
    Column("status_label", "办理状态", field="ServiceRequest.statusLabel"),
    Column("escalated_to_code", "上报至区划代码", field="ServiceRequest.escalatedTo"),
    Column("escalated_to_name", "上报至区划名称", field="ServiceRequest.escalatedTo"),
    Column("handled_by_id", "承办组织编号", field="ServiceRequest.handledBy"),
    Column("handled_by_name", "承办组织名称", field="ServiceRequest.handledBy"),
    Column("requester_name", "诉求人姓名", field="Person.name"),
    Column("requester_phone", "诉求人电话", field="Person.phone"),
    Column("submitted_at", "提交时间", "datetime", "ServiceRequest.submittedAt"),
    Column("first_responded_at", "首次答复时间", "datetime", "ServiceRequest.firstRespondedAt"),
    Column("accepted_at", "受理时间", "datetime", "ServiceRequest.acceptedAt"),
    Column("due_at", "办理期限", "datetime", "ServiceRequest.dueAt"),
    Column("resolved_at", "办结时间", "datetime", "ServiceRequest.resolvedAt"),
    Column("closed_at", "关闭时间", "datetime", "ServiceRequest.closedAt"),
    Column("overdue", "是否逾期", "boolean", "ServiceStats.overdue"),
    Column("satisfaction", "满意度评价", "number", "ServiceRequest.satisfaction"),
    Column("version", "版本", "number", "ServiceRequest.version"),
)

ORGANIZATION_COLUMNS = (
    Column("id", "系统编号", field="Organization.id"),
    *REGION,
    Column("name", "组织名称", field="Organization.name"),
    Column("kind", "组织类型代码", field="Organization.kind"),
    Column("kind_label", "组织类型", field="Organization.kindLabel"),
    Column("parent_id", "上级组织编号", field="Organization.parent"),
    Column("parent_name", "上级组织名称", field="Organization.parent"),
    Column("member_count", "成员数", "number", "Organization.memberCount"),
    Column("party_member_count", "党员数", "number", "Organization.partyMemberCount"),
    Column("leader_name", "负责人姓名", field="Person.name"),
    Column("leader_role", "负责人职务", field="Person.role"),
    Column("leader_phone", "负责人电话", field="Person.phone"),
    Column("founded_on", "成立日期", "date", "Organization.foundedOn"),
    Column("version", "版本", "number", "Organization.version"),
)

PARTICIPATION_EVENT_COLUMNS = (
    Column("id", "系统编号", field="ParticipationEvent.id"),
    *REGION,
    Column("title", "活动标题", field="ParticipationEvent.title"),
    Column("kind", "参与形式代码", field="ParticipationEvent.kind"),
    Column("kind_label", "参与形式", field="ParticipationEvent.kindLabel"),
    Column("organizer_id", "组织方编号", field="ParticipationEvent.organizer"),
    Column("organizer_name", "组织方名称", field="ParticipationEvent.organizer"),
    Column("starts_at", "开始时间", "datetime", "ParticipationEvent.startsAt"),
    Column("topic", "议题", field="ParticipationEvent.topic"),
    Column("participant_count", "参与人数", "number", "ParticipationEvent.participantCount"),
    *(
        Column(
            f"participants_{group.lower()}",
            f"参与人数:{label}",
            "number",
            "ParticipationEvent.participantsByGroup",
            label,
        )
        for group, label in PARTICIPANT_GROUP.items()
    ),
    Column("version", "版本", "number", "ParticipationEvent.version"),
)


def _kinds(
    prefix: str, title: str, labels: Mapping[str, str], field: str, note: str | None
) -> list[Column]:
    return [
        Column(
            f"{prefix}_{key}",
            f"{title}:{label}",
            "number",
            field,
            label,
            f"{note}.{key}" if note else None,
        )
        for key, label in labels.items()
    ]


BREAKDOWN_COLUMNS = (
    Column("key", "键", field="BreakdownRow.key"),
    Column("label", "名称", field="BreakdownRow.label"),
    *REGION,
    Column("month", "月份", "date", "BreakdownRow.month"),
    Column("organizations", "组织数", "number", "RegionStats.organizations", note="organizations"),
    Column("party_members", "党员数", "number", "RegionStats.partyMembers"),
    *_kinds("organizations", "组织数", ORGANIZATION_KIND, "RegionStats.organizationsByKind", None),
    Column(
        "service_requests",
        "诉求总数",
        "number",
        "ServiceStats.total",
        None,
        "serviceRequests.total",
    ),
    Column("service_requests_open", "未办结诉求数", "number", "ServiceStats.open"),
    Column("service_requests_resolved", "已办结诉求数", "number", "ServiceStats.resolved"),
    Column("service_requests_overdue", "逾期诉求数", "number", "ServiceStats.overdue"),
    Column("response_rate", "及时答复率", "rate", "ServiceStats.responseRate"),
    Column("resolution_rate", "办结率", "rate", "ServiceStats.resolutionRate"),
    Column("satisfaction_rate", "满意率", "rate", "ServiceStats.satisfactionRate"),
    Column(
        "average_hours_to_resolve",
        "平均办结用时(小时)",
        "hours",
        "ServiceStats.averageHoursToResolve",
    ),
    *_kinds("service_requests", "诉求数", FIGURE_STATUS, "ServiceStats.byStatus", None),
    *_kinds(
        "service_requests",
        "诉求数",
        SERVICE_CATEGORY,
        "ServiceStats.byCategory",
        "serviceRequests.byCategory",
    ),
    Column(
        "participation_events",
        "参与活动数",
        "number",
        "ParticipationStats.events",
        None,
        "participation.events",
    ),
    Column("participants", "参与人次", "number", "ParticipationStats.participants"),
    *_kinds(
        "participation_events",
        "活动数",
        PARTICIPATION_KIND,
        "ParticipationStats.byKind",
        "participation.byKind",
    ),
    Column("resolutions_adopted", "通过决议数", "number", "ParticipationStats.resolutionsAdopted"),
    Column(
        "resolutions_implemented",
        "落实决议数",
        "number",
        "ParticipationStats.resolutionsImplemented",
    ),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "service-requests": SERVICE_REQUEST_COLUMNS,
    "organizations": ORGANIZATION_COLUMNS,
    "participation-events": PARTICIPATION_EVENT_COLUMNS,
    "breakdown": BREAKDOWN_COLUMNS,
}
HEADERS: dict[str, tuple[str, ...]] = {
    SERVICE_REQUESTS.name: SERVICE_REQUESTS.header,
    ORGANIZATIONS.name: ORGANIZATIONS.header,
    PARTICIPATION_EVENTS.name: PARTICIPATION_EVENTS.header,
    "breakdown": BREAKDOWN_HEADER,
}

NOTE_COLUMNS = {c.note: i for i, c in enumerate(BREAKDOWN_COLUMNS) if c.note is not None}
NO_DATA = "—"


def mark_no_data(row: list[Cell], notes: Iterable[tuple[str, str]]) -> list[Cell]:
    """The row with `—` in the cells of figures noted NO_DATA (DESIGN.md §8); a note on a
    figure the sheet has no column for (or of another kind) changes nothing."""
    for path, kind in notes:
        column = NOTE_COLUMNS.get(path)
        if kind == "NO_DATA" and column is not None:
            row[column] = NO_DATA
    return row


def column_map() -> str:
    """The README's column map, old (English) name → new (Chinese) header, per export:
    `python -m server.sheet_columns` prints it."""
    lines = []
    for name, columns in COLUMNS.items():
        lines += [f"`{name}`:", "", "| `lang=en` (before) | default (now) |", "|---|---|"]
        lines += [f"| `{c.key}` | {c.label} |" for c in columns]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(column_map())
