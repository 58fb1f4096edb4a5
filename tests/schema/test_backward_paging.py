"""Backward paging (`last`/`before`): the same rows and cursors as paging forward, in the
list's own order; one direction per page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Hub

VILLAGE_LIST = """query ($orderBy: ServiceRequestOrder, $first: Int, $after: String, $last: Int,
  $before: String) {
  region(code: "341126101001") { list: serviceRequests(orderBy: $orderBy, first: $first,
    after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { reference } } } } }"""
ROOT_LIST = """query ($first: Int, $after: String, $last: Int, $before: String) {
  list: participationEvents(under: "341126", first: $first, after: $after, last: $last,
    before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } } } }"""


def _list(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data = body["data"]
    found: dict[str, Any] = data["list"] if "list" in data else data["region"]["list"]
    return found


async def _walk(hub: Hub, query: str, backward: bool, **args: Any) -> list[str]:
    edges: list[str] = []
    cursor = None
    for _ in range(500):
        if backward:
            page = _list(await hub.query(query, {**args, "last": 25, "before": cursor}))
            edges = [e["cursor"] for e in page["edges"]] + edges
            if not page["pageInfo"]["hasPreviousPage"]:
                return edges
            cursor = page["pageInfo"]["startCursor"]
        else:
            page = _list(await hub.query(query, {**args, "first": 25, "after": cursor}))
            edges += [e["cursor"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return edges
            cursor = page["pageInfo"]["endCursor"]
    raise AssertionError("the list never ended")


@pytest.mark.parametrize("order", [None, "DUE_AT_ASC", "SATISFACTION_DESC"])
async def test_walking_backward_gives_the_forward_list(hub: Hub, order: str | None) -> None:
    forward = await _walk(hub, VILLAGE_LIST, False, orderBy=order)
    assert len(forward) > 50
    assert await _walk(hub, VILLAGE_LIST, True, orderBy=order) == forward


async def test_root_lists_page_backward_too(hub: Hub) -> None:
    forward = await _walk(hub, ROOT_LIST, False)
    assert len(forward) > 25
    assert await _walk(hub, ROOT_LIST, True) == forward


async def test_last_page_flags_and_a_cursor_taken_from_a_forward_page(hub: Hub) -> None:
    first = _list(await hub.query(VILLAGE_LIST, {"first": 10}))
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    tenth = first["edges"][9]["cursor"]
    before = _list(await hub.query(VILLAGE_LIST, {"last": 4, "before": tenth}))
    assert [e["cursor"] for e in before["edges"]] == [e["cursor"] for e in first["edges"][5:9]]
    assert before["pageInfo"]["hasPreviousPage"] and before["pageInfo"]["hasNextPage"]
    assert before["totalCount"] == first["totalCount"]


@pytest.mark.parametrize(
    "args",
    [{"first": 5, "last": 5}, {"after": "x", "before": "y"}, {"first": 1, "before": "y"}],
)
async def test_paging_both_ways_is_bad_user_input(hub: Hub, args: dict[str, Any]) -> None:
    body = await hub.query(VILLAGE_LIST, args)
    error = body["errors"][0]["extensions"]
    assert (error["code"], error["reason"]) == ("BAD_USER_INPUT", "PAGING_BOTH_WAYS")


async def test_last_over_five_hundred_is_bad_user_input(hub: Hub) -> None:
    body = await hub.query(VILLAGE_LIST, {"last": 501})
    error = body["errors"][0]["extensions"]
    assert (error["code"], error["reason"]) == ("BAD_USER_INPUT", "PAGE_SIZE")
