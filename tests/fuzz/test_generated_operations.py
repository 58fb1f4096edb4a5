"""Operations generated from the schema (hypothesis-graphql), sent over HTTP as callers at
each level: no 5xx, no INTERNAL, and `/healthz` answering after each batch. The cases are
drawn with a fixed seed, so a run is repeatable; each failure found becomes a named test
(tests/fuzz/test_found.py)."""

import datetime as dt
from typing import Any

import graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql

from schema.build import build_schema
from tests.conftest import Hub

CASES = 1000
BATCH = 100
# (jurisdiction, roles): a caller at each level
CALLERS = [
    ("341126101001", ("viewer", "editor")),
    ("341126101", ("viewer", "editor", "pii")),
    ("341126", ("viewer", "editor", "auditor")),
    ("3411", ("viewer",)),
    ("34", ("viewer", "auditor")),
    ("100000", ("viewer",)),
]


def _object(fields: dict[str, str]) -> graphql.ObjectValueNode:
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=nodes.String(v))
            for k, v in fields.items()
        ]
    )


DAYS = st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31))
SCALARS = {
    "Date": DAYS.map(nodes.String),
    "DateTime": st.datetimes(timezones=st.just(dt.UTC)).map(lambda t: nodes.String(t.isoformat())),
    "JSON": st.text(max_size=20).map(nodes.String),
    "_Any": st.one_of(
        st.text(max_size=10).map(nodes.String),
        st.dictionaries(
            st.sampled_from(["__typename", "code", "id", "reference", "other"]),
            st.one_of(
                st.sampled_from(["Region", "ServiceRequest", "Organization", "341126", ""]),
                st.text(max_size=10),
            ),
            max_size=3,
        ).map(_object),
    ),
}


def _operations(count: int) -> list[str]:
    """`count` operations, queries and mutations, drawn from the committed schema."""
    schema = build_schema()._schema
    drawn: list[str] = []
    operations = st.one_of(
        gql.queries(schema, custom_scalars=SCALARS),
        gql.mutations(schema, custom_scalars=SCALARS),
    )

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(operations)
    def draw(operation: str) -> None:
        drawn.append(operation)

    draw()
    return drawn


def _failure(response: Any) -> str | None:
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    body = response.json()
    answers = body if isinstance(body, list) else [body]
    for answer in answers:
        for error in answer.get("errors") or []:
            if (error.get("extensions") or {}).get("code") == "INTERNAL":
                return f"INTERNAL: {error}"
    return None


async def test_generated_operations_never_fail_inside_the_hub(hub: Hub) -> None:
    operations = _operations(CASES)
    assert len(operations) >= CASES * 0.9
    tokens = [hub.token(code, roles=roles) for code, roles in CALLERS]
    failures: list[str] = []
    for start in range(0, len(operations), BATCH):
        for index, operation in enumerate(operations[start : start + BATCH], start):
            response = await hub.post(operation, token=tokens[index % len(tokens)])
            failure = _failure(response)
            if failure is not None:
                failures.append(f"{CALLERS[index % len(CALLERS)][0]}: {operation}\n  {failure}")
        health = await hub.client.get("/healthz")
        assert health.status_code == 200
    assert not failures, "\n\n".join(failures[:10])
