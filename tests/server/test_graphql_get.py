"""GET /graphql: queries run (never mutations), every answer is private and not stored, and
browsers get the offline IDE where it is on."""

from __future__ import annotations

import dataclasses
import json

from db.setup import Database
from server.settings import Settings
from tests.conftest import Hub, running

QUERY = '{ region(code: "341126") { name } }'
MUTATION = 'mutation { closeServiceRequest(id: "x") { id } }'


async def test_get_runs_a_query_with_the_callers_token(hub: Hub) -> None:
    token = hub.token("341126")
    response = await hub.client.get(
        "/graphql", params={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["region"]["name"]
    assert response.headers["cache-control"] == "private, no-store"


async def test_get_takes_variables_and_an_operation_name_as_json(hub: Hub) -> None:
    query = "query A($c: String!) { region(code: $c) { code } } query B { viewer { subject } }"
    response = await hub.client.get(
        "/graphql",
        params={"query": query, "variables": json.dumps({"c": "341126"}), "operationName": "A"},
        headers={"authorization": f"Bearer {hub.token('341126')}"},
    )
    assert response.json()["data"] == {"region": {"code": "341126"}}


async def test_get_refuses_a_mutation_with_405(hub: Hub) -> None:
    response = await hub.client.get(
        "/graphql",
        params={"query": MUTATION},
        headers={"authorization": f"Bearer {hub.token('341126', roles=('editor',))}"},
    )
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    extensions = response.json()["errors"][0]["extensions"]
    assert (extensions["code"], extensions["reason"]) == ("BAD_USER_INPUT", "METHOD_NOT_ALLOWED")


async def test_get_with_variables_that_are_not_json_is_bad_input(hub: Hub) -> None:
    response = await hub.client.get("/graphql", params={"query": QUERY, "variables": "{nope"})
    assert response.status_code == 400
    extensions = response.json()["errors"][0]["extensions"]
    assert (extensions["code"], extensions["reason"]) == ("BAD_USER_INPUT", "REQUEST_MALFORMED")


async def test_every_graphql_answer_is_private_and_not_stored(hub: Hub) -> None:
    answered = await hub.post(QUERY, token=hub.token("341126"))
    refused = await hub.post(QUERY)
    assert answered.headers["cache-control"] == "private, no-store"
    assert refused.status_code == 401 and refused.headers["cache-control"] == "private, no-store"


async def test_the_ide_page_loads_its_files_from_the_hub_only(hub: Hub) -> None:
    page = await hub.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "/static/ide/graphiql.min.js" in page.text and "https://" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = await hub.client.get("/static/ide/graphiql.min.js")
    assert script.status_code == 200 and len(script.content) > 1_000_000


async def test_hub_graphiql_opens_the_ide_and_introspection_in_production(
    database: Database, settings: Settings
) -> None:
    production = dataclasses.replace(settings, env="production", graphiql_setting=True)
    async with running(database, production) as hub:
        page = await hub.client.get("/graphql", headers={"accept": "text/html"})
        types = await hub.post("{ __schema { queryType { name } } }", token=hub.token("341126"))
        anonymous = await hub.post("{ __schema { queryType { name } } }")
    assert page.status_code == 200
    assert types.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert anonymous.status_code == 401
