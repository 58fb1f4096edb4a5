"""Service request lists, root `serviceRequests` and `Region.serviceRequests`: orders, keyset
paging, filters and their counts, masking of personal data, and the fields of a request.

Every expected figure comes from SQL run as the table owner (no RLS, no hub code), so a test
fails when the hub's SQL, scope or conversion drifts from the data.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import jwt
import pytest

from db import clock
from db.setup import Database
from tests.conftest import Hub

COUNTY = "341126"
CST = dt.timezone(dt.timedelta(hours=8))
PII = ("viewer", "pii")
SUBTREE = "path <@ (select path from region where code = $1)"
OPEN = "status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED')"
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
ID_NUMBER = re.compile(r"(?<![0-9])([1-9][0-9]{2})[0-9]{11}([0-9]{3}[0-9Xx])(?![0-9Xx])")

# SQL orders equivalent to each `orderBy`; `dueAt` sorts nulls last both ways.
SQL_ORDER = {
    None: "submitted_at desc, id desc",
    "SUBMITTED_AT_DESC": "submitted_at desc, id desc",
    "SUBMITTED_AT_ASC": "submitted_at asc, id asc",
    "DUE_AT_ASC": "due_at asc nulls last, id asc",
    "DUE_AT_DESC": "due_at desc nulls last, id desc",
}
ORDERS = list(SQL_ORDER)

CONNECTION = """
fragment C on ServiceRequestConnection {
  totalCount
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { reference submittedAt dueAt } }
}
"""
ROOT = (
    """
query ($under: String, $filter: ServiceRequestFilter, $orderBy: ServiceRequestOrder,
       $first: Int, $after: String) {
  list: serviceRequests(under: $under, filter: $filter, orderBy: $orderBy, first: $first,
                        after: $after) { ...C }
}
"""
    + CONNECTION
)
NESTED = (
    """
