"""Hostile queries are refused before they run, with QUERY_TOO_COMPLEX or BAD_USER_INPUT."""

from typing import Any

from tests.conftest import Hub


async def _code(
    hub: Hub, query: str, variables: dict[str, Any] | None = None
) -> tuple[int, str | None]:
    response = await hub.post(query, variables, token=hub.token("341126"))
    errors = response.json().get("errors")
    return response.status_code, errors[0]["extensions"]["code"] if errors else None


def _nested(levels: int) -> str:
    inner = "code"
    for _ in range(levels):
        inner = f"parent {{ {inner} }}"
    return f'{{ region(code: "341126101001") {{ {inner} }} }}'


async def test_depth_fifteen_passes_and_sixteen_is_refused(hub: Hub) -> None:
    assert await _code(hub, _nested(13)) == (200, None)  # region + 13 parents + code = 15
    assert await _code(hub, _nested(14)) == (400, "QUERY_TOO_COMPLEX")


async def test_depth_hidden_in_fragments_is_counted(hub: Hub) -> None:
    query = """{ region(code: "341126101001") { ...A } }
      fragment A on Region { parent { ...B } }
      fragment B on Region { parent { parent { parent { parent { parent { parent { parent {
        parent { parent { parent { parent { parent { parent { code } } } } } } } } } } } } } }"""
    assert await _code(hub, query) == (400, "QUERY_TOO_COMPLEX")


async def test_fifty_aliases_pass_and_fifty_one_are_refused(hub: Hub) -> None:
    fifty = "{ " + " ".join(f"a{i}: viewer {{ subject }}" for i in range(50)) + " }"
    many = "{ " + " ".join(f"a{i}: viewer {{ subject }}" for i in range(51)) + " }"
    assert await _code(hub, fifty) == (200, None)
    assert await _code(hub, many) == (400, "QUERY_TOO_COMPLEX")


async def test_aliases_are_counted_at_every_fragment_spread(hub: Hub) -> None:
    fragment = (
        "fragment F on Query { " + " ".join(f"a{i}: viewer {{ subject }}" for i in range(10)) + " }"
    )
    query = "{ " + " ".join("...F" for _ in range(6)) + " } " + fragment
    assert await _code(hub, query) == (400, "QUERY_TOO_COMPLEX")


async def test_more_than_ten_thousand_tokens_are_refused(hub: Hub) -> None:
    query = "{ viewer { " + "subject " * 10_001 + "} }"
    assert await _code(hub, query) == (400, "QUERY_TOO_COMPLEX")


async def test_nested_large_pages_are_refused_by_cost(hub: Hub) -> None:
    query = """{ regions(first: 500) { edges { node { children(first: 500) {
        edges { node { code } } } } } } }"""
    assert await _code(hub, query) == (400, "QUERY_TOO_COMPLEX")


async def test_cost_counts_page_sizes_given_in_variables(hub: Hub) -> None:
    query = """query ($n: Int) { regions(first: $n) { edges { node { children(first: $n) {
        edges { node { code } } } } } } }"""
    assert await _code(hub, query, {"n": 100}) == (200, None)
    assert await _code(hub, query, {"n": 400}) == (400, "QUERY_TOO_COMPLEX")


async def test_a_five_level_listing_at_default_page_sizes_passes(hub: Hub) -> None:
    query = """{ region(code: "341126") { children { edges { node { code
        children { edges { node { code name } } } } } } } }"""
    assert await _code(hub, query) == (200, None)


async def test_first_over_five_hundred_is_bad_user_input(hub: Hub) -> None:
    assert await _code(hub, "{ regions(first: 501) { totalCount } }") == (200, "BAD_USER_INPUT")
