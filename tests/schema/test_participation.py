"""Participation event lists, root `participationEvents` and `Region.participationEvents`:
default order, filters and their counts, paging, and an event's groups, resolutions and
organizer, all checked against SQL run as the table owner."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from db.setup import Database
from tests.conftest import Hub

COUNTY = "341126"
CST = dt.timezone(dt.timedelta(hours=8))
PII = ("viewer", "pii")
SUBTREE = "path <@ (select path from region where code = $1)"
ORDER = "starts_at desc, id desc"
CST_DAY = "(starts_at at time zone 'Asia/Shanghai')::date"
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
CHINESE = re.compile(r"[\u4e00-\u9fff]")

CONNECTION = """
fragment C on ParticipationEventConnection {
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id title startsAt kind region { code } } }
}
"""
ROOT = (
    """
query ($under: String, $filter: ParticipationEventFilter, $first: Int, $after: String) {
  list: participationEvents(under: $under, filter: $filter, first: $first, after: $after) { ...C }
}
"""
    + CONNECTION
)
NESTED = (
    """
query ($under: String!, $deep: Boolean! = true, $filter: ParticipationEventFilter, $first: Int,
       $after: String) {
  region(code: $under) {
    list: participationEvents(includeDescendants: $deep, filter: $filter, first: $first,
                              after: $after) { ...C }
  }
}
"""
    + CONNECTION
)
FORMS = ["root", "region"]

Key = tuple[str, dt.datetime, str]


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


def key(node: dict[str, Any]) -> Key:
    """(region code, start, title): unique among events, and what a reader sees."""
    return node["region"]["code"], dt.datetime.fromisoformat(node["startsAt"]), node["title"]


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
) -> list[Key]:
    rows = await owner.fetch(
        f"select region_code, starts_at, title from participation_event "
        f"where {SUBTREE} and ({where}) order by {ORDER}",
        under,
        *params,
    )
    return [(r["region_code"], r["starts_at"], r["title"]) for r in rows]


@dataclass(frozen=True)
class Places:
    township: str  # holds events itself and below
    village: str  # the village with the most events


@pytest.fixture(scope="module")
async def places(database: Database) -> Places:
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        village = await conn.fetchval(
            """select region_code from participation_event where length(region_code) = 12
               and region_code like '341126%'
               group by region_code order by count(*) desc, region_code limit 1"""
        )
        township = await conn.fetchval("select parent_code from region where code = $1", village)
    finally:
        await conn.close()
    return Places(township, village)


BOUNDARY_AT = dt.datetime(2026, 6, 10, 0, 30, tzinfo=CST)
BOUNDARY_TITLE = "边界时刻测试议事会"


@pytest.fixture
async def boundary_event(owner: asyncpg.Connection, places: Places) -> AsyncIterator[str]:
    """An event in `places.village` starting at 00:30 CST (still the day before in UTC)."""
    id_ = uuid.uuid4()
    await owner.execute(
        """insert into participation_event (id, region_code, kind, title, topic, starts_at,
               participant_count, participants_by_group)
           values ($1, $2, 'DELIBERATION', $3, '边界测试', $4, 3, '{"VILLAGERS": 3}'::jsonb)""",
        id_,
        places.village,
        BOUNDARY_TITLE,
        BOUNDARY_AT,
    )
    try:
        yield places.village
    finally:
        await owner.execute("delete from participation_event where id = $1", id_)


# -- order and paging ---------------------------------------------------------------------------


async def test_default_order_is_latest_start_first_across_the_county(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    nodes = await walk(hub, "root", COUNTY, 500)
    expected = await sql_keys(owner, COUNTY)
    assert len(expected) > 1000
    assert [key(n) for n in nodes] == expected  # ties of startsAt broken by id, as in SQL
    assert len({n["id"] for n in nodes}) == len(nodes)
    starts = [k[1] for k in expected]
    assert len(set(starts)) < len(starts)  # the data does hold ties


@pytest.mark.parametrize("form", FORMS)
async def test_pages_of_seven_walk_a_village_without_duplicates_or_gaps(
    hub: Hub, owner: asyncpg.Connection, places: Places, form: str
) -> None:
    nodes = await walk(hub, form, places.village, 7)
    expected = await sql_keys(owner, places.village)
    assert len(expected) > 14
    assert len({n["id"] for n in nodes}) == len(nodes)
    assert [key(n) for n in nodes] == expected


@pytest.mark.parametrize("form", FORMS)
async def test_pages_walk_a_filtered_list_completely(
    hub: Hub, owner: asyncpg.Connection, places: Places, form: str
) -> None:
    kinds = ["VOLUNTEER_ACTIVITY", "DELIBERATION"]
    nodes = await walk(hub, form, places.township, 11, filter={"kinds": kinds})
    expected = await sql_keys(owner, places.township, "kind::text = any($2::text[])", kinds)
    assert len(expected) > 22
    assert [key(n) for n in nodes] == expected


async def test_first_over_five_hundred_and_bad_cursors_are_bad_user_input(hub: Hub) -> None:
    for form in FORMS:
        body = await hub.query(ROOT if form == "root" else NESTED, {"under": COUNTY, "first": 501})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert _list(form, body) is None
        got = await page(hub, form, COUNTY, first=2)
        cursor = got["pageInfo"]["endCursor"]
        for bad in (cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), "x" + cursor):
            body = await hub.query(
                ROOT if form == "root" else NESTED, {"under": COUNTY, "first": 2, "after": bad}
            )
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# -- filters ------------------------------------------------------------------------------------

FILTER_CASES: list[tuple[str, dict[str, Any], str, tuple[Any, ...]]] = [
    ("one-kind", {"kinds": ["HEARING"]}, "kind = 'HEARING'", ()),
    (
        "kinds",
        {"kinds": ["VILLAGERS_ASSEMBLY", "PUBLIC_SUPERVISION"]},
        "kind::text = any($2::text[])",
        (["VILLAGERS_ASSEMBLY", "PUBLIC_SUPERVISION"],),
    ),
    (
        "from-to",
        {"from": "2026-04-01", "to": "2026-04-30"},
        f"{CST_DAY} between $2 and $3",
        (dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
    ),
    (
        "one-day",
        {"from": "2026-05-12", "to": "2026-05-12"},
        f"{CST_DAY} = $2",
        (dt.date(2026, 5, 12),),
    ),
    ("from-only", {"from": "2026-09-01"}, f"{CST_DAY} >= $2", (dt.date(2026, 9, 1),)),
    ("to-only", {"to": "2026-01-31"}, f"{CST_DAY} <= $2", (dt.date(2026, 1, 31),)),
    (
        "text-title",
        {"text": "议事协商会"},
        "title like '%议事协商会%' or coalesce(topic, '') like '%议事协商会%'",
        (),
    ),
    (
        "text-topic",
        {"text": "人居环境"},
        "title like '%人居环境%' or coalesce(topic, '') like '%人居环境%'",
        (),
    ),
    (
        "combined",
        {"kinds": ["VOLUNTEER_ACTIVITY"], "from": "2026-03-01", "to": "2026-08-31", "text": "敬老"},
        f"kind = 'VOLUNTEER_ACTIVITY' and {CST_DAY} between '2026-03-01' and '2026-08-31' "
        "and (title like '%敬老%' or coalesce(topic, '') like '%敬老%')",
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
    assert 0 < len(expected) < len(await sql_keys(owner, COUNTY))
    assert got["totalCount"] == len(expected)
    assert [key(e["node"]) for e in got["edges"]] == expected[:500]


@pytest.mark.parametrize("form", FORMS)
async def test_text_matches_the_topic_even_when_the_title_does_not(
    hub: Hub, owner: asyncpg.Connection, boundary_event: str, form: str
) -> None:
    # The boundary event's topic 边界测试 is not part of its title 边界时刻测试议事会.
    got = await page(hub, form, COUNTY, filter={"text": "边界测试"}, first=5)
    expected = await sql_keys(owner, COUNTY, "title like '%边界测试%' or topic like '%边界测试%'")
    assert [k[2] for k in expected] == [BOUNDARY_TITLE]
    assert [key(e["node"]) for e in got["edges"]] == expected
    assert got["totalCount"] == 1


async def test_text_takes_wildcards_literally(hub: Hub) -> None:
    for text in ("%", "_会", "议事%会"):
        got = await page(hub, "root", COUNTY, filter={"text": text}, first=1)
        assert got["totalCount"] == 0, text


@pytest.mark.parametrize(
    ("given", "where"),
    [
        ({"from": "9999-12-31"}, "false"),
        ({"to": "9999-12-30"}, "true"),
        pytest.param({"to": "9999-12-31"}, "true"),
        pytest.param({"from": "0001-01-01"}, "true"),
    ],
    ids=["from-9999-12-31", "to-9999-12-30", "to-9999-12-31", "from-0001-01-01"],
)
async def test_extreme_but_valid_days_are_answered_not_internal_errors(
    hub: Hub, owner: asyncpg.Connection, given: dict[str, Any], where: str
) -> None:
    body = await hub.query(ROOT, {"under": COUNTY, "filter": given, "first": 1})
    assert "errors" not in body, body["errors"]
    expected = await owner.fetchval(
        f"select count(*) from participation_event where {SUBTREE} and {where}", COUNTY
    )
    assert body["data"]["list"]["totalCount"] == expected


async def test_a_text_filter_with_a_nul_character_is_not_an_internal_error(hub: Hub) -> None:
    body = await hub.query(ROOT, {"under": COUNTY, "filter": {"text": "议事\u0000"}, "first": 1})
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    else:
        assert body["data"]["list"]["totalCount"] == 0


@pytest.mark.parametrize("form", FORMS)
async def test_from_and_to_are_china_standard_time_days(
    hub: Hub, boundary_event: str, form: str
) -> None:
    async def found(first: str | None, last: str | None) -> int:
        given = {
            "text": BOUNDARY_TITLE,
            **({"from": first} if first else {}),
            **({"to": last} if last else {}),
        }
        got = await page(hub, form, boundary_event, filter=given, first=5)
        return int(got["totalCount"])

    assert await found("2026-06-10", "2026-06-10") == 1
    assert await found("2026-06-09", "2026-06-09") == 0
    assert await found(None, "2026-06-09") == 0
    assert await found("2026-06-11", None) == 0
    assert await found("2026-06-10", None) == 1
    assert await found(None, "2026-06-10") == 1


async def test_include_descendants_false_lists_the_township_itself(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    got = await page(hub, "region", places.township, deep=False, first=500)
    own = await sql_keys(owner, places.township, "region_code = $2", places.township)
    assert 0 < len(own) < len(await sql_keys(owner, places.township))
    assert [key(e["node"]) for e in got["edges"]] == own
    assert got["totalCount"] == len(own)


# -- an event's fields --------------------------------------------------------------------------

DETAIL = """
query ($under: String, $first: Int) {
  participationEvents(under: $under, first: $first) {
    edges { node { title startsAt topic kind region { code } participantCount
      participantsByGroup { key label count }
      organizer { name kind region { code } }
      resolutions { text status decidedOn implementedOn votesFor votesAgainst } } }
  }
}
"""
SQL_DETAIL = """
select e.region_code, e.starts_at, e.title, e.topic, e.kind::text as kind, e.participant_count,
       e.participants_by_group, o.name as organizer_name, o.kind::text as organizer_kind,
       o.region_code as organizer_region,
       coalesce((select json_agg(json_build_object(
                   'text', r.text, 'status', r.status, 'decidedOn', r.decided_on,
                   'implementedOn', r.implemented_on, 'votesFor', r.votes_for,
                   'votesAgainst', r.votes_against) order by r.position)
                 from resolution r where r.event_id = e.id), '[]') as resolutions
