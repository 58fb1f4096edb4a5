"""Production mode, JWKS-signed tokens and the gateway credential."""

import dataclasses
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from db.setup import Database
from server.settings import Settings
from tests.conftest import Hub, running

GATEWAY_SECRET = "gateway-secret-that-is-long-enough-1234"


@pytest.fixture(scope="module")
async def production(database: Database, settings: Settings) -> AsyncIterator[Hub]:
    hardened = dataclasses.replace(settings, env="production", gateway_secret=GATEWAY_SECRET)
    async with running(database, hardened) as hub:
        yield hub


async def test_production_refuses_introspection(production: Hub) -> None:
    body = (
        await production.post("{ __schema { types { name } } }", token=production.token("341126"))
    ).json()
    assert "data" not in body or body["data"] is None
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_production_gives_no_field_suggestions(production: Hub) -> None:
    body = (
        await production.post(
            '{ region(code: "341126") { nam } }', token=production.token("341126")
        )
    ).json()
    assert "Did you mean" not in body["errors"][0]["message"]


async def test_production_serves_no_graphiql(production: Hub) -> None:
    response = await production.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404 and "<script" not in response.text
    assert response.json()["errors"][0]["extensions"]["reason"] == "IDE_OFF"


async def test_development_suggests_fields(hub: Hub) -> None:
    body = (await hub.post('{ region(code: "341126") { nam } }', token=hub.token("341126"))).json()
    assert "Did you mean" in body["errors"][0]["message"]


async def test_the_gateway_credential_alone_reads_service_only(production: Hub) -> None:
    headers = {"x-gateway-token": GATEWAY_SECRET}
    sdl = (await production.post("{ _service { sdl } }", **headers)).json()
    assert "type Region" in sdl["data"]["_service"]["sdl"]
    refused = await production.post('{ region(code: "341126") { name } }', **headers)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_wrong_gateway_credential_is_refused_even_with_a_token(production: Hub) -> None:
    response = await production.post(
        "{ viewer { subject } }",
        token=production.token("341126"),
        **{"x-gateway-token": "not-the-secret"},
    )
    assert response.status_code == 401


async def test_a_gateway_forwarding_a_token_reads_as_that_caller(production: Hub) -> None:
    response = await production.post(
        "{ viewer { subject } }",
        token=production.token("341126", sub="resident-office"),
        **{"x-gateway-token": GATEWAY_SECRET},
    )
    assert response.json() == {"data": {"viewer": {"subject": "resident-office"}}}


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _Keys(BaseHTTPRequestHandler):
    document: bytes = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return _rsa()


@pytest.fixture(scope="module")
def jwks_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    _Keys.document = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]}).encode()
    server = HTTPServer(("127.0.0.1", 0), _Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
async def with_jwks(database: Database, settings: Settings, jwks_url: str) -> AsyncIterator[Hub]:
    async with running(database, dataclasses.replace(settings, jwks_url=jwks_url)) as hub:
        yield hub


def _claims() -> dict[str, Any]:
    return {
        "sub": "sso-user",
        "exp": int(time.time()) + 300,
        "jti": "x",
        "jurisdictions": ["341126"],
        "roles": ["viewer"],
        "scope": "viewer",
    }


async def test_a_token_signed_by_a_jwks_key_is_accepted(
    with_jwks: Hub, signing_key: rsa.RSAPrivateKey
) -> None:
    token = jwt.encode(_claims(), signing_key, algorithm="RS256", headers={"kid": "k1"})
    body = (await with_jwks.post("{ viewer { subject } }", token=token)).json()
    assert body == {"data": {"viewer": {"subject": "sso-user"}}}


async def test_a_token_signed_by_another_key_with_a_known_kid_is_refused(with_jwks: Hub) -> None:
    token = jwt.encode(_claims(), _rsa(), algorithm="RS256", headers={"kid": "k1"})
    assert (await with_jwks.post("{ viewer { subject } }", token=token)).status_code == 401


async def test_hs256_signed_with_the_public_key_is_refused(
    with_jwks: Hub, signing_key: rsa.RSAPrivateKey
) -> None:
    public = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    payload = jwt.utils.base64url_encode(json.dumps(_claims()).encode())
    import hashlib
    import hmac

    signature = jwt.utils.base64url_encode(
        hmac.new(public, header + b"." + payload, hashlib.sha256).digest()
    )
    token = (header + b"." + payload + b"." + signature).decode()
    assert (await with_jwks.post("{ viewer { subject } }", token=token)).status_code == 401
