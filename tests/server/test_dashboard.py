"""The dashboard page: served without a token under its own Content-Security-Policy, light
enough to load on an intranet, its documents generated from its queries, and where to get
a token said (escaped) when an identity provider signs them."""

from __future__ import annotations

import dataclasses
import gzip
import re

import pytest

from schema.build import build_schema
from schema.documents import dashboard_build, sha256
from server.dashboard import DASHBOARD_DIR, PAGE, POLICY, page_html
from server.settings import Settings
from tests.conftest import Hub

POLICY_EXACTLY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
MAX_GZIPPED_BYTES = 1_500_000


def test_the_policy_is_exactly_the_issues() -> None:
    assert POLICY == POLICY_EXACTLY


async def test_the_page_is_served_without_a_token_under_its_policy(hub: Hub) -> None:
    response = await hub.client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == POLICY_EXACTLY
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/static/dashboard/app.js">' in response.text


@pytest.mark.parametrize(
    "path", ["/static/dashboard/app.js", "/static/dashboard/vendor/echarts.common.min.js"]
)
async def test_its_assets_carry_the_policy_too(hub: Hub, path: str) -> None:
    response = await hub.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == POLICY_EXACTLY
    assert (await hub.client.get("/static/dashboard/missing.js")).status_code == 404


async def test_the_root_opens_the_dashboard_and_docs_the_ide(hub: Hub) -> None:
    assert (await hub.client.get("/")).headers["location"] == "/dashboard"
    assert (await hub.client.get("/docs")).headers["location"] == "/graphql"


def test_the_page_has_no_inline_script_or_style() -> None:
    for page in [PAGE, *DASHBOARD_DIR.glob("*.html")]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), page.name
        assert "<style" not in text and " style=" not in text and " on" + "click=" not in text


def test_the_page_code_builds_no_html_from_strings() -> None:
    for module in DASHBOARD_DIR.glob("*.js"):
        text = module.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{module.name} uses {sink}"


def test_the_pages_assets_weigh_under_one_and_a_half_megabytes_gzipped() -> None:
    shipped = [p for p in DASHBOARD_DIR.rglob("*") if p.is_file() and "licenses" not in p.parts]
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in shipped)
    print(f"dashboard assets: {len(shipped)} files, {total:,} bytes gzipped")
    assert total < MAX_GZIPPED_BYTES


def test_the_chart_library_needs_no_eval_outside_map_loading() -> None:
    # ECharts' one `new Function` parses a GeoJSON string for maps, which the page never loads.
    text = (DASHBOARD_DIR / "vendor" / "echarts.common.min.js").read_text(encoding="utf-8")
    assert "eval(" not in text and "new Function" not in text


def test_the_generated_documents_and_definitions_are_fresh() -> None:
    schema = build_schema()._schema
    stale = "dashboard/queries or the schema changed: run scripts/build-dashboard and commit"
    assert dashboard_build.MANIFEST.read_text(encoding="utf-8") == (
        dashboard_build.manifest_text()
    ), stale
    assert dashboard_build.MODULE.read_text(encoding="utf-8") == (
        dashboard_build.module_text(schema)
    ), stale


def test_the_page_says_where_to_get_a_token_when_an_identity_provider_signs_them(
    settings: Settings,
) -> None:
    assert 'content=""' in page_html(settings)
    issuer = 'https://id.example.org/"><script>'
    provider = dataclasses.replace(
        settings, jwks_url="https://id.example.org/jwks", jwt_issuer=issuer
    )
    text = page_html(provider)
    assert 'content="https://id.example.org/&quot;&gt;&lt;script&gt;"' in text
    assert "<script>" not in text


async def test_the_pages_documents_run_for_any_admitted_caller(hub: Hub) -> None:
    digest = sha256(dashboard_build.documents()["DashboardRegion"])
    answer = await hub.client.post(
        "/graphql",
        json={
            "operationName": "DashboardRegion",
            "variables": {"code": "341126", "from": "2026-10-01", "to": "2026-10-31"},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        },
        headers={"authorization": f"Bearer {hub.token('341126', sub='any-client')}"},
    )
    body = answer.json()
    assert "errors" not in body
    assert body["data"]["region"]["stats"]["serviceRequests"]["total"] > 0
    refused = await hub.client.post(
        "/graphql", json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    )
    assert refused.status_code == 401
