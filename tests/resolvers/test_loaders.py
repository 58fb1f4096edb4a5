"""Nested fields load through per-request DataLoaders: statements grow with depth, not rows."""

from typing import Any

from tests.conftest import Hub

FIVE_LEVELS = """
query ($first: Int) {
  region(code: "341126") {
    children(first: $first) { edges { node { code
      children(first: 50) { edges { node { code
        serviceRequests(first: 5) { edges { node { reference handledBy { name } } } }
      } } }
    } } }
  }
}
"""


def _counts(body: dict[str, Any]) -> tuple[int, int, int]:
    townships = body["data"]["region"]["children"]["edges"]
    villages = [v for t in townships for v in t["node"]["children"]["edges"]]
    requests = [r for v in villages for r in v["node"]["serviceRequests"]["edges"]]
    handled = [r for r in requests if r["node"]["handledBy"] is not None]
    return len(villages), len(requests), len(handled)


async def test_five_level_query_issues_one_statement_per_level(hub: Hub) -> None:
    token = hub.token("341126")
    response = await hub.post(FIVE_LEVELS, {"first": 50}, token=token)
    body = response.json()
    assert "errors" not in body
    villages, requests, handled = _counts(body)
    assert villages == 250 and requests > 1000 and handled > 500
    # region, townships, villages, requests per village, handling organizations
    assert int(response.headers["x-sql-statements"]) == 5


async def test_statement_count_does_not_grow_with_the_rows_returned(hub: Hub) -> None:
    token = hub.token("341126")
    small = await hub.post(FIVE_LEVELS, {"first": 1}, token=token)
    large = await hub.post(FIVE_LEVELS, {"first": 50}, token=token)
    assert _counts(small.json())[0] < _counts(large.json())[0]
    assert small.headers["x-sql-statements"] == large.headers["x-sql-statements"]
