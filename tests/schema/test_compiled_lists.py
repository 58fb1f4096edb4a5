"""Compiled lists (`schema/compiled.py`) answer exactly as graphql-core does.

Generated selections of the compiled shape (and some just outside it) are asked of two hubs
on the same database — compiled lists on (the default) and `HUB_COMPILED_LISTS=false` —
as callers with and without `pii`, inside and outside the region asked for; the response
bodies must be the same bytes (only the request id differs). A spy checks that the compiled
path did answer, and the scope cases check what it must not show.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from db.setup import Database
from schema import compiled
from server.settings import Settings
from tests.conftest import Hub, running

COUNTY = "341126"
REQUEST_ID = re.compile(rb'"requestId":"[^"]*"')
MOBILE = re.compile(r"(?<![0-9*])1[3-9][0-9]{9}(?![0-9])")

LEAVES = [
    "id",
    "reference",
    "title",
    "description",
    "category",
    "channel",
    "status",
    "submittedAt",
    "firstRespondedAt",
    "acceptedAt",
    "dueAt",
    "resolvedAt",
    "closedAt",
    "satisfaction",
    "version",
    "statusLabel",
    "categoryLabel",
    "channelLabel",
    "__typename",
]
OBJECTS = [
    "requester { name role phone }",
    "region { id code name level __typename }",
    "region { name }",
    "handledBy { id name }",
    "handledBy { name __typename }",
]
# Outside the shape: graphql-core answers these (an async resolver, a resolver with `info`).
OUTSIDE = ["availableActions", "escalatedTo { code }", "history { kind }"]

# (token codes, roles, `under`): pii and not, a part of the county, another county.
CALLERS = [
    ((COUNTY,), ("viewer",), COUNTY),
    ((COUNTY,), ("viewer", "pii"), COUNTY),
    (("341126101",), ("viewer",), COUNTY),
    (("341125",), ("viewer", "pii"), COUNTY),
]


def selection(rng: random.Random, outside: bool) -> str:
    fields = rng.sample(LEAVES, rng.randint(1, 8)) + rng.sample(OBJECTS, rng.randint(0, 2))
    if outside:
        fields.append(rng.choice(OUTSIDE))
    rng.shuffle(fields)
    aliased = [f"a{i}: {f}" if rng.random() < 0.2 else f for i, f in enumerate(fields)]
    node = " ".join(aliased)
    edge = [f"node {{ {node} }}"]
    if rng.random() < 0.4:
        edge.append("cursor")
    if rng.random() < 0.2:
        edge.append("__typename")
    rng.shuffle(edge)
    return " ".join(edge)


def query(rng: random.Random, under: str, edges: str) -> str:
    first = rng.choice([0, 1, 7, 50, 120])
    if rng.random() < 0.5:
        return f'{{ serviceRequests(under: "{under}", first: {first}) {{ edges {{ {edges} }} }} }}'
    return (
        f'{{ region(code: "{under}") {{ name serviceRequests(first: {first}) '
        f"{{ totalCount edges {{ {edges} }} }} }} }}"
    )


@pytest.fixture(scope="module")
async def executor_hub(database: Database, settings: Settings) -> AsyncIterator[Hub]:
    async with running(database, dataclasses.replace(settings, compiled_lists=False)) as hub:
        yield hub


@pytest.fixture
def compiled_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    runs: list[int] = []
    run = compiled.ListCompiler.run

    def spy(plan: Any, source: Any, ctx: Any) -> Any:
        runs.append(len(source._edges))
        return run(plan, source, ctx)

    monkeypatch.setattr(compiled.ListCompiler, "run", staticmethod(spy))
    return runs


async def both(hub: Hub, executor_hub: Hub, text: str, codes: tuple[str, ...], roles: Any) -> bytes:
    token = hub.token(*codes, roles=roles)
    fast = await hub.post(text, token=token)
    slow = await executor_hub.post(text, token=token)
    assert fast.status_code == slow.status_code == 200
    assert REQUEST_ID.sub(b"", fast.content) == REQUEST_ID.sub(b"", slow.content), text
    return fast.content


async def test_generated_selections_answer_byte_for_byte_as_graphql_core(
    hub: Hub, executor_hub: Hub, compiled_runs: list[int]
) -> None:
    rng = random.Random(15)
    for round_ in range(10):
        edges = selection(rng, outside=round_ % 4 == 3)
        for codes, roles, under in CALLERS:
            await both(hub, executor_hub, query(rng, under, edges), codes, roles)
    assert sum(compiled_runs) > 0, "the compiled path answered no list"


async def test_the_peer_benchmark_list_is_compiled_and_masked_without_pii(
    hub: Hub, executor_hub: Hub, compiled_runs: list[int]
) -> None:
    text = (
        f'{{ serviceRequests(under: "{COUNTY}", first: 50) {{ edges {{ node {{ reference '
        "title description status submittedAt requester { name phone } region { name } "
        "handledBy { name } } } } }"
    )
    body = await both(hub, executor_hub, text, (COUNTY,), ("viewer",))
    assert compiled_runs == [50]
    assert b'"errors"' not in body
    assert not MOBILE.search(body.decode()), "an unmasked mobile number without pii"


async def test_a_caller_reads_nothing_outside_its_scope_through_the_compiled_path(
    hub: Hub, executor_hub: Hub, compiled_runs: list[int]
) -> None:
    edges = "node { reference region { code } handledBy { name } requester { phone } }"
    text = f'{{ serviceRequests(under: "{COUNTY}", first: 200) {{ edges {{ {edges} }} }} }}'
    other = await hub.query(text, as_="341125", roles=("viewer", "pii"))
    assert other == {"data": {"serviceRequests": {"edges": []}}}
    township = await hub.query(text, as_="341126101")
    rows = township["data"]["serviceRequests"]["edges"]
    assert rows and all(e["node"]["region"]["code"].startswith("341126101") for e in rows)
    breadcrumb = await hub.query(
        f'{{ region(code: "{COUNTY}") {{ serviceRequests(first: 5) {{ edges {{ {edges} }} }} }} }}',
        as_="341126101",
    )
    assert breadcrumb["data"]["region"]["serviceRequests"] is None
    assert breadcrumb["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert compiled_runs and compiled_runs[0] == 0 and compiled_runs[1] == len(rows)
    for codes in (("341125",), ("341126101",)):
        await both(hub, executor_hub, text, codes, ("viewer",))


async def test_a_value_the_executor_refuses_gives_its_errors_through_either_path(
    hub: Hub, executor_hub: Hub, compiled_runs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from schema.service import ServiceRequest

    from_row = ServiceRequest.from_row

    def broken(row: Any) -> ServiceRequest:
        made = from_row(row)
        if made.reference.endswith("7"):
            made.title = None  # type: ignore[assignment]  # a null in a non-null field
        return made

    monkeypatch.setattr(ServiceRequest, "from_row", staticmethod(broken))
    text = (
        f'{{ serviceRequests(under: "{COUNTY}", first: 30) {{ edges {{ node {{ reference '
        "title } } } }"
    )
    body = await both(hub, executor_hub, text, (COUNTY,), ("viewer",))
    # graphql-core's "Cannot return null for non-nullable field", masked as INTERNAL, at the
    # row's title: the compiled path gave the list back to the executor.
    assert re.search(
        rb'"code":"INTERNAL".*"path":\["serviceRequests","edges",\d+,"node","title"\]', body
    )
    assert compiled_runs == [30]


def test_compiled_lists_are_on_unless_hub_compiled_lists_is_false() -> None:
    from server.settings import load_settings

    base = {"HUB_ENV": "development", "HUB_JWT_SECRET": "x" * 40, "HUB_DATA_DIR": "data"}
    assert load_settings(base).compiled_lists is True
    assert load_settings({**base, "HUB_COMPILED_LISTS": "false"}).compiled_lists is False
