"""The HTTP surface: limits, malformed requests, batches, health and readiness."""

import json

from tests.conftest import Hub


async def test_healthz_and_readyz_answer(hub: Hub) -> None:
    assert (await hub.client.get("/healthz")).json() == {"status": "ok"}
    ready = await hub.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "checks": {"startup": "ready", "database": "ok", "changeFeed": "listening"},
    }


async def test_malformed_json_is_400_with_a_clear_message(hub: Hub) -> None:
    response = await hub.client.post(
        "/graphql",
        content=b"{not json",
        headers={
            "authorization": f"Bearer {hub.token('341126')}",
            "content-type": "application/json",
        },
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "JSON" in error["message"]


async def test_graphql_syntax_error_is_400_not_500(hub: Hub) -> None:
    response = await hub.post("{ region(code: ", token=hub.token("341126"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unknown_field_is_400_with_the_field_named(hub: Hub) -> None:
    response = await hub.post('{ region(code: "341126") { secret } }', token=hub.token("341126"))
    assert response.status_code == 400
    assert "secret" in response.json()["errors"][0]["message"]


async def test_a_body_over_one_megabyte_is_413(hub: Hub) -> None:
    padding = "#" + "x" * 1_100_000 + "\n{ viewer { subject } }"
    response = await hub.post(padding, token=hub.token("341126"))
    assert response.status_code == 413


async def test_a_batch_runs_each_operation(hub: Hub) -> None:
    batch = [{"query": "{ viewer { subject } }"}, {"query": '{ region(code: "341126") { name } }'}]
    response = await hub.client.post(
        "/graphql",
        content=json.dumps(batch),
        headers={"authorization": f"Bearer {hub.token('341126')}"},
    )
    assert response.status_code == 200
    assert [item["data"] for item in response.json()] == [
        {"viewer": {"subject": "tester"}},
        {"region": {"name": "凤阳县"}},
    ]


async def test_a_batch_of_more_than_ten_is_refused(hub: Hub) -> None:
    batch = [{"query": "{ viewer { subject } }"}] * 11
    response = await hub.client.post(
        "/graphql",
        content=json.dumps(batch),
        headers={"authorization": f"Bearer {hub.token('341126')}"},
    )
    assert response.status_code == 400


async def test_graphiql_is_served_in_development(hub: Hub) -> None:
    response = await hub.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
