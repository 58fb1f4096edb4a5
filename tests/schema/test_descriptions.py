"""Every type, field, argument, input field and enum value of the contract is described;
enum values by their Chinese labels; Date and DateTime say their time zone and precision,
and every DateTime is written to the second with +08:00."""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
)

from resolvers import labels
from schema.build import build_schema
from tests.conftest import Hub

# Federation's own definitions, which the hub does not write.
FEDERATION = {"_Service", "_Any", "_Entity", "_FieldSet", "link__Import", "link__Purpose"}
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
SECOND_CST = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def undescribed() -> list[str]:
    schema = build_schema()._schema
    missing: list[str] = []
    for name, kind in schema.type_map.items():
        if name.startswith("__") or name in FEDERATION or name in BUILT_IN:
            continue
        if not kind.description:
            missing.append(f"type {name}")
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in kind.fields.items():
                if field_name in ("_service", "_entities"):
                    continue
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({a})"
                    for a, arg in field.args.items()
                    if not arg.description
                ]
        elif isinstance(kind, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in kind.fields.items() if not field.description]
        elif isinstance(kind, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in kind.values.items() if not value.description]
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    assert undescribed() == []


def test_enum_values_are_described_by_their_chinese_labels() -> None:
    schema = build_schema()._schema
    for enum, table in (
        ("ServiceStatus", labels.SERVICE_STATUS),
        ("ServiceCategory", labels.SERVICE_CATEGORY),
        ("ServiceChannel", labels.SERVICE_CHANNEL),
        ("OrganizationKind", labels.ORGANIZATION_KIND),
        ("ParticipationKind", labels.PARTICIPATION_KIND),
        ("ServiceRequestAction", labels.SERVICE_REQUEST_ACTION),
    ):
        kind = schema.type_map[enum]
        assert isinstance(kind, GraphQLEnumType)
        assert {v: value.description for v, value in kind.values.items()} == table


def test_date_scalars_state_their_time_zone_and_precision() -> None:
    schema = build_schema()._schema
    date = schema.type_map["Date"].description or ""
    moment = schema.type_map["DateTime"].description or ""
    assert "China Standard Time" in date and "+08:00" in date
    assert "China Standard Time" in moment and "+08:00" in moment and "second" in moment


REQUEST = """query { serviceRequests(first: 20, orderBy: SUBMITTED_AT_DESC) { edges { node {
  submittedAt firstRespondedAt acceptedAt dueAt resolvedAt closedAt
  history { at } } } } }"""


async def test_every_date_time_is_to_the_second_in_china_standard_time(hub: Hub) -> None:
    # A live write stores microseconds; the demo does not. Both read the same way.
    submitted = await hub.query(
        """mutation { submitServiceRequest(input: {regionCode: "341126", category: HEALTH,
          channel: HOTLINE, title: "路灯不亮"}) { submittedAt dueAt history { at } } }""",
        roles=("editor",),
    )
    assert "errors" not in submitted, submitted
    written = submitted["data"]["submitServiceRequest"]
    values = [written["submittedAt"], written["dueAt"], written["history"][0]["at"]]
    body = await hub.query(REQUEST)
    for edge in body["data"]["serviceRequests"]["edges"]:
        node = edge["node"]
        values += [v for k, v in node.items() if k != "history" and v is not None]
        values += [h["at"] for h in node["history"]]
    assert len(values) > 20
    assert [v for v in values if not SECOND_CST.match(v)] == []
