"""One JSON access-log line per request, with nothing of what the caller sent in it, and a
request id that ties the line, the response header and every error together."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from db.setup import Database
from server.observe import ACCESS_LOGGER, json_handler
from server.settings import Settings
from tests.conftest import Hub, running

PHONE = "13812345678"
SUBMIT = """mutation Submit($input: SubmitServiceRequestInput!) {
  submitServiceRequest(input: $input) { reference requester { phone } } }"""


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def access_log() -> Iterator[Captured]:
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    try:
        yield Captured(stream)
    finally:
        logger.removeHandler(handler)


async def test_a_request_with_a_phone_number_and_a_token_leaves_neither_in_the_log(
    hub: Hub, access_log: Captured
) -> None:
    token = hub.token("341126101001", roles=("viewer", "editor", "pii"), sub="clerk-7")
    given = {
        "regionCode": "341126101001",
        "category": "HEALTH",
        "channel": "HOTLINE",
        "title": f"请回电 {PHONE}",
        "requesterName": "王五",
        "requesterPhone": PHONE,
    }
    response = await hub.post(SUBMIT, {"input": given}, token=token, **{"x-api-key": PHONE})
    assert response.json()["data"]["submitServiceRequest"]["requester"]["phone"] == PHONE
    # A refusal whose message could echo the input: only its code is logged.
    refused = await hub.post(
        "query Lookup($code: String!) { region(code: $code) { name } }",
        {"code": PHONE},
        token=token,
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # A token that is not valid is not logged either.
    await hub.post("{ viewer { subject } }", token=token + "tampered")

    text = access_log.text
    assert PHONE not in text and "138****5678" not in text
    assert token not in text and token.split(".")[2] not in text and "王五" not in text
    assert "submitServiceRequest" not in text and "requesterPhone" not in text
    first, second, third = access_log.lines
    assert first["logger"] == ACCESS_LOGGER and first["message"] == "request"
    assert first["level"] == "INFO" and first["time"].endswith("+00:00")
    assert first["subject"] == "clerk-7" and first["operations"] == ["Submit"]
    assert first["status"] == 200 and first["errorCodes"] == [] and first["durationMs"] > 0
    assert first["sqlStatements"] >= 1 and first["method"] == "POST" and first["path"] == "/graphql"
    assert second["operations"] == ["Lookup"] and second["errorCodes"] == ["BAD_USER_INPUT"]
    assert third["status"] == 401 and third["subject"] is None
    assert third["errorCodes"] == ["UNAUTHENTICATED"] and third["operations"] == []


async def test_every_request_is_one_line_with_the_id_of_the_response_header(
    hub: Hub, access_log: Captured
) -> None:
    health = await hub.client.get("/healthz")
    answered = await hub.post("{ viewer { subject } }", token=hub.token("341126"))
    lines = access_log.lines
    assert [line["path"] for line in lines] == ["/healthz", "/graphql"]
    assert lines[0]["requestId"] == health.headers["x-request-id"]
    assert lines[1]["requestId"] == answered.headers["x-request-id"]
    assert health.headers["x-request-id"] != answered.headers["x-request-id"]


async def test_a_sane_incoming_request_id_is_kept_everywhere(
    hub: Hub, access_log: Captured
) -> None:
    given = "edge-7f3a9c:01.2"
    response = await hub.post(
        '{ region(code: "3411") { stats { organizations } } }',
        token=hub.token("341126"),
        **{"x-request-id": given},
    )
    assert response.headers["x-request-id"] == given
    error = response.json()["errors"][0]
    assert error["extensions"] == {
        "code": "FORBIDDEN",
        "reason": "BREADCRUMB_ONLY",
        "requestId": given,
    }
    assert access_log.lines[0]["requestId"] == given


@pytest.mark.parametrize(
    "given",
    ["has space", "x" * 101, "", "id\u00e9", f"caller-{PHONE}", "a;b", "130000000000000000"],
)
async def test_an_unsafe_incoming_request_id_is_replaced(
    hub: Hub, access_log: Captured, given: str
) -> None:
    response = await hub.client.get("/healthz", headers=[(b"x-request-id", given.encode())])
    made = response.headers["x-request-id"]
    assert made != given and len(made) == 32
    assert access_log.lines[0]["requestId"] == made and (not given or given not in access_log.text)


async def test_refusals_before_execution_carry_the_request_id(hub: Hub) -> None:
    token = hub.token("341126")
    unauthenticated = await hub.post("{ viewer { subject } }")
    malformed = await hub.client.post(
        "/graphql", content=b"{no", headers={"authorization": f"Bearer {token}"}
    )
    too_large = await hub.post("#" + "x" * 1_100_000 + "\n{ viewer { subject } }", token=token)
    syntax = await hub.post("{ region(code: ", token=token)
    for response, status in (
        (unauthenticated, 401),
        (malformed, 400),
        (too_large, 413),
        (syntax, 400),
    ):
        assert response.status_code == status
        errors = response.json()["errors"]
        assert errors and all(
            e["extensions"]["requestId"] == response.headers["x-request-id"] for e in errors
        )


async def test_each_operation_of_a_batch_carries_the_request_id(hub: Hub) -> None:
    batch = [
        {"query": "{ viewer { subject } }"},
        {"query": '{ region(code: "x") { name } }'},
        {"variables": {}},
    ]
    response = await hub.client.post(
        "/graphql", json=batch, headers={"authorization": f"Bearer {hub.token('341126')}"}
    )
    request_id = response.headers["x-request-id"]
    first, second, third = response.json()
    assert "errors" not in first
    assert second["errors"][0]["extensions"]["requestId"] == request_id
    assert third["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "reason": "REQUEST_MALFORMED",
        "requestId": request_id,
    }


async def test_the_access_log_can_be_switched_off(
    database: Database, settings: Settings, access_log: Captured
) -> None:
    async with running(database, dataclasses.replace(settings, access_log=False)) as hub:
        response = await hub.post("{ viewer { subject } }", token=hub.token("341126"))
        assert response.status_code == 200 and response.headers["x-request-id"]
    assert access_log.text == ""
