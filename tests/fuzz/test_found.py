"""Failures the generated operations found, each kept as a named test."""

from typing import Any

import pytest

from tests.conftest import Hub

ENTITIES = """query ($r: [_Any!]!) { _entities(representations: $r) {
  ... on Region { code } ... on ServiceRequest { reference } } }"""


@pytest.mark.parametrize(
    "representations",
    [
        ["{'__typename': 'ServiceRequest'}"],  # a string, not an object
        [{"__typename": "Region"}],  # no key
        [{"__typename": "Region", "code": "341126", "id": "x"}],  # two keys
        [{"__typename": "Nowhere", "code": "341126"}],  # not an entity type
        [{"__typename": "Region", "code": 341126}],  # a key that is no string
    ],
)
async def test_a_malformed_entity_representation_is_bad_user_input(
    hub: Hub, representations: list[Any]
) -> None:
    response = await hub.post(ENTITIES, {"r": representations}, token=hub.token("341126"))
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "BAD_REPRESENTATION"


async def test_well_formed_representations_still_resolve(hub: Hub) -> None:
    representations = [{"__typename": "Region", "code": "341126"}]
    body = (await hub.post(ENTITIES, {"r": representations}, token=hub.token("341126"))).json()
    assert body["data"]["_entities"] == [{"code": "341126"}]
