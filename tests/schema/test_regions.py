"""Regions: full regions in scope, breadcrumbs above it, nothing elsewhere."""

import asyncpg

from tests.conftest import Hub

REGION = """query ($code: String!) { region(code: $code) {
  code name fullName level access parent { code } ancestors { code access }
  children(first: 100) { totalCount edges { node { code access } } }
} }"""


async def test_a_county_in_scope_is_full_with_its_ancestors_as_breadcrumbs(hub: Hub) -> None:
    body = await hub.query(REGION, {"code": "341126"})
    region = body["data"]["region"]
    assert region["fullName"] == "安徽省滁州市凤阳县" and region["level"] == "COUNTY"
    assert region["access"] == "FULL" and region["parent"] == {"code": "3411"}
    assert region["ancestors"] == [
        {"code": "100000", "access": "BREADCRUMB"},
        {"code": "34", "access": "BREADCRUMB"},
        {"code": "3411", "access": "BREADCRUMB"},
    ]
    assert region["children"]["totalCount"] == 18
    assert {e["node"]["access"] for e in region["children"]["edges"]} == {"FULL"}


async def test_full_name_skips_placeholder_cities(hub: Hub) -> None:
    body = await hub.query(REGION, {"code": "110107"}, as_="100000")
    assert body["data"]["region"]["fullName"] == "北京市石景山区"


async def test_a_breadcrumb_lists_only_children_on_the_way_to_scope(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    assert await owner.fetchval("select count(*) from region where parent_code = '3411'") >= 2
    body = await hub.query(REGION, {"code": "3411"})
    children = body["data"]["region"]["children"]
    assert children == {"totalCount": 1, "edges": [{"node": {"code": "341126", "access": "FULL"}}]}


async def test_a_breadcrumbs_other_fields_are_forbidden_and_null(hub: Hub) -> None:
    body = await hub.query(
        """{ region(code: "3411") { name organizations { totalCount }
             serviceRequests { totalCount } participationEvents { totalCount } } }"""
    )
    region = body["data"]["region"]
    assert region == {
        "name": "滁州市",
        "organizations": None,
        "serviceRequests": None,
        "participationEvents": None,
    }
    assert sorted(e["path"][-1] for e in body["errors"]) == [
        "organizations",
        "participationEvents",
        "serviceRequests",
    ]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_a_foreign_region_is_as_absent_as_an_unknown_one(hub: Hub) -> None:
    foreign = await hub.query(REGION, {"code": "341125"})
    unknown = await hub.query(REGION, {"code": "341199"})
    assert foreign == unknown == {"data": {"region": None}}


async def test_a_malformed_code_is_bad_user_input(hub: Hub) -> None:
    body = await hub.query(REGION, {"code": "34112"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_township_caller_sees_its_county_as_a_breadcrumb_with_one_child(hub: Hub) -> None:
    body = await hub.query(REGION, {"code": "341126"}, as_="341126101")
    region = body["data"]["region"]
    assert region["access"] == "BREADCRUMB"
    assert region["children"] == {
        "totalCount": 1,
        "edges": [{"node": {"code": "341126101", "access": "FULL"}}],
    }


REGIONS = """query ($level: RegionLevel, $under: String, $name: String, $first: Int,
  $after: String) {
  regions(level: $level, under: $under, nameContains: $name, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { code } } } }"""


async def test_regions_lists_the_scope_by_level(hub: Hub, owner: asyncpg.Connection) -> None:
    body = await hub.query(REGIONS, {"level": "VILLAGE", "first": 500})
    villages = [e["node"]["code"] for e in body["data"]["regions"]["edges"]]
    expected = await owner.fetch(
        "select code from region where level = 'VILLAGE' and code like '341126%' order by code"
    )
    assert villages == [r["code"] for r in expected]
    assert body["data"]["regions"]["totalCount"] == len(expected)


async def test_regions_under_a_breadcrumb_gives_the_part_in_scope(hub: Hub) -> None:
    body = await hub.query(REGIONS, {"under": "34", "level": "COUNTY"})
    assert [e["node"]["code"] for e in body["data"]["regions"]["edges"]] == ["341126"]


async def test_regions_under_a_foreign_or_unknown_region_are_empty_without_error(hub: Hub) -> None:
    empty = {
        "data": {
            "regions": {
                "totalCount": 0,
                "edges": [],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
            }
        }
    }
    assert await hub.query(REGIONS, {"under": "341125"}) == empty
    assert await hub.query(REGIONS, {"under": "341199"}) == empty


async def test_regions_name_filter_matches_within_scope_only(hub: Hub) -> None:
    body = await hub.query(REGIONS, {"name": "社区"}, as_="341126")
    codes = [e["node"]["code"] for e in body["data"]["regions"]["edges"]]
    assert codes and all(c.startswith("341126") for c in codes)


async def test_paging_walks_every_child_once(hub: Hub) -> None:
    query = """query ($after: String) { region(code: "341126") { children(first: 5, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { code } } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await hub.query(query, {"after": after}))["data"]["region"]["children"]
        seen += [e["node"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 18 and seen == sorted(set(seen))


async def test_a_cursor_of_another_list_is_refused(hub: Hub) -> None:
    first = await hub.query(REGIONS, {"first": 1})
    cursor = first["data"]["regions"]["pageInfo"]["endCursor"]
    body = await hub.query(
        """query ($after: String) { region(code: "341126") { children(after: $after) {
           totalCount } } }""",
        {"after": cursor},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