query ($under: String!, $deep: Boolean! = true, $filter: ServiceRequestFilter,
       $orderBy: ServiceRequestOrder, $first: Int, $after: String) {
  region(code: $under) {
    list: serviceRequests(includeDescendants: $deep, filter: $filter, orderBy: $orderBy,
                          first: $first, after: $after) { ...C }
  }
}
"""
    + CONNECTION
)
FORMS = ["root", "region"]


def _list(form: str, body: dict[str, Any]) -> Any:
    data = body.get("data") or {}
    if form == "root":
        return data.get("list")
    return (data.get("region") or {}).get("list")


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


async def refused(hub: Hub, form: str, under: str, **args: Any) -> dict[str, Any]:
    body = await hub.query(ROOT if form == "root" else NESTED, {"under": under, **args})
    return body


async def walk(hub: Hub, form: str, under: str, size: int, **args: Any) -> list[str]:
    """Every reference of a list, following endCursor page by page."""
    refs: list[str] = []
    after = None
    for _ in range(1000):
        got = await page(hub, form, under, first=size, after=after, **args)
        assert len(got["edges"]) <= size
        refs += [e["node"]["reference"] for e in got["edges"]]
        if not got["pageInfo"]["hasNextPage"]:
            return refs
        assert len(got["edges"]) == size
        assert got["pageInfo"]["endCursor"] == got["edges"][-1]["cursor"]
        after = got["pageInfo"]["endCursor"]
    raise AssertionError("the list never ended")


async def sql_refs(
    owner: asyncpg.Connection,
    under: str,
    where: str = "true",
    order: str = SQL_ORDER[None],
    *params: Any,
) -> list[str]:
    rows = await owner.fetch(
        f"select reference from service_request where {SUBTREE} and ({where}) order by {order}",
        under,
        *params,
    )
    return [r["reference"] for r in rows]


async def sql_count(owner: asyncpg.Connection, under: str, where: str, *params: Any) -> int:
    return int(
        await owner.fetchval(
            f"select count(*) from service_request where {SUBTREE} and ({where})", under, *params
        )
    )


def mask_text(text: str | None) -> str | None:
    if text is None:
        return None
    return MOBILE.sub(r"\1****\2", ID_NUMBER.sub(r"\1***********\2", text))


def error_code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


@dataclass(frozen=True)
class Places:
    village: str  # the village with the most requests escalated to its township
    township: str  # its township, which also raises requests itself
    tie_day: dt.date  # a CST day on which two requests share their submission time


@pytest.fixture(scope="module")
async def places(database: Database) -> Places:
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        village = await conn.fetchval(
            """select region_code from service_request
               where handling_region_code <> region_code and length(region_code) = 12
                 and region_code like '341126%'
               group by region_code order by count(*) desc, region_code limit 1"""
        )
        township = await conn.fetchval("select parent_code from region where code = $1", village)
        tie_day = await conn.fetchval(
            """select (submitted_at at time zone 'Asia/Shanghai')::date from service_request
               where region_code like '341126%'
               group by submitted_at having count(*) > 1 order by submitted_at limit 1"""
        )
    finally:
        await conn.close()
    return Places(village, township, tie_day)


@dataclass(frozen=True)
class Undated:
    village: str
    boundary: str  # submitted 00:30 CST, no due time
    later: str  # submitted the next day, no due time either


BOUNDARY_AT = dt.datetime(2026, 6, 10, 0, 30, tzinfo=CST)
BOUNDARY_TITLE = "边界时刻测试请求"


@pytest.fixture
async def undated(owner: asyncpg.Connection, places: Places) -> AsyncIterator[Undated]:
    """Two requests without a due time in `places.village`, one submitted at 00:30 CST."""
    refs = [f"{places.village}-2026-9{n:05d}" for n in (1, 2)]
    times = [BOUNDARY_AT, BOUNDARY_AT + dt.timedelta(days=1, hours=8)]
    ids = [uuid.uuid4() for _ in refs]
    for id_, ref, at in zip(ids, refs, times, strict=True):
        history = json.dumps(
            [
                {
                    "at": at.isoformat(),
                    "action": "submit",
                    "fromStatus": None,
                    "toStatus": "SUBMITTED",
                    "actor": "tester",
                    "note": None,
                }
            ]
        )
        await owner.execute(
            """insert into service_request (id, reference, region_code, handling_region_code,
                   category, channel, status, title, description, submitted_at, due_at, history)
               values ($1, $2, $3, $3, 'OTHER', 'WALK_IN', 'SUBMITTED', $4, null, $5, null,
                   $6::jsonb)""",
            id_,
            ref,
            places.village,
            BOUNDARY_TITLE,
            at,
            history,
        )
    try:
        yield Undated(places.village, refs[0], refs[1])
    finally:
        await owner.execute("delete from service_request where id = any($1::uuid[])", ids)


# -- orders -------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("order", ORDERS)
async def test_each_order_lists_a_day_in_the_sql_order_with_ties_broken_by_id(
    hub: Hub, owner: asyncpg.Connection, places: Places, form: str, order: str | None
) -> None:
    day = places.tie_day.isoformat()
    got = await page(
        hub,
        form,
        COUNTY,
        orderBy=order,
        first=500,
        filter={"submittedFrom": day, "submittedTo": day},
    )
    expected = await sql_refs(
        owner,
        COUNTY,
        "(submitted_at at time zone 'Asia/Shanghai')::date = $2",
        SQL_ORDER[order],
        places.tie_day,
    )
    assert 1 < len(expected) < 500
    assert [e["node"]["reference"] for e in got["edges"]] == expected
    assert got["totalCount"] == len(expected)


async def test_default_order_is_newest_submission_first(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    got = await page(hub, "root", COUNTY, first=120)
    expected = (await sql_refs(owner, COUNTY))[:120]
    assert [e["node"]["reference"] for e in got["edges"]] == expected
    times = [dt.datetime.fromisoformat(e["node"]["submittedAt"]) for e in got["edges"]]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("order", ["DUE_AT_ASC", "DUE_AT_DESC"])
async def test_due_orders_put_requests_without_a_due_time_last(
    hub: Hub, owner: asyncpg.Connection, undated: Undated, form: str, order: str
) -> None:
    got = await page(hub, form, undated.village, orderBy=order, first=500)
    refs = [e["node"]["reference"] for e in got["edges"]]
    assert refs == await sql_refs(owner, undated.village, "true", SQL_ORDER[order])
    assert set(refs[-2:]) == {undated.boundary, undated.later}
    assert [e["node"]["dueAt"] for e in got["edges"][-2:]] == [None, None]
    dues = [dt.datetime.fromisoformat(e["node"]["dueAt"]) for e in got["edges"][:-2]]
    assert dues == sorted(dues, reverse=(order == "DUE_AT_DESC"))


# -- paging -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "order"),
    [
        ("root", None),
        ("root", "SUBMITTED_AT_ASC"),
        ("root", "DUE_AT_ASC"),
        ("root", "DUE_AT_DESC"),
        ("region", None),
        ("region", "DUE_AT_DESC"),
    ],
)
async def test_pages_of_seven_walk_a_village_list_without_duplicates_or_gaps(
    hub: Hub, owner: asyncpg.Connection, undated: Undated, form: str, order: str | None
) -> None:
    # The village holds two requests without a due time, so due orders page across nulls.
    refs = await walk(hub, form, undated.village, 7, orderBy=order)
    expected = await sql_refs(owner, undated.village, "true", SQL_ORDER[order])
    assert len(expected) > 50
    assert len(refs) == len(set(refs))
    assert set(refs) == set(expected)
    assert refs == expected


@pytest.mark.parametrize("form", FORMS)
async def test_pages_walk_a_filtered_list_completely(
    hub: Hub, owner: asyncpg.Connection, places: Places, form: str
) -> None:
    refs = await walk(
        hub,
        form,
        places.township,
        25,
        filter={"statuses": ["CLOSED"], "categories": ["INFRASTRUCTURE", "HEALTH"]},
    )
    expected = await sql_refs(
        owner,
        places.township,
        "status = 'CLOSED' and category in ('INFRASTRUCTURE', 'HEALTH')",
    )
    assert len(expected) > 50
    assert len(refs) == len(set(refs))
    assert refs == expected


async def test_first_defaults_to_fifty(hub: Hub) -> None:
    got = await page(hub, "root", COUNTY)
    assert len(got["edges"]) == 50
    assert got["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize("form", FORMS)
async def test_first_zero_returns_no_edges_but_the_total(
    hub: Hub, owner: asyncpg.Connection, places: Places, form: str
) -> None:
    got = await page(hub, form, places.township, first=0)
    assert got["edges"] == []
    assert got["totalCount"] == await sql_count(owner, places.township, "true")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("first", [501, 10_000, -1])
async def test_first_outside_zero_to_five_hundred_is_bad_user_input(
    hub: Hub, form: str, first: int
) -> None:
    body = await refused(hub, form, COUNTY, first=first)
    assert error_code(body) == "BAD_USER_INPUT"
    assert _list(form, body) is None


async def test_first_of_five_hundred_is_accepted(hub: Hub) -> None:
    got = await page(hub, "root", COUNTY, first=500)
    assert len(got["edges"]) == 500


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("issued", "used"),
    [
        (None, "SUBMITTED_AT_ASC"),
        ("SUBMITTED_AT_ASC", "DUE_AT_ASC"),
        ("DUE_AT_ASC", "DUE_AT_DESC"),
        ("DUE_AT_DESC", None),
    ],
)
async def test_a_cursor_of_one_order_is_refused_by_another(
    hub: Hub, places: Places, form: str, issued: str | None, used: str | None
) -> None:
    got = await page(hub, form, places.village, orderBy=issued, first=3)
    cursor = got["pageInfo"]["endCursor"]
    assert cursor
    body = await refused(hub, form, places.village, orderBy=used, first=3, after=cursor)
    assert error_code(body) == "BAD_USER_INPUT"
    assert _list(form, body) is None


def _tampered(cursor: str) -> list[str]:
    middle = len(cursor) // 2
    swapped = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    return [swapped, cursor[:-1], cursor + "x", "not-a-cursor", ""]


@pytest.mark.parametrize("form", FORMS)
async def test_a_tampered_cursor_is_bad_user_input(hub: Hub, places: Places, form: str) -> None:
    got = await page(hub, form, places.village, first=3)
    for bad in _tampered(got["pageInfo"]["endCursor"]):
        body = await refused(hub, form, places.village, first=3, after=bad)
        assert error_code(body) == "BAD_USER_INPUT", bad
        assert _list(form, body) is None


async def test_a_cursor_of_another_list_is_bad_user_input(hub: Hub, places: Places) -> None:
    body = await hub.query(
        "query ($c: String!) { organizations(under: $c, first: 2) { pageInfo { endCursor } } }",
        {"c": places.village},
    )
    cursor = body["data"]["organizations"]["pageInfo"]["endCursor"]
    refusal = await refused(hub, "root", places.village, first=3, after=cursor)
    assert error_code(refusal) == "BAD_USER_INPUT"


# -- filters and their counts -----------------------------------------------------------------

NOW = object()  # stands for the hub's clock (db/clock.py) at the time the test runs
FILTER_CASES: list[tuple[str, dict[str, Any], str, tuple[Any, ...]]] = [
    (
        "statuses",
        {"statuses": ["ESCALATED", "SUBMITTED"]},
        "status::text = any($2::text[])",
        (["ESCALATED", "SUBMITTED"],),
    ),
    (
        "categories",
        {"categories": ["HOUSING", "LEGAL_AID"]},
        "category::text = any($2::text[])",
        (["HOUSING", "LEGAL_AID"],),
    ),
    ("channels", {"channels": ["HOTLINE"]}, "channel::text = 'HOTLINE'", ()),
    (
        "submitted-march",
        {"submittedFrom": "2026-03-01", "submittedTo": "2026-03-31"},
        "(submitted_at at time zone 'Asia/Shanghai')::date between $2 and $3",
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
    ),
    (
        "submitted-from-only",
        {"submittedFrom": "2026-10-01"},
        "(submitted_at at time zone 'Asia/Shanghai')::date >= $2",
        (dt.date(2026, 10, 1),),
    ),
    (
        "submitted-to-only",
        {"submittedTo": "2025-12-31"},
        "(submitted_at at time zone 'Asia/Shanghai')::date <= $2",
        (dt.date(2025, 12, 31),),
    ),
    ("overdue", {"overdue": True}, f"{OPEN} and due_at < $2", (NOW,)),
    ("not-overdue", {"overdue": False}, f"not ({OPEN} and due_at < $2)", (NOW,)),
    ("text-title", {"text": "路灯"}, "title like '%路灯%' or description like '%路灯%'", ()),
    (
        "text-description",
        {"text": "宅基地"},
        "title like '%宅基地%' or coalesce(description, '') like '%宅基地%'",
        (),
    ),
    (
        "combined",
        {
            "statuses": ["CLOSED", "RESOLVED"],
            "categories": ["INFRASTRUCTURE"],
            "channels": ["WALK_IN", "GRID_WORKER"],
            "submittedFrom": "2026-01-01",
            "submittedTo": "2026-06-30",
        },
        "status in ('CLOSED', 'RESOLVED') and category = 'INFRASTRUCTURE' "
        "and channel in ('WALK_IN', 'GRID_WORKER') "
        "and (submitted_at at time zone 'Asia/Shanghai')::date "
        "between '2026-01-01' and '2026-06-30'",
        (),
    ),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("name", "given", "where", "params"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES]
)
async def test_total_count_matches_sql_for_each_filter(
    hub: Hub,
    owner: asyncpg.Connection,
    form: str,
    name: str,
    given: dict[str, Any],
    where: str,
    params: tuple[Any, ...],
) -> None:
    params = tuple(clock.now() if p is NOW else p for p in params)
    got = await page(hub, form, COUNTY, filter=given, first=500)
    expected = await sql_count(owner, COUNTY, where, *params)
    total = await sql_count(owner, COUNTY, "true")
    assert 0 < expected < total  # the filter selects something, and not everything
    assert got["totalCount"] == expected
    assert len(got["edges"]) == min(expected, 500)
    if expected <= 500:
        refs = [e["node"]["reference"] for e in got["edges"]]
        assert refs == await sql_refs(owner, COUNTY, where, SQL_ORDER[None], *params)


async def test_text_filter_takes_like_wildcards_literally(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    # Amounts such as 拖欠工资3100元 contain "100": a `%` taken as a wildcard would match them.
    assert await sql_count(owner, COUNTY, "description like '%100%'") > 0
    for text in ("100%", "工资_1", "%"):
        got = await page(hub, "root", COUNTY, filter={"text": text}, first=1)
        assert got["totalCount"] == 0, text


async def test_overdue_and_not_overdue_partition_the_list(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    over = await page(hub, "region", places.township, filter={"overdue": True}, first=500)
    rest = await page(hub, "region", places.township, filter={"overdue": False}, first=0)
    every = await page(hub, "region", places.township, first=0)
    assert over["totalCount"] > 0
    assert over["totalCount"] + rest["totalCount"] == every["totalCount"]
    refs = {e["node"]["reference"] for e in over["edges"]}
    rows = await owner.fetch(
        "select status::text, due_at from service_request where reference = any($1::text[])",
        list(refs),
    )
    now = clock.now()
    assert all(
        r["status"] in ("SUBMITTED", "ACCEPTED", "IN_PROGRESS", "ESCALATED") and r["due_at"] < now
        for r in rows
    )


@pytest.mark.parametrize("form", FORMS)
async def test_submitted_days_are_china_standard_time_and_inclusive(
    hub: Hub, owner: asyncpg.Connection, undated: Undated, form: str
) -> None:
    # Submitted 2026-06-10 00:30+08:00, which is still 2026-06-09 in UTC.
    def days(first: str | None, last: str | None) -> dict[str, Any]:
        chosen = {"submittedFrom": first, "submittedTo": last}
        return {"text": BOUNDARY_TITLE, **{k: v for k, v in chosen.items() if v}}

    async def found(first: str | None, last: str | None) -> set[str]:
        got = await page(hub, form, undated.village, filter=days(first, last), first=10)
        return {e["node"]["reference"] for e in got["edges"]}

    assert await found("2026-06-10", "2026-06-10") == {undated.boundary}
    assert await found("2026-06-09", "2026-06-09") == set()
    assert await found(None, "2026-06-09") == set()
    assert await found("2026-06-10", None) == {undated.boundary, undated.later}
    assert await found("2026-06-11", None) == {undated.later}
    assert await found(None, "2026-06-10") == {undated.boundary}

    # And the whole day's count around it agrees with SQL's China Standard Time day.
    got = await page(
        hub,
        form,
        COUNTY,
        first=0,
        filter={"submittedFrom": "2026-06-10", "submittedTo": "2026-06-10"},
    )
    assert got["totalCount"] == await sql_count(
        owner, COUNTY, "(submitted_at at time zone 'Asia/Shanghai')::date = '2026-06-10'"
    )


@pytest.mark.parametrize(
    ("form", "given", "where"),
    [
        ("root", {"submittedFrom": "9999-12-31"}, "false"),
        ("root", {"submittedTo": "0001-01-01"}, "false"),
        ("root", {"submittedTo": "9999-12-30"}, "true"),
        pytest.param("root", {"submittedTo": "9999-12-31"}, "true"),
        pytest.param("region", {"submittedTo": "9999-12-31"}, "true"),
        pytest.param("root", {"submittedFrom": "0001-01-01"}, "true"),
    ],
    ids=[
        "from-9999-12-31",
        "to-0001-01-01",
        "to-9999-12-30",
        "to-9999-12-31",
        "region-to-9999-12-31",
        "from-0001-01-01",
    ],
)
async def test_extreme_but_valid_days_are_answered_not_internal_errors(
    hub: Hub, owner: asyncpg.Connection, form: str, given: dict[str, Any], where: str
) -> None:
    body = await hub.query(
        ROOT if form == "root" else NESTED, {"under": COUNTY, "filter": given, "first": 1}
    )
    assert "errors" not in body, body["errors"]
    assert _list(form, body)["totalCount"] == await sql_count(owner, COUNTY, where)


async def test_a_text_filter_with_a_nul_character_is_not_an_internal_error(hub: Hub) -> None:
    body = await hub.query(ROOT, {"under": COUNTY, "filter": {"text": "路\u0000灯"}, "first": 1})
    if "errors" in body:
        assert error_code(body) == "BAD_USER_INPUT"
    else:
        assert body["data"]["list"]["totalCount"] == 0


async def test_include_descendants_false_lists_only_the_township_itself(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    got = await page(hub, "region", places.township, deep=False, first=500)
    own = await sql_refs(
        owner, places.township, "region_code = $2", SQL_ORDER[None], places.township
    )
    assert 0 < len(own) < await sql_count(owner, places.township, "true")
    assert [e["node"]["reference"] for e in got["edges"]] == own
    assert got["totalCount"] == len(own)

    deep = await page(hub, "region", places.township, deep=True, first=0)
    assert deep["totalCount"] == await sql_count(owner, places.township, "true")


async def test_include_descendants_false_walks_and_filters_the_region_itself(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    refs = await walk(
        hub,
        "region",
        places.township,
        9,
        deep=False,
        orderBy="DUE_AT_ASC",
        filter={"statuses": ["CLOSED"]},
    )
    assert refs == await sql_refs(
        owner,
        places.township,
        "region_code = $2 and status = 'CLOSED'",
        SQL_ORDER["DUE_AT_ASC"],
        places.township,
    )


# -- masking ------------------------------------------------------------------------------------

DETAIL = """
query ($under: String, $filter: ServiceRequestFilter, $first: Int) {
  serviceRequests(under: $under, filter: $filter, first: $first) {
    totalCount
    edges { node { reference title description requester { name phone }
      status submittedAt firstRespondedAt acceptedAt dueAt resolvedAt closedAt
      history { at action fromStatus toStatus actor note }
      region { code } escalatedTo { code name level access }
      handledBy { name kind region { code } } } }
  }
}
"""
SQL_DETAIL = """
select s.reference, s.title, s.description, s.requester_name, s.requester_phone,
       s.status::text as status, s.region_code, s.handling_region_code, s.history,
       s.submitted_at, s.first_responded_at, s.accepted_at, s.due_at, s.resolved_at,
       s.closed_at, o.name as handler_name, o.kind::text as handler_kind,
       o.region_code as handler_region
