"""GET /metrics: what operators read about the hub, labelled by operation name only."""

from __future__ import annotations

import dataclasses
import json

import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from db.setup import Database
from server.settings import Settings
from tests.conftest import Hub, running

NAMED = 'query CountyName { region(code: "341126") { name } }'
SECRET_TEXT = "西门外修路-7f3a"
TOKEN = "metrics-scraper-credential-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


async def scrape(hub: Hub, **headers: str) -> str:
    response = await hub.client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_operations_are_counted_by_name_and_outcome(hub: Hub) -> None:
    before = await scrape(hub)
    token = hub.token("341126")
    for _ in range(2):
        assert (await hub.post(NAMED, token=token)).status_code == 200
    await hub.post("{ viewer { subject } }", token=token)
    # A breadcrumb's stats: data with a FORBIDDEN error.
    await hub.post('query Crumb { region(code: "3411") { stats { organizations } } }', token=token)
    await hub.post("query Deep { region(code: ", token=token)
    text = await scrape(hub)

    def grew(name: str, **labels: str) -> float:
        return (value(text, name, **labels) or 0) - (value(before, name, **labels) or 0)

    ops = "hub_graphql_operations_total"
    assert grew(ops, operation="CountyName", outcome="ok") == 2
    assert grew(ops, operation="anonymous", outcome="ok") == 1
    assert grew(ops, operation="Crumb", outcome="FORBIDDEN") == 1
    # A document that does not parse has no name anyone could trust.
    assert grew(ops, operation="anonymous", outcome="BAD_USER_INPUT") == 1
    latency = "hub_graphql_request_duration_seconds_count"
    assert grew(latency, operation="CountyName") == 2
    assert (
        grew("hub_graphql_request_duration_seconds_bucket", operation="CountyName", le="+Inf") == 2
    )
    assert grew("hub_graphql_sql_statements_count", operation="CountyName") == 2
    assert grew("hub_graphql_sql_statements_sum", operation="CountyName") >= 2
    assert grew("hub_rejected_requests_total", reason="malformed") == 1


async def test_refusals_before_any_operation_are_counted_by_reason(hub: Hub) -> None:
    before = await scrape(hub)
    await hub.post(NAMED)
    await hub.post(NAMED, token="not.a.jwt")
    headers = {"authorization": f"Bearer {hub.token('341126')}"}
    await hub.client.post("/graphql", content=b"{nope", headers=headers)
    await hub.post("#" + "x" * 1_100_000 + "\n" + NAMED, token=hub.token("341126"))
    await hub.post(
        "{ " + " ".join(f"a{i}: viewer {{ subject }}" for i in range(51)) + " }",
        token=hub.token("341126"),
    )
    text = await scrape(hub)

    def grew(reason: str) -> float:
        name = "hub_rejected_requests_total"
        return (value(text, name, reason=reason) or 0) - (value(before, name, reason=reason) or 0)

    assert grew("unauthenticated") == 2
    latency = "hub_graphql_request_duration_seconds_count"
    refused = (value(text, latency, operation="rejected") or 0) - (
        value(before, latency, operation="rejected") or 0
    )
    assert refused == 4  # 401, 401, 400 (not JSON), 413; the too complex one is named anonymous
    assert grew("malformed") == 1
    assert grew("body_too_large") == 1
    assert grew("query_too_complex") == 1


async def test_query_text_and_variables_never_label_a_series(hub: Hub) -> None:
    query = """query ($title: String!) { serviceRequests(under: "341126",
        filter: {text: $title}, first: 1) { totalCount } }"""
    await hub.post(query, {"title": SECRET_TEXT}, token=hub.token("341126"))
    await hub.post(
        "query Innocent { viewer { subject } }",
        token=hub.token("341126"),
    )
    text = await scrape(hub)
    assert SECRET_TEXT not in text and "serviceRequests" not in text and "totalCount" not in text
    labels = {
        dict(labels).get("operation")
        for (name, labels) in samples(text)
        if name.startswith("hub_graphql_operations")
    }
    assert "Innocent" in labels and all(label is None or "{" not in label for label in labels)