from participation_event e left join organization o on o.id = e.organizer_id
where e.path <@ (select path from region where code = $1)
"""


async def detail(
    hub: Hub,
    owner: asyncpg.Connection,
    under: str,
    *,
    first: int = 500,
    roles: tuple[str, ...] = ("viewer",),
) -> list[tuple[dict[str, Any], Any]]:
    body = await hub.query(DETAIL, {"under": under, "first": first}, roles=roles)
    assert "errors" not in body, body["errors"]
    nodes = [e["node"] for e in body["data"]["participationEvents"]["edges"]]
    rows = await owner.fetch(SQL_DETAIL, under)
    by_key = {(r["region_code"], r["starts_at"], r["title"]): r for r in rows}
    return [(n, by_key[key(n)]) for n in nodes]


async def test_participants_by_group_has_chinese_labels_and_sums_to_the_count(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.township)
    assert len(pairs) > 20
    keys_seen: set[str] = set()
    for node, row in pairs:
        groups = node["participantsByGroup"]
        stored = json.loads(row["participants_by_group"])
        assert {g["key"]: g["count"] for g in groups} == stored
        assert len(groups) == len(stored)
        assert sum(g["count"] for g in groups) == node["participantCount"]
        assert node["participantCount"] == row["participant_count"]
        for group in groups:
            assert CHINESE.search(group["label"]), group
            assert group["label"] != group["key"]
            keys_seen.add(group["key"])
    assert len(keys_seen) >= 4
    labels = {g["key"]: g["label"] for n, _ in pairs for g in n["participantsByGroup"]}
    assert len(set(labels.values())) == len(labels)  # one label per group


@pytest.mark.parametrize("roles", [("viewer",), PII], ids=["viewer", "pii"])
async def test_resolutions_come_in_position_order_with_their_statuses(
    hub: Hub, owner: asyncpg.Connection, places: Places, roles: tuple[str, ...]
) -> None:
    pairs = await detail(hub, owner, places.township, roles=roles)
    statuses: set[str] = set()
    several = 0
    for node, row in pairs:
        stored = json.loads(row["resolutions"])
        assert node["resolutions"] == stored
        statuses |= {r["status"] for r in stored}
        several += len(stored) > 1
    assert several > 3
    assert {"ADOPTED", "IMPLEMENTED"} <= statuses


async def test_organizer_is_the_organizing_organization(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    pairs = await detail(hub, owner, COUNTY)
    organized = unorganized = 0
    for node, row in pairs:
        if row["organizer_name"] is None:
            unorganized += 1
            assert node["organizer"] is None
        else:
            organized += 1
            assert node["organizer"] == {
                "name": row["organizer_name"],
                "kind": row["organizer_kind"],
                "region": {"code": row["organizer_region"]},
            }
    assert organized > 100 and unorganized > 0


async def test_scalar_fields_equal_the_table_and_times_carry_an_offset(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.village)
    assert pairs
    for node, row in pairs:
        assert OFFSET.match(node["startsAt"]), node["startsAt"]
        assert dt.datetime.fromisoformat(node["startsAt"]) == row["starts_at"]
        assert node["kind"] == row["kind"]
        assert node["topic"] == row["topic"]