from service_request s left join organization o on o.id = s.handled_by
where s.reference = any($1::text[])
"""


async def detail(
    hub: Hub,
    owner: asyncpg.Connection,
    under: str,
    given: dict[str, Any] | None,
    *,
    as_: str = COUNTY,
    roles: tuple[str, ...] = ("viewer",),
    first: int = 500,
) -> list[tuple[dict[str, Any], asyncpg.Record]]:
    """The requests of a list beside their table rows, matched by reference."""
    body = await hub.query(
        DETAIL, {"under": under, "filter": given, "first": first}, as_=as_, roles=roles
    )
    assert "errors" not in body, body["errors"]
    nodes = [e["node"] for e in body["data"]["serviceRequests"]["edges"]]
    rows = await owner.fetch(SQL_DETAIL, [n["reference"] for n in nodes])
    by_ref = {r["reference"]: r for r in rows}
    return [(n, by_ref[n["reference"]]) for n in nodes]


async def test_requester_is_masked_without_pii(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.village, None)
    named = [(n, r) for n, r in pairs if r["requester_name"]]
    phoned = [(n, r) for n, r in pairs if r["requester_phone"]]
    assert len(named) > 20 and len(phoned) > 20
    for node, row in named:
        assert node["requester"]["name"] == row["requester_name"][0] + "*"
        assert node["requester"]["name"] != row["requester_name"]
    for node, row in phoned:
        phone = row["requester_phone"]
        assert node["requester"]["phone"] == phone[:3] + "****" + phone[-4:]
        assert re.fullmatch(r"1[3-9][0-9]\*{4}[0-9]{4}", node["requester"]["phone"])
    for node, row in pairs:
        if not row["requester_name"] and not row["requester_phone"]:
            assert node["requester"] is None


async def test_requester_is_clear_with_pii(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.village, None, roles=PII)
    assert any(r["requester_name"] for _, r in pairs)
    for node, row in pairs:
        if row["requester_name"] or row["requester_phone"]:
            assert node["requester"]["name"] == (row["requester_name"] or "")
            assert node["requester"]["phone"] == row["requester_phone"]


@pytest.mark.parametrize("marker", ["联系电话", "请回电", "身份证号"])
async def test_numbers_inside_titles_and_descriptions_are_masked_without_pii(
    hub: Hub, owner: asyncpg.Connection, marker: str
) -> None:
    pairs = await detail(hub, owner, COUNTY, {"text": marker}, first=60)
    assert len(pairs) > 10
    for node, row in pairs:
        assert node["title"] == mask_text(row["title"])
        assert node["description"] == mask_text(row["description"])
        shown = node["title"] + (node["description"] or "")
        assert not re.search(r"[0-9]{11}", shown), shown
        assert shown != row["title"] + (row["description"] or "")  # something was masked


@pytest.mark.parametrize("marker", ["联系电话", "请回电", "身份证号"])
async def test_numbers_inside_titles_and_descriptions_are_clear_with_pii(
    hub: Hub, owner: asyncpg.Connection, marker: str
) -> None:
    pairs = await detail(hub, owner, COUNTY, {"text": marker}, first=60, roles=PII)
    assert len(pairs) > 10
    for node, row in pairs:
        assert node["title"] == row["title"]
        assert node["description"] == row["description"]


async def test_a_text_filter_on_a_full_phone_number_finds_it_only_with_pii(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    phone = await owner.fetchval(
        """select substring(description from '1[3-9][0-9]{9}') from service_request
           where description ~ '联系电话：1[3-9][0-9]{9}' and region_code like '341126%'
           order by reference limit 1"""
    )
    expected = await sql_refs(
        owner, COUNTY, "title like $2 or description like $2", SQL_ORDER[None], f"%{phone}%"
    )
    assert expected

    masked = await page(hub, "root", COUNTY, filter={"text": phone})
    assert masked["totalCount"] == 0 and masked["edges"] == []

    clear = await page(hub, "root", COUNTY, filter={"text": phone}, roles=PII)
    assert clear["totalCount"] == len(expected)
    assert [e["node"]["reference"] for e in clear["edges"]] == expected

    # Without pii the masked form is what the text filter matches.
    shown = await page(hub, "root", COUNTY, filter={"text": phone[:3] + "****" + phone[-4:]})
    assert set(expected) <= {e["node"]["reference"] for e in shown["edges"]}


async def test_pii_applies_per_region_of_a_grant(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    # Viewer on the township, pii only in one of its villages.
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": "mixed",
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        "scope": "pii viewer",
        "grants": [
            {"region": places.township, "roles": ["viewer"]},
            {"region": places.village, "roles": ["pii"]},
        ],
    }
    if hub.settings.jwt_issuer:
        claims["iss"] = hub.settings.jwt_issuer
    if hub.settings.jwt_audience:
        claims["aud"] = hub.settings.jwt_audience
    token = jwt.encode(claims, hub.settings.jwt_secret, algorithm="HS256")
    body = (await hub.post(DETAIL, {"under": places.township, "first": 500}, token=token)).json()
    assert "errors" not in body, body["errors"]
    nodes = [e["node"] for e in body["data"]["serviceRequests"]["edges"]]
    fetched = await owner.fetch(SQL_DETAIL, [n["reference"] for n in nodes])
    rows = {r["reference"]: r for r in fetched}
    inside = outside = 0
    for node in nodes:
        row = rows[node["reference"]]
        if not row["requester_name"]:
            continue
        if row["region_code"] == places.village:
            inside += 1
            assert node["requester"]["name"] == row["requester_name"]
        else:
            outside += 1
            assert node["requester"]["name"] == row["requester_name"][0] + "*"
    assert inside > 0 and outside > 0

    # A full phone number is found by text only where the caller holds pii.
    for code, visible in ((places.village, True), (places.township, False)):
        phone = await owner.fetchval(
            """select substring(description from '1[3-9][0-9]{9}') from service_request
               where region_code = $1 and description ~ '1[3-9][0-9]{9}'
               order by reference limit 1""",
            code,
        )
        if phone is None:
            continue
        found = (
            await hub.post(ROOT, {"under": places.township, "filter": {"text": phone}}, token=token)
        ).json()["data"]["list"]
        assert (found["totalCount"] > 0) is visible, (code, phone)


# -- a request's fields -------------------------------------------------------------------------


async def test_history_is_in_time_order_and_ends_in_the_current_status(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.village, None)
    assert len(pairs) > 50
    statuses = set()
    for node, row in pairs:
        history = node["history"]
        stored = json.loads(row["history"])
        assert [(h["action"], h["toStatus"]) for h in history] == [
            (s["action"], s["toStatus"]) for s in stored
        ]
        times = [dt.datetime.fromisoformat(h["at"]) for h in history]
        assert times == sorted(times)
        assert times[0] == row["submitted_at"]
        assert history[0]["action"] == "submit" and history[0]["fromStatus"] is None
        assert history[-1]["toStatus"] == node["status"] == row["status"]
        for before, after in itertools.pairwise(history):
            assert after["fromStatus"] == before["toStatus"]
        statuses.add(node["status"])
    assert {"CLOSED", "REJECTED"} <= statuses


NOTES = """
query ($code: String!) {
  region(code: $code) {
    serviceRequests(includeDescendants: false, first: 500) {
      edges { node { reference history { action note } } }
    }
  }
}
"""


@pytest.mark.parametrize("roles", [("viewer",), PII], ids=["masked", "clear"])
async def test_history_notes_are_masked_without_pii(
    hub: Hub, owner: asyncpg.Connection, roles: tuple[str, ...]
) -> None:
    code = await owner.fetchval(
        """select region_code from service_request where region_code like '341126%'
           group by region_code having count(*) <= 500
           order by count(*) filter (where history::text ~ '1[3-9][0-9]{9}') desc, region_code
           limit 1"""  # a region whose requests fit in one page
    )
    body = await hub.query(NOTES, {"code": code}, roles=roles)
    assert "errors" not in body, body["errors"]
    nodes = body["data"]["region"]["serviceRequests"]["edges"]
    rows = await owner.fetch(
        "select reference, history from service_request where region_code = $1", code
    )
    stored = {r["reference"]: json.loads(r["history"]) for r in rows}
    assert len(nodes) == len(stored)
    with_number = 0
    for edge in nodes:
        node = edge["node"]
        notes = [h["note"] for h in stored[node["reference"]]]
        if any(n and MOBILE.search(n) for n in notes):
            with_number += 1
        expected = notes if roles == PII else [mask_text(n) for n in notes]
        assert [h["note"] for h in node["history"]] == expected
    assert with_number > 0


async def test_escalated_to_is_set_exactly_when_the_handling_region_differs(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.township, None)
    escalated = 0
    for node, row in pairs:
        if row["handling_region_code"] == row["region_code"]:
            assert node["escalatedTo"] is None
        else:
            escalated += 1
            assert node["escalatedTo"]["code"] == row["handling_region_code"]
            assert node["escalatedTo"]["access"] == "FULL"
        assert node["region"]["code"] == row["region_code"]
    assert escalated > 5


async def test_escalated_to_is_a_breadcrumb_for_a_village_caller(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.village, None, as_=places.village)
    township_name = await owner.fetchval("select name from region where code = $1", places.township)
    escalated = [(n, r) for n, r in pairs if r["handling_region_code"] != r["region_code"]]
    assert len(escalated) > 5
    for node, row in escalated:
        assert row["handling_region_code"] == places.township
        assert node["escalatedTo"] == {
            "code": places.township,
            "name": township_name,
            "level": "TOWNSHIP",
            "access": "BREADCRUMB",
        }
    for node, row in pairs:
        if row["handling_region_code"] == row["region_code"]:
            assert node["escalatedTo"] is None


async def test_handled_by_is_the_handling_organization(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.township, None)
    handled = 0
    for node, row in pairs:
        if row["handler_name"] is None:
            assert node["handledBy"] is None
        else:
            handled += 1
            assert node["handledBy"] == {
                "name": row["handler_name"],
                "kind": row["handler_kind"],
                "region": {"code": row["handler_region"]},
            }
    assert handled > 100


async def test_handled_by_above_a_village_caller_is_null_without_error(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.village, None, as_=places.village)
    above = [
        (n, r)
        for n, r in pairs
        if r["handler_region"] is not None and r["handler_region"] != places.village
    ]
    own = [(n, r) for n, r in pairs if r["handler_region"] == places.village]
    assert above and own
    assert all(n["handledBy"] is None for n, _ in above)
    assert all(n["handledBy"]["name"] == r["handler_name"] for n, r in own)


async def test_date_times_carry_an_offset_and_the_stored_instant(
    hub: Hub, owner: asyncpg.Connection, places: Places
) -> None:
    pairs = await detail(hub, owner, places.village, None, first=100)
    fields = {
        "submittedAt": "submitted_at",
        "firstRespondedAt": "first_responded_at",
        "acceptedAt": "accepted_at",
        "dueAt": "due_at",
        "resolvedAt": "resolved_at",
        "closedAt": "closed_at",
    }
    seen = set()
    for node, row in pairs:
        for name, column in fields.items():
            if row[column] is None:
                assert node[name] is None
                continue
            seen.add(name)
            assert OFFSET.match(node[name]), node[name]
            assert dt.datetime.fromisoformat(node[name]) == row[column]
        for entry in node["history"]:
            assert OFFSET.match(entry["at"]), entry["at"]
    assert seen == set(fields)
