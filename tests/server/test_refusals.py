"""Every refusal carries `extensions.reason`, and every reason the code gives is in the
README's refusal tables, so a page can branch on it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from resolvers.errors import BadUserInput, Forbidden, HubError, Internal, ServiceUnavailable
from tests.conftest import Hub

ROOT = Path(__file__).resolve().parents[2]
# `reason="X"`, `reason: str = "X"` and `"reason": "X"` in the hub's code.
GIVEN = re.compile(r'reason(?:: str)?\s*=\s*"([A-Z_]+)"|"reason":\s*"([A-Z_]+)"')


def _reasons_in_code() -> set[str]:
    found: set[str] = set()
    for folder in ("server", "schema", "resolvers", "db"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in GIVEN.finditer(path.read_text(encoding="utf-8")):
                found.add(match.group(1) or match.group(2))
    return found


def test_every_reason_in_the_code_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([A-Z_]{3,})`", readme))
    reasons = _reasons_in_code()
    assert len(reasons) > 50
    assert sorted(reasons - listed) == []


def test_a_refusal_cannot_be_made_without_a_reason() -> None:
    with pytest.raises(TypeError):
        BadUserInput("no reason")  # type: ignore[call-arg]
    assert Forbidden("x", reason="NOT_EDITOR").extensions == {
        "code": "FORBIDDEN",
        "reason": "NOT_EDITOR",
    }
    assert ServiceUnavailable().extensions == {
        "code": "SERVICE_UNAVAILABLE",
        "reason": "DATABASE_UNAVAILABLE",
    }
    assert "reason" not in (Internal().extensions or {})
    assert issubclass(Internal, HubError)


@pytest.mark.parametrize(
    ("query", "variables", "code", "reason"),
    [
        ("{ nope }", {}, "BAD_USER_INPUT", "INVALID_OPERATION"),
        ("{ region(code: 1) { code } }", {}, "BAD_USER_INPUT", "INVALID_OPERATION"),
        (
            "query ($c: String!) { region(code: $c) { code } }",
            {},
            "BAD_USER_INPUT",
            "INVALID_OPERATION",
        ),
        ('{ region(code: "3411x") { code } }', {}, "BAD_USER_INPUT", "REGION_CODE_MALFORMED"),
        (
            '{ region(code: "3411") { stats { organizations } } }',
            {},
            "FORBIDDEN",
            "BREADCRUMB_ONLY",
        ),
        ("{ serviceRequests(first: 501) { totalCount } }", {}, "BAD_USER_INPUT", "PAGE_SIZE"),
        ('{ serviceRequests(after: "x") { totalCount } }', {}, "BAD_USER_INPUT", "CURSOR_INVALID"),
        ("{ auditLog { totalCount } }", {}, "FORBIDDEN", "AUDITOR_REQUIRED"),
        ('mutation { closeServiceRequest(id: "x") { id } }', {}, "FORBIDDEN", "ROLE_REQUIRED"),
    ],
)
async def test_refusals_over_http_carry_a_reason(
    hub: Hub, query: str, variables: dict[str, str], code: str, reason: str
) -> None:
    body = await hub.query(query, variables)
    error = body["errors"][0]["extensions"]
    assert (error["code"], error["reason"]) == (code, reason), body


async def test_an_editor_closing_an_unknown_request_is_told_record_not_found(hub: Hub) -> None:
    body = await hub.query('mutation { closeServiceRequest(id: "x") { id } }', roles=("editor",))
    error = body["errors"][0]["extensions"]
    assert (error["code"], error["reason"]) == ("NOT_FOUND", "RECORD_NOT_FOUND")
