"""The dashboard in real headless chromium against the hub on a real port: signing in, the
county's three rates against the API, drilling down to a township and a village and back,
switching the period, names shown as text, and no request leaving the hub's origin."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from db.links import store
from db.setup import Database
from server.app import create_app
from server.auth import issue
from server.link_cli import sign_in_claims
from server.settings import Settings
from tests.browser.harness import WAIT_SECONDS, Browser, served
from tests.conftest import FOREIGN_COUNTY

COUNTY = "341126"
PLANTED = '<img src=x onerror="window.__planted=1">'
SCREENSHOTS = os.environ.get("HUB_TEST_SCREENSHOTS")  # a folder: save the README's screenshots
RATES = ("responseRate", "resolutionRate", "satisfactionRate")
FIGURES = """query Figures($code: String!, $from: Date, $to: Date) {
  region(code: $code) { stats(from: $from, to: $to) {
    serviceRequests { responseRate resolutionRate satisfactionRate }
    previous { stats { serviceRequests { responseRate resolutionRate satisfactionRate } } } } } }"""


@pytest.fixture(scope="module")
async def planted(database: Database) -> str:
    """A township whose name is markup, as a lower-level editor or an import could write it."""
    owner = await asyncpg.connect(database.owner_dsn)
    try:
        code: str = await owner.fetchval(
            "select code from region where code like $1 and length(code) = 9 order by code "
            "offset 1 limit 1",
            COUNTY + "%",
        )
        await owner.execute("update region set name = $1 where code = $2", PLANTED, code)
        # A village set up today under the first township: it has never reported anything.
        await owner.execute(
            "insert into region (code, parent_code, level, name, full_name, path) "
            "select code || '999', code, 'VILLAGE', '新设村', full_name || '新设村', "
            "path || (code || '999') from region "
            "where code like $1 and length(code) = 9 order by code limit 1",
            COUNTY + "%",
        )
    finally:
        await owner.close()
    return code


@pytest.fixture(scope="module")
def hub(database: Database, settings: Settings, planted: str) -> Iterator[str]:
    with served(create_app(settings, database=database)) as origin:
        yield origin


@pytest.fixture(scope="module")
async def sign_in_links(database: Database, settings: Settings) -> list[str]:
    """Two one-time sign-in links' nonces for the county office, minted as
    `grassroots token --dashboard --sub county-office --jurisdiction 341126 --role viewer`."""
    args = argparse.Namespace(
        sub="county-office", jurisdiction=[COUNTY], role=["viewer"], ttl=600, client=None
    )
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.link_ttl_seconds)
    owner = await asyncpg.connect(database.owner_dsn)
    try:
        nonces = []
        for _ in range(2):
            claims = sign_in_claims(args)
            nonces.append(
                await store(owner, "sign_in", "county-office", claims["jti"], claims, None, expires)
            )
        return nonces
    finally:
        await owner.close()


def token(settings: Settings) -> str:
    return issue(settings, "county-office", [COUNTY], ("viewer",))


def shown(browser: Browser, prefix: str, containing: str = "") -> str:
    """Waits until the page has shown every figure of a region and period: `<code>:<period>`
    starting with `prefix` and containing `containing`."""
    deadline = time.monotonic() + WAIT_SECONDS
    seen = ""
    while time.monotonic() < deadline:
        seen = browser.driver.execute_script("return document.body.dataset.shown || ''")
        if seen.startswith(prefix) and containing in seen:
            return str(seen)
        time.sleep(0.05)
    raise AssertionError(f"the page never showed {prefix!r}; it showed {seen!r}")


def tiles(browser: Browser) -> dict[str, str]:
    """Each tile's rate and, after a space, the previous period's."""
    found: dict[str, str] = browser.driver.execute_script(
        "const out = {}; for (const t of document.querySelectorAll('#tiles [data-rate]'))"
        " out[t.dataset.rate] = t.querySelector('.value').textContent + ' '"
        " + t.querySelector('.compare').textContent.replace('上期 ', ''); return out;"
    )
    return found


def api_rates(hub: str, settings: Settings, code: str, period: dict[str, str]) -> dict[str, str]:
    answer = httpx.post(
        f"{hub}/graphql",
        json={"query": FIGURES, "variables": {"code": code, **period}},
        headers={"authorization": f"Bearer {token(settings)}"},
    ).json()
    stats: dict[str, Any] = answer["data"]["region"]["stats"]
    now, then = stats["serviceRequests"], stats["previous"]["stats"]["serviceRequests"]

    def shown(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.1f}%"

    return {r: f"{shown(now[r])} {shown(then[r])}" for r in RATES}


NOTES = """query Notes($code: String!, $from: Date, $to: Date) {
  region(code: $code) { breakdown(by: CHILD, from: $from, to: $to) {
    key stats { notes { path kind } } } } }"""


def api_noted(hub: str, settings: Settings, code: str, period: dict[str, str]) -> set[str]:
    """The children whose requests carry a NO_DATA note, by the API."""
    answer = httpx.post(
        f"{hub}/graphql",
        json={"query": NOTES, "variables": {"code": code, **period}},
        headers={"authorization": f"Bearer {token(settings)}"},
    ).json()
    rows = answer["data"]["region"]["breakdown"]
    return {
        row["key"]
        for row in rows
        if {"path": "serviceRequests.total", "kind": "NO_DATA"} in row["stats"]["notes"]
    }


def noted(browser: Browser) -> set[str]:
    found: list[str] = browser.driver.execute_script(
        "return [...document.querySelectorAll('#children tbody tr')]"
        ".filter((r) => r.querySelector('td[data-column=total][data-note=NO_DATA]'))"
        ".map((r) => r.dataset.key)"
    )
    return set(found)


def period_of(browser: Browser) -> dict[str, str]:
    text = browser.driver.find_element("id", "period-title").text
    start, end = text[text.index("（") + 1 : text.index("）")].split(" 至 ")
    return {"from": start, "to": end}


def left_origin(browser: Browser, hub: str) -> list[str]:
    return [u for u in browser.requested() if not u.startswith((hub + "/", "data:", "blob:"))]


def test_signs_in_reads_the_rates_drills_down_and_back_and_switches_the_period(
    browser: Browser, hub: str, settings: Settings, planted: str, sign_in_links: list[str]
) -> None:
    browser.driver.set_window_size(1366, 768)
    browser.open(f"{hub}/dashboard#link={sign_in_links[0]}")
    first = shown(browser, f"{COUNTY}:")
    assert browser.driver.current_url == f"{hub}/dashboard"  # the nonce left the address bar
    assert browser.driver.find_element("id", "subject").text == "county-office"
    # Time to first figures, signed in: the page opened again in the same tab.
    browser.driver.refresh()
    shown(browser, f"{COUNTY}:")
    took = browser.driver.execute_script(
        "return performance.getEntriesByName('dashboard:first-figures')[0].startTime"
    )
    print(f"first figures on screen {took:.0f} ms after navigation")
    assert took < 5000
    assert tiles(browser) == api_rates(hub, settings, COUNTY, period_of(browser))
    # The county's own records (本级) first, then its children.
    own = browser.driver.find_element("css selector", "#children tbody tr")
    assert (own.get_attribute("data-key"), own.get_attribute("class")) == (COUNTY, "own")
    assert own.find_element("css selector", "th").text == "本级"
    if SCREENSHOTS:
        browser.driver.save_screenshot(str(Path(SCREENSHOTS) / "dashboard-1366.png"))

    # Down to a township, then a village, then back to the county by the breadcrumb.
    township = browser.driver.find_elements("css selector", "#children tbody button[data-code]")
    code = township[0].get_attribute("data-code")
    assert code is not None
    township[0].click()
    shown(browser, f"{code}:")
    # Children that never reported are told apart from 0, as the API's notes say.
    never = noted(browser)
    assert f"{code}999" in never and never == api_noted(hub, settings, code, period_of(browser))
    village = browser.driver.find_elements("css selector", "#children tbody button[data-code]")
    village_code = village[0].get_attribute("data-code")
    village[0].click()
    shown(browser, f"{village_code}:")
    crumbs = browser.driver.find_elements("css selector", "#crumbs li")
    assert len(crumbs) == 3
    browser.click(f'#crumbs button[data-code="{COUNTY}"]')
    assert shown(browser, f"{COUNTY}:") == first

    # A quarter instead of the month: the tiles follow, still as the API says.
    from selenium.webdriver.support.ui import Select

    Select(browser.driver.find_element("id", "period-kind")).select_by_value("quarter")
    shown(browser, f"{COUNTY}:", containing="-Q")
    assert tiles(browser) == api_rates(hub, settings, COUNTY, period_of(browser))

    # Sorted by a column from the keyboard: Enter on its header, largest first.
    from selenium.webdriver.common.keys import Keys

    browser.driver.find_element(
        "css selector", '#children th[data-column="total"] button'
    ).send_keys(Keys.ENTER)
    header = browser.driver.find_element("css selector", '#children th[data-column="total"]')
    assert header.get_attribute("aria-sort") == "descending"
    totals = [
        int(cell.text.replace(",", ""))
        for cell in browser.driver.find_elements(
            "css selector", '#children tbody tr:not(.own) td[data-column="total"]'
        )
    ]
    assert len(totals) > 3 and totals == sorted(totals, reverse=True)

    # The planted name is text: shown as typed, no image requested, no script run.
    row = browser.driver.find_element("css selector", f'#children button[data-code="{planted}"]')
    assert row.text == PLANTED
    assert browser.driver.execute_script("return window.__planted") is None
    assert browser.driver.find_elements("css selector", "#children img") == []
    assert left_origin(browser, hub) == []

    # Readable at a phone's width: nothing wider than the screen.
    browser.driver.set_window_size(390, 844)
    browser.driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    overflow = browser.driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    if SCREENSHOTS:
        browser.driver.save_screenshot(str(Path(SCREENSHOTS) / "dashboard-390.png"))

    # The same figures as a file, through a one-time link on the hub's origin.
    browser.click("#export-csv")
    deadline = time.monotonic() + WAIT_SECONDS
    asked: list[str] = []
    while not any("/exports/links/" in u for u in asked) and time.monotonic() < deadline:
        asked += browser.requested()
        time.sleep(0.1)
    assert any(u.startswith(f"{hub}/exports/links/") for u in asked), asked
    assert browser.driver.find_element("id", "board-error").text == ""

    # Signing out forgets the token.
    browser.click("#sign-out")
    assert browser.driver.find_element("id", "sign-in").is_displayed()
    assert browser.driver.execute_script("return sessionStorage.length") == 0


def test_a_sign_in_link_works_once(
    browser: Browser, hub: str, settings: Settings, sign_in_links: list[str]
) -> None:
    browser.open(f"{hub}/dashboard")
    browser.driver.execute_script("sessionStorage.clear()")
    browser.open(f"{hub}/dashboard#link={sign_in_links[1]}")
    shown(browser, f"{COUNTY}:")
    browser.click("#sign-out")
    browser.open(f"{hub}/dashboard#link={sign_in_links[1]}")
    assert "LINK_USED" in browser.text_of("#sign-in-error", "LINK_USED")
    assert browser.driver.current_url == f"{hub}/dashboard"


def test_a_caller_with_two_jurisdictions_picks_one(
    browser: Browser, hub: str, settings: Settings
) -> None:
    from selenium.webdriver.support.ui import Select

    browser.driver.set_window_size(1366, 768)
    browser.open(f"{hub}/dashboard")
    both = issue(settings, "two-counties", [COUNTY, FOREIGN_COUNTY], ("viewer",))
    browser.driver.execute_script("sessionStorage.clear()")
    browser.driver.refresh()
    browser.driver.find_element("id", "token").send_keys(both)
    browser.click("#sign-in-form button[type=submit]")
    shown(browser, f"{COUNTY}:")
    picker = Select(browser.driver.find_element("id", "jurisdiction"))
    assert [o.get_attribute("value") for o in picker.options] == [COUNTY, FOREIGN_COUNTY]
    picker.select_by_value(FOREIGN_COUNTY)
    shown(browser, f"{FOREIGN_COUNTY}:")
    assert len(browser.driver.find_elements("css selector", "#crumbs li")) == 1
    assert left_origin(browser, hub) == []


def test_periods_are_whole_and_the_trend_spans_24_months(browser: Browser, hub: str) -> None:
    browser.open(f"{hub}/dashboard")
    script = """
        const done = arguments[0];
        import('/static/dashboard/period.js').then((p) => done([
          p.quarter(2026, 1),
          p.year(2024),
          p.trendRange(p.quarter(2026, 4)),
          p.defaultPeriod('2026-01-06'),
        ].map((x) => [x.from, x.to])));
    """
    assert browser.driver.execute_async_script(script) == [
        ["2026-01-01", "2026-03-31"],
        ["2024-01-01", "2024-12-31"],
        ["2025-01-01", "2026-12-31"],
        ["2025-12-01", "2025-12-31"],
    ]
