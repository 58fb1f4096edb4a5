"""Real headless chromium against the hub on a real port: a page from another origin, the
offline IDE, and persisted queries as a browser sends them."""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from db import allowlist
from db.setup import Database
from schema.documents import DOCUMENTS_DIR, sha256
from server.app import create_app
from server.auth import issue
from server.settings import Settings
from tests.browser.harness import PAGES, Browser, served

LISTED = "listed-browser-tool"
QUERY = '{ region(code: "341126") { code name } }'


@dataclass(frozen=True)
class Origins:
    hub: str
    page: str
    settings: Settings

    def token(self, sub: str = "browser", client: str | None = None) -> str:
        return issue(self.settings, sub, ["341126"], ("viewer",), client=client)


@pytest.fixture(scope="module")
async def origins(database: Database, settings: Settings) -> AsyncIterator[Origins]:
    owner = await asyncpg.connect(database.owner_dsn)
    await allowlist.add(owner, LISTED)
    await owner.close()
    with ExitStack() as stack:
        pages = Starlette(routes=[Mount("/", app=StaticFiles(directory=PAGES))])
        page = stack.enter_context(served(pages, host="localhost"))
        listed = dataclasses.replace(settings, cors_origins=(page,))
        hub = stack.enter_context(served(create_app(listed, database=database)))
        yield Origins(hub, page, listed)


def _ext(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def test_a_page_from_another_origin_queries_the_hub_with_a_token(
    browser: Browser, origins: Origins
) -> None:
    fragment = urllib.parse.urlencode({"hub": origins.hub, "token": origins.token()})
    browser.open(f"{origins.page}/app.html#{fragment}")
    assert browser.text_of("#out", "341126").startswith("341126 安徽省")


def test_the_ide_loads_with_every_other_host_unreachable_and_runs_a_query(
    browser: Browser, origins: Origins
) -> None:
    browser.open(f"{origins.hub}/graphql")
    headers = json.dumps({"Authorization": f"Bearer {origins.token('ide-user')}"})
    browser.driver.execute_script(
        "sessionStorage.setItem('hub-ide:headers', arguments[0]);"
        "sessionStorage.setItem('hub-ide:query', arguments[1]);",
        headers,
        "query Me { viewer { subject } }",
    )
    browser.driver.refresh()
    browser.click(".graphiql-execute-button")
    assert '"subject": "ide-user"' in browser.text_of(".result-window", "ide-user")
    requested = browser.requested()
    assert f"{origins.hub}/static/ide/graphiql.min.js" in requested
    left = [u for u in requested if not u.startswith((origins.hub + "/", "data:", "blob:"))]
    assert left == [], f"requests left the origin: {left}"


def test_a_persisted_query_runs_by_hash_over_get(browser: Browser, origins: Origins) -> None:
    browser.open(f"{origins.page}/app.html")
    auth = {"authorization": f"Bearer {origins.token('by-hash')}"}
    digest = next(iter(json.loads((DOCUMENTS_DIR / "dashboard.json").read_text())["documents"]))
    url = f"{origins.hub}/graphql?" + urllib.parse.urlencode(
        {"extensions": json.dumps(_ext(digest))}
    )
    trusted = browser.fetch(url, {"headers": auth})
    assert trusted["status"] == 200 and trusted["body"]["data"]["viewer"]["subject"] == "by-hash"
    # The protocol: a miss, the registration by POST, then the hit by GET.
    apq = f"{origins.hub}/graphql?" + urllib.parse.urlencode(
        {"extensions": json.dumps(_ext(sha256(QUERY)))}
    )
    miss = browser.fetch(apq, {"headers": auth})
    assert miss["body"]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    body = json.dumps({"query": QUERY, "extensions": _ext(sha256(QUERY))})
    post = {"method": "POST", "headers": {**auth, "content-type": "application/json"}}
    assert browser.fetch(f"{origins.hub}/graphql", {**post, "body": body})["status"] == 200
    hit = browser.fetch(apq, {"headers": auth})
    assert hit["status"] == 200 and hit["body"]["data"]["region"]["code"] == "341126"


def test_a_forged_hash_is_refused(browser: Browser, origins: Origins) -> None:
    browser.open(f"{origins.page}/app.html")
    auth = {"authorization": f"Bearer {origins.token('forger')}"}
    forged = json.dumps({"query": QUERY, "extensions": _ext(sha256("{ viewer { subject } }"))})
    init = {"method": "POST", "headers": {**auth, "content-type": "application/json"}}
    answer = browser.fetch(f"{origins.hub}/graphql", {**init, "body": forged})
    extensions = answer["body"]["errors"][0]["extensions"]
    assert (answer["status"], extensions["reason"]) == (400, "PERSISTED_QUERY_HASH_MISMATCH")


def test_an_allow_listed_client_cannot_register(browser: Browser, origins: Origins) -> None:
    browser.open(f"{origins.page}/app.html")
    auth = {"authorization": f"Bearer {origins.token('tool', client=LISTED)}"}
    registration = json.dumps({"query": QUERY, "extensions": _ext(sha256(QUERY))})
    init = {"method": "POST", "headers": {**auth, "content-type": "application/json"}}
    answer = browser.fetch(f"{origins.hub}/graphql", {**init, "body": registration})
    extensions = answer["body"]["errors"][0]["extensions"]
    assert (answer["status"], extensions["reason"]) == (403, "REGISTRATION_REFUSED")
