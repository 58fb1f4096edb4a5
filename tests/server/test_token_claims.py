"""An identity provider's tokens: claim names as settings, and tokens without `jti`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest

from db.setup import Database
from server.settings import Settings, SettingsError, load_settings
from tests.conftest import SECRET, Hub, running

QUERY = "{ viewer { subject roles jurisdictions { code } } }"


def _token(**claims: Any) -> str:
    base: dict[str, Any] = {"sub": "idp-user", "exp": int(time.time()) + 600}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


@pytest.fixture(scope="module")
async def mapped(database: Database, settings: Settings) -> AsyncIterator[Hub]:
    idp = dataclasses.replace(
        settings,
        jwt_jurisdictions_claim="https://hub.example/regions",
        jwt_roles_claim="hub_roles",
        jwt_grants_claim="hub_grants",
        require_jti=False,
    )
    async with running(database, idp) as hub:
        yield hub


async def test_claim_names_map_an_identity_providers_token(mapped: Hub) -> None:
    token = _token(**{"https://hub.example/regions": ["341126"], "hub_roles": ["viewer"]})
    body = (await mapped.post(QUERY, token=token)).json()
    assert body["data"]["viewer"] == {
        "subject": "idp-user",
        "roles": ["viewer"],
        "jurisdictions": [{"code": "341126"}],
    }


async def test_the_grants_claim_name_is_a_setting_too(mapped: Hub) -> None:
    token = _token(hub_grants=[{"region": "341126", "roles": ["viewer"]}])
    body = (await mapped.post(QUERY, token=token)).json()
    assert body["data"]["viewer"]["jurisdictions"] == [{"code": "341126"}]


async def test_the_default_claim_names_no_longer_apply_once_renamed(mapped: Hub) -> None:
    token = _token(jurisdictions=["341126"], roles=["viewer"])
    response = await mapped.post(QUERY, token=token)
    assert response.status_code == 401


async def test_a_token_without_jti_is_refused_by_default(hub: Hub) -> None:
    response = await hub.post(QUERY, token=_token(jurisdictions=["341126"], roles=["viewer"]))
    extensions = response.json()["errors"][0]["extensions"]
    assert response.status_code == 401 and extensions["reason"] == "TOKEN_INVALID"
    assert "jti" in response.json()["errors"][0]["message"]


async def test_a_token_without_jti_is_admitted_when_not_required(mapped: Hub) -> None:
    token = _token(**{"https://hub.example/regions": ["341126"], "hub_roles": ["viewer"]})
    assert "jti" not in jwt.decode(token, options={"verify_signature": False})
    assert (await mapped.post(QUERY, token=token)).status_code == 200


def test_claim_settings_are_read_and_checked() -> None:
    environ = {
        "HUB_JWT_SECRET": SECRET,
        "HUB_JWT_ROLES_CLAIM": "realm_roles",
        "HUB_REQUIRE_JTI": "false",
    }
    settings = load_settings(environ)
    assert (settings.jwt_roles_claim, settings.require_jti) == ("realm_roles", False)
    assert load_settings({"HUB_JWT_SECRET": SECRET}).require_jti is True
    with pytest.raises(SettingsError, match="HUB_JWT_GRANTS_CLAIM"):
        load_settings({"HUB_JWT_SECRET": SECRET, "HUB_JWT_GRANTS_CLAIM": "two words"})
