"""The dashboard in real headless chromium against the hub on a real port: signing in, the
county's three rates against the API, drilling down to a township and a village and back,
switching the period, names shown as text, and no request leaving the hub's origin."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from db.setup import Database
from server.app import create_app
from server.auth import issue
from server.settings import Settings
from tests.browser.harness import WAIT_SECONDS, Browser, served
from tests.conftest import FOREIGN_COUNTY

COUNTY = "341126"
PLANTED = '<img src=x onerror="window.__planted=1">'
SCREENSHOTS = os.environ.get("HUB_TEST_SCREENSHOTS")  # a folder: save the README's screenshots
RATES = ("responseRate", "resolutionRate", "satisfactionRate")
FIGURES = """query Figures($code: String!, $from: Date, $to: Date) {
  region(code: $code) { stats(from: $from, to: $to) {
    serviceRequests { responseRate resolutionRate satisfactionRate } } } }"""


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


def token(settings: Settings) -> str:
    return issue(settings, "county-office", [COUNTY], ("viewer",))


def sign_in(browser: Browser, hub: str, settings: Settings) -> None:
    browser.open(f"{hub}/dashboard")
    browser.driver.find_element("id", "token").send_keys(token(settings))
    browser.click("#sign-in-form button[type=submit]")


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
    found: dict[str, str] = browser.driver.execute_script(
        "const out = {}; for (const t of document.querySelectorAll('#tiles [data-rate]'))"
        " out[t.dataset.rate] = t.querySelector('.value').textContent; return out;"
    )
    return found


def api_rates(hub: str, settings: Settings, code: str, period: dict[str, str]) -> dict[str, str]:
    answer = httpx.post(
        f"{hub}/graphql",
        json={"query": FIGURES, "variables": {"code": code, **period}},
        headers={"authorization": f"Bearer {token(settings)}"},
    ).json()
    service: dict[str, Any] = answer["data"]["region"]["stats"]["serviceRequests"]
    return {r: "—" if service[r] is None else f"{service[r] * 100:.1f}%" for r in RATES}


def period_of(browser: Browser) -> dict[str, str]:
    text = browser.driver.find_element("id", "period-title").text
    start, end = text[text.index("（") + 1 : text.index("）")].split(" 至 ")
    return {"from": start, "to": end}


def left_origin(browser: Browser, hub: str) -> list[str]:
    return [u for u in browser.requested() if not u.startswith((hub + "/", "data:", "blob:"))]


def test_signs_in_reads_the_rates_drills_down_and_back_and_switches_the_period(
    browser: Browser, hub: str, settings: Settings, planted: str
) -> None:
    browser.driver.set_window_size(1366, 768)
    sign_in(browser, hub, settings)
    first = shown(browser, f"{COUNTY}:")
    assert "#" not in browser.driver.current_url
    # Time to first figures, signed in: the page opened again in the same tab.
    browser.driver.refresh()
    shown(browser, f"{COUNTY}:")
    took = browser.driver.execute_script(
        "return performance.getEntriesByName('dashboard:first-figures')[0].startTime"
    )
    print(f"first figures on screen {took:.0f} ms after navigation")
    assert took < 5000
    assert tiles(browser) == api_rates(hub, settings, COUNTY, period_of(browser))
    if SCREENSHOTS:
        browser.driver.save_screenshot(str(Path(SCREENSHOTS) / "dashboard-1366.png"))

    # Down to a township, then a village, then back to the county by the breadcrumb.
    township = browser.driver.find_elements("css selector", "#children tbody button[data-code]")
    code = township[0].get_attribute("data-code")
    township[0].click()
    shown(browser, f"{code}:")
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

    # Signing out forgets the token.
    browser.click("#sign-out")
    assert browser.driver.find_element("id", "sign-in").is_displayed()
    assert browser.driver.execute_script("return sessionStorage.length") == 0


def test_a_caller_with_two_jurisdictions_picks_one(
    browser: Browser, hub: str, settings: Settings
) -> None:
    from selenium.webdriver.support.ui import Select

    browser.driver.set_window_size(1366, 768)
    browser.open(f"{hub}/dashboard")
    both = issue(settings, "two-counties", [COUNTY, FOREIGN_COUNTY], ("viewer",))
    browser.driver.execute_script("sessionStorage.clear()")
    browser.driver.find_element("id", "token").send_keys(both)
    browser.click("#sign-in-form button[type=submit]")
    shown(browser, f"{COUNTY}:")
    picker = Select(browser.driver.find_element("id", "jurisdiction"))
    assert [o.get_attribute("value") for o in picker.options] == [COUNTY, FOREIGN_COUNTY]
    picker.select_by_value(FOREIGN_COUNTY)
    shown(browser, f"{FOREIGN_COUNTY}:")
    assert len(browser.driver.find_elements("css selector", "#crumbs li")) == 1
    assert left_origin(browser, hub) == []


def test_periods_and_their_previous_ones(browser: Browser, hub: str) -> None:
    browser.open(f"{hub}/dashboard")
    script = """
        const done = arguments[0];
        import('/static/dashboard/period.js').then((p) => done([
          p.previous(p.month(2026, 1)),
          p.previous(p.quarter(2026, 1)),
          p.previous(p.year(2024)),
          p.previous(p.custom('2026-03-01', '2026-03-10')),
          p.trendRange(p.quarter(2026, 4)),
          p.defaultPeriod('2026-01-06'),
        ].map((x) => [x.from, x.to])));
    """
    assert browser.driver.execute_async_script(script) == [
        ["2025-12-01", "2025-12-31"],
        ["2025-10-01", "2025-12-31"],
        ["2023-01-01", "2023-12-31"],
        ["2026-02-19", "2026-02-28"],
        ["2025-01-01", "2026-12-31"],
        ["2025-12-01", "2025-12-31"],
    ]
