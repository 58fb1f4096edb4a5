"""Organization lists, root `organizations` and `Region.organizations`: default order, filters
and their counts, paging, the organization tree (`parent`, `children`) within scope, and the
leader's personal data, all checked against SQL run as the table owner."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from db.setup import Database
from tests.conftest import Hub

COUNTY = "341126"
PII = ("viewer", "pii")
SUBTREE = "path <@ (select path from region where code = $1)"
ORDER = "region_code, name, id"

NODE = """
fragment N on Organization {
  id name kind memberCount partyMemberCount foundedOn region { code }
  leader { name role phone }
}
"""
CONNECTION = (
    """
fragment C on OrganizationConnection {
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { ...N } }
}
"""
    + NODE
)
ROOT = (
    """
query ($under: String, $filter: OrganizationFilter, $first: Int, $after: String) {
  list: organizations(under: $under, filter: $filter, first: $first, after: $after) { ...C }
}
"""
    + CONNECTION
)
NESTED = (
    """
query ($under: String!, $deep: Boolean! = true, $filter: OrganizationFilter, $first: Int,
       $after: String) {
  region(code: $under) {
    list: organizations(includeDescendants: $deep, filter: $filter, first: $first,
                        after: $after) { ...C }
  }
}
"""
    + CONNECTION
)
FORMS = ["root", "region"]


def _list(form: str, body: dict[str, Any]) -> Any:
    data = body.get("data") or {}
    return data.get("list") if form == "root" else (data.get("region") or {}).get("list")


async def page(
    hub: Hub,
    form: str,
    under: str,
    *,
    as_: str = COUNTY,
    roles: tuple[str, ...] = ("viewer",),
    **args: Any,
) -> dict[str, Any]:
    body = await hub.query(
        ROOT if form == "root" else NESTED, {"under": under, **args}, as_=as_, roles=roles
    )
    assert "errors" not in body, body["errors"]
    found: dict[str, Any] = _list(form, body)
    return found


def key(node: dict[str, Any]) -> tuple[str, str]:
    """(region code, name): unique among organizations, and what a reader sees."""
    return node["region"]["code"], node["name"]


async def walk(hub: Hub, form: str, under: str, size: int, **args: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(1000):
        got = await page(hub, form, under, first=size, after=after, **args)
        nodes += [e["node"] for e in got["edges"]]
        if not got["pageInfo"]["hasNextPage"]:
            return nodes
        assert len(got["edges"]) == size
        after = got["pageInfo"]["endCursor"]
    raise AssertionError("the list never ended")


async def sql_keys(
    owner: asyncpg.Connection, under: str, where: str = "true", *params: Any
) -> list[tuple[str, str]]:
    rows = await owner.fetch(
        f"select region_code, name from organization where {SUBTREE} and ({where}) "
        f"order by {ORDER}",
        under,
        *params,
    )
    return [(r["region_code"], r["name"]) for r in rows]


@dataclass(frozen=True)
class Places:
    township: str
    village: str  # in `township`, with a party organization whose parent is the township's


@pytest.fixture(scope="module")
async def places(database: Database) -> Places:
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        row = await conn.fetchrow(
            """select o.region_code as village, p.region_code as township
               from organization o join organization p on p.id = o.parent_id
               where length(o.region_code) = 12 and p.region_code <> o.region_code
                 and o.region_code like '341126%'
               order by o.region_code limit 1"""
        )
    finally:
        await conn.close()
    assert row is not None
    return Places(row["township"], row["village"])


# -- order and paging ---------------------------------------------------------------------------


async def test_default_order_is_region_code_then_name_across_the_county(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    nodes = await walk(hub, "root", COUNTY, 500)
    expected = await sql_keys(owner, COUNTY)
    assert len(expected) > 1000
    assert [key(n) for n in nodes] == expected
    assert len({n["id"] for n in nodes}) == len(nodes)


@pytest.mark.parametrize("form", FORMS)
async def test_pages_of_seven_walk_a_township_without_duplicates_or_gaps(
    hub: Hub, owner: asyncpg.Connection, places: Places, form: str
) -> None:
    nodes = await walk(hub, form, places.township, 7)
    expected = await sql_keys(owner, places.township)
    assert len(expected) > 30
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids))
    assert [key(n) for n in nodes] == expected


@pytest.mark.parametrize("form", FORMS)
async def test_pages_walk_a_filtered_list_completely(
    hub: Hub, owner: asyncpg.Connection, form: str
) -> None:
    kinds = ["PARTY_BRANCH", "PARTY_GENERAL_BRANCH"]
    nodes = await walk(hub, form, COUNTY, 97, filter={"kinds": kinds})
    expected = await sql_keys(owner, COUNTY, "kind::text = any($2::text[])", kinds)
    assert len(expected) > 200
    assert [key(n) for n in nodes] == expected


async def test_first_over_five_hundred_is_bad_user_input(hub: Hub) -> None:
    for form in FORMS:
        body = await hub.query(ROOT if form == "root" else NESTED, {"under": COUNTY, "first": 501})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert _list(form, body) is None


async def test_first_zero_gives_the_total_without_edges(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    got = await page(hub, "region", places.township, first=0)
    assert got["edges"] == []
    assert got["totalCount"] == len(await sql_keys(owner, places.township))


# -- filters ------------------------------------------------------------------------------------

FILTER_CASES: list[tuple[str, dict[str, Any], str, tuple[Any, ...]]] = [
    ("one-kind", {"kinds": ["VILLAGE_COMMITTEE"]}, "kind = 'VILLAGE_COMMITTEE'", ()),
    (
        "kinds",
        {"kinds": ["SERVICE_CENTRE", "VOLUNTEER_TEAM", "SOCIAL_ORGANIZATION"]},
        "kind::text = any($2::text[])",
        (["SERVICE_CENTRE", "VOLUNTEER_TEAM", "SOCIAL_ORGANIZATION"],),
    ),
    ("name-branch", {"nameContains": "党支部"}, "name like '%党支部%'", ()),
    ("name-community", {"nameContains": "社区"}, "name like '%社区%'", ()),
    ("name-cooperative", {"nameContains": "股份经济合作社"}, "name like '%股份经济合作社%'", ()),
    (
        "kind-and-name",
        {"kinds": ["PARTY_BRANCH"], "nameContains": "第一"},
        "kind = 'PARTY_BRANCH' and name like '%第一%'",
        (),
    ),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("name", "given", "where", "params"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES]
)
async def test_filters_count_and_list_what_sql_finds(
    hub: Hub,
    owner: asyncpg.Connection,
    form: str,
    name: str,
    given: dict[str, Any],
    where: str,
    params: tuple[Any, ...],
) -> None:
    got = await page(hub, form, COUNTY, filter=given, first=500)
    expected = await sql_keys(owner, COUNTY, where, *params)
    total = len(await sql_keys(owner, COUNTY))
    assert 0 < len(expected) < total
    assert got["totalCount"] == len(expected)
    assert [key(e["node"]) for e in got["edges"]] == expected[:500]


async def test_every_listed_organization_has_a_requested_kind(hub: Hub) -> None:
    got = await page(hub, "root", COUNTY, filter={"kinds": ["COLLECTIVE_ECONOMY"]}, first=50)
    assert got["edges"]
    assert {e["node"]["kind"] for e in got["edges"]} == {"COLLECTIVE_ECONOMY"}


async def test_name_contains_takes_wildcards_literally(hub: Hub) -> None:
    for text in ("%", "_", "党%支部"):
        got = await page(hub, "root", COUNTY, filter={"nameContains": text}, first=1)
        assert got["totalCount"] == 0, text


async def test_name_contains_with_a_nul_character_is_not_an_internal_error(hub: Hub) -> None:
    body = await hub.query(ROOT, {"under": COUNTY, "filter": {"nameContains": "党\u0000支部"}})
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    else:
        assert body["data"]["list"]["totalCount"] == 0


async def test_name_contains_empty_matches_everything(hub: Hub, owner: asyncpg.Connection) -> None:
    got = await page(hub, "root", COUNTY, filter={"nameContains": ""}, first=0)
    assert got["totalCount"] == len(await sql_keys(owner, COUNTY))


async def test_include_descendants_false_lists_the_region_itself(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    for code in (places.township, places.village, COUNTY):
        got = await page(hub, "region", code, deep=False, first=500)
        own = await sql_keys(owner, code, "region_code = $2", code)
        assert len(own) > 0
        if code != places.village:  # villages have no regions below
            assert len(own) < len(await sql_keys(owner, code))
        assert [key(e["node"]) for e in got["edges"]] == own
        assert got["totalCount"] == len(own)


async def test_include_descendants_false_combines_with_filters(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    got = await page(
        hub, "region", places.township, deep=False, first=50, filter={"kinds": ["PARTY_COMMITTEE"]}
    )
    own = await sql_keys(
        owner, places.township, "region_code = $2 and kind = 'PARTY_COMMITTEE'", places.township
    )
    assert len(own) == 1
    assert [key(e["node"]) for e in got["edges"]] == own


# -- fields -------------------------------------------------------------------------------------


async def test_scalar_fields_equal_the_table(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    got = await page(hub, "root", places.township, first=500)
    rows = await owner.fetch(
        f"""select region_code, name, kind::text as kind, member_count, party_member_count,
                   founded_on from organization where {SUBTREE}""",
        places.township,
    )
    by_key = {(r["region_code"], r["name"]): r for r in rows}
    assert len(got["edges"]) == len(rows)
    for edge in got["edges"]:
        node, row = edge["node"], by_key[key(edge["node"])]
        assert node["kind"] == row["kind"]
        assert node["memberCount"] == row["member_count"]
        assert node["partyMemberCount"] == row["party_member_count"]
        assert node["foundedOn"] == (row["founded_on"].isoformat() if row["founded_on"] else None)


async def test_leader_is_masked_without_pii(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    got = await page(hub, "root", places.township, first=500)
    rows = await owner.fetch(
        f"select region_code, name, leader_name, leader_role, leader_phone from organization "
        f"where {SUBTREE}",
        places.township,
    )
    by_key = {(r["region_code"], r["name"]): r for r in rows}
    checked = 0
    for edge in got["edges"]:
        leader, row = edge["node"]["leader"], by_key[key(edge["node"])]
        if row["leader_name"] is None and row["leader_phone"] is None:
            assert leader is None
            continue
        checked += 1
        assert leader["name"] == row["leader_name"][0] + "*"
        assert leader["name"] != row["leader_name"]
        assert leader["role"] == row["leader_role"]
        phone = row["leader_phone"]
        assert leader["phone"] == (phone[:3] + "****" + phone[-4:] if phone else None)
    assert checked > 30


async def test_leader_is_clear_with_pii(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    got = await page(hub, "root", places.township, first=500, roles=PII)
    rows = await owner.fetch(
        f"select region_code, name, leader_name, leader_role, leader_phone from organization "
        f"where {SUBTREE}",
        places.township,
    )
    by_key = {(r["region_code"], r["name"]): r for r in rows}
    assert any(r["leader_name"] for r in rows)
    for edge in got["edges"]:
        leader, row = edge["node"]["leader"], by_key[key(edge["node"])]
        if row["leader_name"] is None and row["leader_phone"] is None:
            continue
        assert leader == {
            "name": row["leader_name"] or "",
            "role": row["leader_role"],
            "phone": row["leader_phone"],
        }


async def test_pii_in_another_region_does_not_unmask_this_one(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    # A grant with pii in the village, and none in the rest of the township.
    token = hub.token(places.village, roles=PII)
    other = await owner.fetchval(
        "select code from region where parent_code = $1 and code <> $2 order by code limit 1",
        places.township,
        places.village,
    )
    body = (
        await hub.post(
            """query ($v: String!) { organizations(under: $v, first: 3) {
             edges { node { leader { name } } } } }""",
            {"v": other},
            token=token,
        )
    ).json()
    assert body["data"]["organizations"]["edges"] == []  # not in scope at all
    body = (
        await hub.post(
            """query ($v: String!) { organizations(under: $v, first: 1) {
             edges { node { name region { code } leader { name } } } } }""",
            {"v": places.village},
            token=token,
        )
    ).json()
    node = body["data"]["organizations"]["edges"][0]["node"]
    stored = await owner.fetchval(
        "select leader_name from organization where region_code = $1 and name = $2",
        node["region"]["code"],
        node["name"],
    )
    assert node["leader"]["name"] == stored


TREE = """
query ($code: String!) {
  region(code: $code) {
    organizations(includeDescendants: false, first: 500) {
      edges { node { name kind region { code }
        parent { name region { code } }
        children { name region { code } } } }
    }
  }
}
"""


async def sql_tree(
    owner: asyncpg.Connection, code: str
) -> dict[tuple[str, str], tuple[tuple[str, str] | None, list[tuple[str, str]]]]:
    rows = await owner.fetch(
        """select o.region_code, o.name, p.region_code as parent_region, p.name as parent_name,
                  coalesce((select array_agg(array[c.region_code, c.name]
                                             order by c.region_code, c.name)
                            from organization c where c.parent_id = o.id), '{}') as children
           from organization o left join organization p on p.id = o.parent_id
           where o.region_code = $1""",
        code,
    )
    return {
        (r["region_code"], r["name"]): (
            (r["parent_region"], r["parent_name"]) if r["parent_name"] else None,
            [(c[0], c[1]) for c in r["children"]],
        )
        for r in rows
    }


def _pairs(nodes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [key(n) for n in nodes]


async def test_parent_and_children_follow_the_table_for_a_county_caller(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    for code in (places.township, places.village):
        body = await hub.query(TREE, {"code": code})
        assert "errors" not in body, body["errors"]
        tree = await sql_tree(owner, code)
        edges = body["data"]["region"]["organizations"]["edges"]
        assert len(edges) == len(tree)
        with_children = 0
        for edge in edges:
            node = edge["node"]
            parent, children = tree[key(node)]
            assert (key(node["parent"]) if node["parent"] else None) == parent
            assert Counter(_pairs(node["children"])) == Counter(children)
            with_children += bool(children)
        assert with_children > 0


async def test_a_parent_outside_the_callers_jurisdiction_is_null_without_error(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    body = await hub.query(TREE, {"code": places.village}, as_=places.village)
    assert "errors" not in body, body["errors"]
    tree = await sql_tree(owner, places.village)
    edges = body["data"]["region"]["organizations"]["edges"]
    assert len(edges) == len(tree)
    outside = 0
    for edge in edges:
        node = edge["node"]
        parent, children = tree[key(node)]
        if parent is not None and parent[0] != places.village:
            outside += 1
            assert parent[0] == places.township
            assert node["parent"] is None
        else:
            assert (key(node["parent"]) if node["parent"] else None) == parent
        # Every child of a village organization lies in the village, so all are visible.
        assert Counter(_pairs(node["children"])) == Counter(children)
    assert outside >= 1


async def test_children_outside_the_callers_jurisdiction_are_left_out(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    # The township caller sees its party committee's children in its villages, but not its
    # parent, the county committee; a village caller sees none of the township's organizations.
    body = await hub.query(TREE, {"code": places.township}, as_=places.township)
    assert "errors" not in body, body["errors"]
    tree = await sql_tree(owner, places.township)
    for edge in body["data"]["region"]["organizations"]["edges"]:
        node = edge["node"]
        parent, children = tree[key(node)]
        if parent is not None and parent[0] == COUNTY:
            assert node["parent"] is None
        assert Counter(_pairs(node["children"])) == Counter(children)

    county_body = await hub.query(TREE, {"code": COUNTY}, as_=places.township)
    assert county_body["data"]["region"]["organizations"] is None
    assert county_body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    committee_children = await hub.query(
        """query ($code: String!) { region(code: $code) {
             organizations(includeDescendants: false, filter: {kinds: [PARTY_COMMITTEE]}) {
               edges { node { children { name region { code } } } } } } }""",
        {"code": places.township},
        as_=places.village,
    )
    assert committee_children["data"]["region"]["organizations"] is None
    assert committee_children["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_root_list_under_a_breadcrumb_gives_only_the_part_in_scope(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    got = await page(hub, "root", places.township, as_=places.village, first=500)
    expected = await sql_keys(owner, places.village)
    assert [key(e["node"]) for e in got["edges"]] == expected
    assert got["totalCount"] == len(expected)