async def test_an_operation_name_the_client_sends_but_the_document_lacks_is_not_a_label(
    hub: Hub,
) -> None:
    response = await hub.client.post(
        "/graphql",
        json={"query": "query Real { viewer { subject } }", "operationName": "Forged"},
        headers={"authorization": f"Bearer {hub.token('341126')}"},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    text = await scrape(hub)
    assert 'operation="Forged"' not in text


async def test_operation_names_are_capped_in_length_and_number(
    database: Database, settings: Settings
) -> None:
    async with running(database, settings) as hub:
        token = hub.token("341126")
        long_name = "Q" * 65
        await hub.post(f"query {long_name} {{ viewer {{ subject }} }}", token=token)
        await hub.post("query Call13812345678 { viewer { subject } }", token=token)
        for i in range(105):
            await hub.post(f"query Name{i} {{ viewer {{ subject }} }}", token=token)
        text = await scrape(hub)
    ops = "hub_graphql_operations_total"
    assert value(text, ops, operation="invalid", outcome="ok") == 2
    assert long_name not in text and "13812345678" not in text
    named = {dict(labels)["operation"] for (name, labels) in samples(text) if name == ops}
    assert {"Name0", "Name99"} <= named and "Name100" not in named and "Name104" not in named
    # The first 100 names are labels; five more fold into `other`.
    assert value(text, ops, operation="other", outcome="ok") == 5


async def test_pool_usage_is_read_at_scrape_time(hub: Hub) -> None:
    text = await scrape(hub)
    assert value(text, "hub_db_pool_max_connections") == hub.settings.pool_max_size
    idle = value(text, "hub_db_pool_connections", state="idle")
    busy = value(text, "hub_db_pool_connections", state="busy")
    assert idle is not None and busy is not None and idle + busy >= hub.settings.pool_min_size


async def test_rollup_age_dates_the_last_rebuild(hub: Hub, owner: asyncpg.Connection) -> None:
    await owner.execute("update rollup_state set rebuilt_at = now() - interval '1 hour'")
    age = value(await scrape(hub), "hub_rollup_age_seconds")
    assert age is not None and 3600 <= age < 3700
    await owner.execute("select rebuild_rollups()")
    age = value(await scrape(hub), "hub_rollup_age_seconds")
    assert age is not None and 0 <= age < 60


async def test_a_metrics_token_is_required_when_configured(
    database: Database, settings: Settings
) -> None:
    guarded = dataclasses.replace(settings, metrics_token=TOKEN)
    async with running(database, guarded) as hub:
        assert (await hub.client.get("/metrics")).status_code == 401
        wrong = await hub.client.get("/metrics", headers={"authorization": "Bearer " + "x" * 43})
        assert wrong.status_code == 401
        # A caller's bearer token is not the scraper's credential.
        user = await hub.client.get(
            "/metrics", headers={"authorization": f"Bearer {hub.token('341126')}"}
        )
        assert user.status_code == 401
        assert "hub_graphql" in await scrape(hub, authorization=f"Bearer {TOKEN}")


async def test_production_serves_metrics_only_with_a_token(
    database: Database, settings: Settings
) -> None:
    production = dataclasses.replace(settings, env="production")
    async with running(database, production) as hub:
        response = await hub.client.get("/metrics")
        assert response.status_code == 404 and json.loads(response.text)["error"]
    async with running(database, dataclasses.replace(production, metrics_token=TOKEN)) as hub:
        assert "hub_db_pool" in await scrape(hub, authorization=f"Bearer {TOKEN}")


async def test_metrics_can_be_switched_off(database: Database, settings: Settings) -> None:
    async with running(database, dataclasses.replace(settings, metrics=False)) as hub:
        assert (await hub.client.get("/metrics")).status_code == 404
        assert (await hub.post(NAMED, token=hub.token("341126"))).status_code == 200


async def test_get_operations_are_counted_and_the_ide_page_is_not(hub: Hub) -> None:
    before = await scrape(hub)
    headers = {"authorization": f"Bearer {hub.token('341126')}"}
    await hub.client.get("/graphql", params={"query": NAMED}, headers=headers)
    await hub.client.get("/graphql", headers={"accept": "text/html"})
    text = await scrape(hub)
    latency = "hub_graphql_request_duration_seconds_count"

    def grew(**labels: str) -> float:
        return (value(text, latency, **labels) or 0) - (value(before, latency, **labels) or 0)

    assert grew(operation="CountyName") == 1
    assert grew(operation="anonymous") == 0 and grew(operation="rejected") == 0
