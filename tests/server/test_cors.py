"""CORS: listed origins' preflights answered outside admission, their answers readable;
any other origin gets no CORS header at all."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from db.setup import Database
from server.settings import Settings, SettingsError, load_settings
from tests.conftest import SECRET, Hub, running

APP = "http://app.example.test:5173"
OTHER = "http://elsewhere.example.test"
QUERY = "{ viewer { subject } }"


@pytest.fixture(scope="module")
async def cors(database: Database, settings: Settings) -> AsyncIterator[Hub]:
    listed = dataclasses.replace(settings, cors_origins=(APP,))
    async with running(database, listed) as hub:
        yield hub


def _cors_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("access-control-")}


@pytest.mark.parametrize("path", ["/graphql", "/exports/organizations.csv", "/reports"])
async def test_a_listed_origin_gets_its_preflight_answered_without_a_token(
    cors: Hub, path: str
) -> None:
    response = await cors.client.options(
        path,
        headers={
            "origin": APP,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP
    assert "authorization" in response.headers["access-control-allow-headers"]


@pytest.mark.parametrize("path", ["/graphql", "/exports/organizations.csv", "/reports"])
async def test_a_listed_origin_can_read_answers_and_the_request_id(cors: Hub, path: str) -> None:
    token = cors.token("341126")
    headers = {"origin": APP, "authorization": f"Bearer {token}"}
    if path == "/graphql":
        response = await cors.client.post(path, json={"query": QUERY}, headers=headers)
    else:
        response = await cors.client.get(path, headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in response.headers["access-control-expose-headers"]
    assert "origin" in response.headers["vary"].lower()
    if path != "/reports":  # GraphQL answers and exports depend on their caller
        assert response.headers["cache-control"] == "private, no-store"


async def test_an_origin_not_listed_gets_no_cors_header(cors: Hub) -> None:
    preflight = await cors.client.options(
        "/graphql", headers={"origin": OTHER, "access-control-request-method": "POST"}
    )
    assert preflight.status_code == 405 and _cors_headers(dict(preflight.headers)) == {}
    answer = await cors.client.post(
        "/graphql",
        json={"query": QUERY},
        headers={"origin": OTHER, "authorization": f"Bearer {cors.token('341126')}"},
    )
    assert answer.status_code == 200 and _cors_headers(dict(answer.headers)) == {}


async def test_no_origin_is_listed_by_default(hub: Hub) -> None:
    preflight = await hub.client.options(
        "/graphql", headers={"origin": APP, "access-control-request-method": "POST"}
    )
    assert _cors_headers(dict(preflight.headers)) == {}


@pytest.mark.parametrize("bad", ["app.example.org", "https://app.example.org/path", "*"])
def test_an_origin_that_is_not_scheme_host_and_port_is_refused(bad: str) -> None:
    with pytest.raises(SettingsError, match="HUB_CORS_ORIGINS"):
        load_settings({"HUB_JWT_SECRET": SECRET, "HUB_CORS_ORIGINS": bad})


def test_origins_are_a_comma_or_space_separated_list() -> None:
    listed = "https://a.example.org, http://b.example.org:8080 https://C.example.org"
    settings = load_settings({"HUB_JWT_SECRET": SECRET, "HUB_CORS_ORIGINS": listed})
    assert settings.cors_origins == (
        "https://a.example.org",
        "http://b.example.org:8080",
        "https://c.example.org",
    )
