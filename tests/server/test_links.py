"""One-time links (DESIGN.md §8), over HTTP through the app: asked for with a token, redeemed
once without one, refused when used, expired, unknown or revoked; and the dashboard's
development sign-in link, made by the CLI and redeemed at POST /auth/link."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import json
import os
import secrets
import sys
import time
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from db import allowlist
from db.setup import Database
from server.auth import issue
from server.settings import RateLimits, Settings, SettingsError, load_settings
from tests.conftest import SECRET, Hub, running
from tests.server.test_cli import grassroots

TOWNSHIP = "341126101"
REQUESTS = "/exports/service-requests.csv"


def _jti(token: str) -> str:
    return str(jwt.decode(token, SECRET, algorithms=["HS256"])["jti"])


async def _link(hub: Hub, token: str, path: str, query: str = "") -> httpx.Response:
    return await hub.client.post(
        "/exports/links",
        json={"path": path, "query": query},
        headers={"authorization": f"Bearer {token}"},
    )


async def _url(hub: Hub, token: str, path: str, query: str = "") -> str:
    response = await _link(hub, token, path, query)
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url


def _refusal(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["errors"][0]
    return response.status_code, error["extensions"]["code"], error["extensions"]["reason"]


def _private(response: httpx.Response) -> None:
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["referrer-policy"] == "no-referrer"


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


async def test_a_link_streams_the_export_once_as_the_direct_export_and_is_audited(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = hub.token("341126", sub="link-clerk")
    asked = await _link(hub, token, REQUESTS, f"under={TOWNSHIP}&statuses=RESOLVED,CLOSED")
    assert asked.status_code == 200, asked.text
    _private(asked)
    url, expires = asked.json()["url"], asked.json()["expiresAt"]
    assert url.startswith("http://hub/exports/links/") and expires.endswith("+08:00")
    lifetime = dt.datetime.fromisoformat(expires) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=290) < lifetime <= dt.timedelta(seconds=300)

    direct = await hub.client.get(
        REQUESTS,
        params={"statuses": "RESOLVED,CLOSED", "under": TOWNSHIP},
        headers={"authorization": f"Bearer {token}"},
    )
    first = await hub.client.get(url)  # no Authorization: the nonce is the credential
    assert first.status_code == 200, first.text
    _private(first)
    assert first.headers["content-disposition"].startswith("attachment;")
    assert first.content == direct.content and len(_rows(first.content)) > 0

    again = await hub.client.get(url)
    assert _refusal(again) == (401, "UNAUTHENTICATED", "LINK_USED")
    _private(again)

    entries = await owner.fetch(
        "select after from audit_log where actor = 'link-clerk' and operation = 'export' "
        "order by at"
    )
    details = [json.loads(e["after"]) for e in entries]
    direct_entries = [d for d in details if "via" not in d]
    linked = [d for d in details if d.get("via") == "link"]
    assert len(linked) == len(direct_entries) == len(details) / 2 > 0
    assert [d | {"via": "link"} for d in direct_entries] == linked
    assert linked[0]["parameters"] == {"statuses": "RESOLVED,CLOSED", "under": TOWNSHIP}
    assert linked[0]["rows"] == len(_rows(first.content)) and linked[0]["complete"]


async def test_two_redemptions_at_once_stream_once(hub: Hub) -> None:
    url = await _url(hub, hub.token("341126"), "/exports/organizations.csv", f"under={TOWNSHIP}")
    answers = await asyncio.gather(hub.client.get(url), hub.client.get(url))
    assert sorted(a.status_code for a in answers) == [200, 401]
    refused = next(a for a in answers if a.status_code == 401)
    assert _refusal(refused)[2] == "LINK_USED"


async def test_expired_unknown_and_revoked_links_are_refused_at_the_door(
    hub: Hub, owner: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    token = hub.token("341126", sub="link-refusals")
    expired = await _url(hub, token, "/exports/organizations.csv")
    await owner.execute(
        "update one_time_link set created_at = now() - interval '10 minutes', "
        "expires_at = now() - interval '5 minutes' where subject = 'link-refusals'"
    )
    assert _refusal(await hub.client.get(expired)) == (401, "UNAUTHENTICATED", "LINK_EXPIRED")

    for nonce in (secrets.token_urlsafe(32), "not-a-nonce"):
        unknown = await hub.client.get(f"/exports/links/{nonce}")
        assert _refusal(unknown) == (401, "UNAUTHENTICATED", "LINK_UNKNOWN")
        _private(unknown)
    # The access log names the route, never a nonce.
    logged = [getattr(r, "path", "") for r in caplog.records if r.name == "hub.access"]
    assert "/exports/links/…" in logged
    assert not any(p.startswith("/exports/links/") and p != "/exports/links/…" for p in logged)

    revoked = await _url(hub, token, "/exports/organizations.csv")
    await owner.execute("select revoke_token($1, null, 'test')", _jti(token))
    assert _refusal(await hub.client.get(revoked)) == (401, "UNAUTHENTICATED", "TOKEN_REVOKED")


async def test_a_link_lives_no_longer_than_its_token(hub: Hub) -> None:
    token = hub.token("341126", ttl=120)
    answer = await _link(hub, token, "/exports/organizations.csv")
    exp = jwt.decode(token, SECRET, algorithms=["HS256"])["exp"]
    assert dt.datetime.fromisoformat(answer.json()["expiresAt"]).timestamp() == exp


async def test_a_link_yields_only_what_its_caller_can_read(hub: Hub) -> None:
    township = hub.token(TOWNSHIP)
    county_wide = await _url(hub, township, REQUESTS, "under=341126&lang=en")
    rows = _rows((await hub.client.get(county_wide)).content)
    assert rows and {r["township_code"] for r in rows} == {TOWNSHIP}

    foreign = await _url(hub, township, REQUESTS, "under=341125")
    assert _rows((await hub.client.get(foreign)).content) == []

    above = await _link(hub, township, "/exports/breakdown.csv", "by=CHILD&under=341126")
    assert _refusal(above) == (403, "FORBIDDEN", "ABOVE_JURISDICTION")


async def test_only_export_files_with_good_parameters_get_links(hub: Hub) -> None:
    token = hub.token("341126")
    for path in ("/graphql", "/exports/links/x", "/reports", "/exports/../graphql"):
        assert _refusal(await _link(hub, token, path)) == (
            400,
            "BAD_USER_INPUT",
            "LINK_TARGET_REFUSED",
        ), path
    assert _refusal(await _link(hub, token, "/exports/nope.csv"))[2] == "EXPORT_NOT_FOUND"
    bad = await _link(hub, token, REQUESTS, "statuses=NOPE")
    assert _refusal(bad) == (400, "BAD_USER_INPUT", "UNKNOWN_VALUE")
    assert _refusal(await _link(hub, token, "/exports/breakdown.csv"))[2] == "BREAKDOWN_REQUIRED"
    no_token = await hub.client.post("/exports/links", json={"path": REQUESTS})
    assert _refusal(no_token) == (401, "UNAUTHENTICATED", "TOKEN_MISSING")
    malformed = await hub.client.post(
        "/exports/links", content=b"[]", headers={"authorization": f"Bearer {token}"}
    )
    assert _refusal(malformed)[2] == "REQUEST_MALFORMED"
    huge = await _link(hub, token, REQUESTS, "text=" + "x" * 20_000)
    assert _refusal(huge) == (400, "BAD_USER_INPUT", "REQUEST_MALFORMED")


async def test_a_head_request_does_not_spend_the_link(hub: Hub) -> None:
    url = await _url(hub, hub.token("341126"), "/exports/breakdown.csv", "by=CHILD&under=341126")
    assert (await hub.client.head(url)).status_code == 405
    opened = await hub.client.get(url)
    assert opened.status_code == 200 and "合计" in opened.content.decode("utf-8-sig")


async def test_no_link_without_jti_the_ttl_and_rate_limit_hold_and_production_signs_in_none(
    database: Database, settings: Settings, owner: asyncpg.Connection
) -> None:
    quick = dataclasses.replace(
        settings,
        env="production",
        require_jti=False,
        link_ttl_seconds=1,
        rate_limits=RateLimits(township=2),
        public_url="https://hub.example.org/hub",
    )
    async with running(database, quick) as hub:
        # Production has no sign-in links.
        off = await hub.client.post("/auth/link", json={"nonce": secrets.token_urlsafe(32)})
        assert _refusal(off) == (404, "NOT_FOUND", "SIGN_IN_LINKS_OFF")
        # The rate limit refuses a link's caller as it would the token, without spending it.
        limited = hub.token(TOWNSHIP, sub="link-limited")
        url = await _url(hub, limited, "/exports/organizations.csv")
        assert url.startswith("https://hub.example.org/hub/exports/links/")  # HUB_PUBLIC_URL
        await _url(hub, limited, "/exports/organizations.csv")
        served = url.removeprefix("https://hub.example.org/hub")
        assert _refusal(await hub.client.get(served))[:2] == (429, "RATE_LIMITED")
        spent = "select count(*) from one_time_link where subject = $1 and used_at is not null"
        assert await owner.fetchval(spent, "link-limited") == 0

        now = int(time.time())
        claims: dict[str, Any] = {"sub": "no-jti", "exp": now + 600, "iat": now}
        claims |= {"jurisdictions": ["341126"], "roles": ["viewer"]}
        without = jwt.encode(claims, SECRET, algorithm="HS256")
        assert _refusal(await _link(hub, without, "/exports/organizations.csv")) == (
            403,
            "FORBIDDEN",
            "LINK_NEEDS_JTI",
        )
        url = await _url(hub, hub.token("341126"), "/exports/organizations.csv")
        await asyncio.sleep(1.1)
        served = url.removeprefix("https://hub.example.org/hub")
        assert _refusal(await hub.client.get(served))[2] == "LINK_EXPIRED"


async def test_the_dashboard_sign_in_link_is_redeemed_once_for_a_short_lived_token(
    hub: Hub, database: Database
) -> None:
    code, out, err = await grassroots(
        "token", "--dashboard", "--sub", "dash-dev", "--jurisdiction", "341126",
        "--role", "viewer", "--ttl", "86400", database=database,
    )  # fmt: skip
    assert code == 0, err
    printed = out.strip()
    assert printed.startswith("http://127.0.0.1:8000/dashboard#link=")
    nonce = printed.split("#link=", 1)[1]
    assert "." not in nonce  # a nonce, not a JWT

    signed_in = await hub.client.post("/auth/link", json={"nonce": nonce})
    assert signed_in.status_code == 200, signed_in.text
    _private(signed_in)
    token = signed_in.json()["token"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "dash-dev" and claims["jti"]
    assert claims["exp"] - time.time() <= 3600
    assert signed_in.json()["expiresAt"].endswith("+08:00")
    answer = await hub.post("{ viewer { subject } }", token=token)
    assert answer.json()["data"]["viewer"]["subject"] == "dash-dev"

    again = await hub.client.post("/auth/link", json={"nonce": nonce})
    assert _refusal(again) == (401, "UNAUTHENTICATED", "LINK_USED")
    # A download link's nonce does not sign anybody in.
    download = await _url(hub, hub.token("341126"), "/exports/organizations.csv")
    other = await hub.client.post("/auth/link", json={"nonce": download.rsplit("/", 1)[1]})
    assert _refusal(other) == (401, "UNAUTHENTICATED", "LINK_UNKNOWN")


async def test_production_refuses_dashboard_sign_in_links() -> None:
    env = {**os.environ, "HUB_ENV": "production", "HUB_JWT_SECRET": SECRET}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "token", "--dashboard", "--sub", "x",
        "--jurisdiction", "341126", "--role", "viewer",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 2 and out == b""
    assert b"development only" in err


@pytest.mark.parametrize(
    ("given", "public_url", "ttl"),
    [
        ({}, None, 300),
        ({"HUB_PUBLIC_URL": "https://hub.example.org/", "HUB_LINK_TTL_SECONDS": "60"},
         "https://hub.example.org", 60),
        ({"HUB_PUBLIC_URL": "ftp://hub.example.org"}, "HUB_PUBLIC_URL", None),
        ({"HUB_PUBLIC_URL": "https://hub.example.org/?a=1"}, "HUB_PUBLIC_URL", None),
        ({"HUB_LINK_TTL_SECONDS": "0"}, "HUB_LINK_TTL_SECONDS", None),
    ],
)  # fmt: skip
def test_link_settings(given: dict[str, str], public_url: str | None, ttl: int | None) -> None:
    environ = {"HUB_ENV": "development", "HUB_JWT_SECRET": SECRET, **given}
    if ttl is None:
        with pytest.raises(SettingsError, match=str(public_url)):
            load_settings(environ)
        return
    loaded = load_settings(environ)
    assert (loaded.public_url, loaded.link_ttl_seconds) == (public_url, ttl)


REPORT = "/reports/monthly-rates-by-child.v2.csv"
REPORT_QUERY = "region=341126&from=2026-01-01&to=2026-03-31"


async def test_a_report_file_link_gives_the_report_file_and_admits_an_allowlisted_client(
    hub: Hub, owner: asyncpg.Connection
) -> None:
    token = hub.token("341126")
    direct = await hub.client.get(
        f"{REPORT}?{REPORT_QUERY}", headers={"authorization": f"Bearer {token}"}
    )
    opened = await hub.client.get(await _url(hub, token, REPORT, REPORT_QUERY))
    assert direct.status_code == opened.status_code == 200
    assert opened.content == direct.content and len(_rows(opened.content)) > 1
    bad = await _link(hub, token, REPORT, "region=341126&nope=1")
    assert _refusal(bad) == (400, "BAD_USER_INPUT", "UNKNOWN_PARAMETER")
    missing = await _link(hub, token, "/reports/no-such-report.v1.csv", REPORT_QUERY)
    assert _refusal(missing) == (404, "NOT_FOUND", "REPORT_NOT_FOUND")

    # A client limited to registered reports gets report-file links, not export links.
    await allowlist.add(owner, "links-power-query")
    listed = issue(hub.settings, "pq", ["341126"], ["viewer"], client="links-power-query")
    assert (await hub.client.get(await _url(hub, listed, REPORT, REPORT_QUERY))).status_code == 200
    refused = await _link(hub, listed, "/exports/organizations.csv")
    assert _refusal(refused) == (403, "FORBIDDEN", "REPORT_REQUIRED")
