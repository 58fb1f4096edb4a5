"""A browser test harness: Debian's chromium through chromium-driver (Selenium), and ASGI
apps served on real ports, for the IDE's tests now and the dashboard's later.

`Browser` records every request the page makes (Chrome's performance log), so a test can
assert that nothing left the origin; host resolution maps every name but `localhost` to an
unroutable address, so a request that tried would fail rather than reach the internet.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Every other host is unreachable: only localhost and 127.0.0.1 resolve to themselves.
    "--host-resolver-rules=MAP * 0.0.0.0, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)
WAIT_SECONDS = 30.0


def binaries() -> tuple[str, str] | None:
    """Debian's chromium and chromium-driver, or None where they are not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class Browser:
    """One headless chromium for a test module, with a fresh profile."""

    def __init__(self, browser: str, driver: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self._profile = tempfile.TemporaryDirectory(prefix="hub-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile.name}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(executable_path=driver))
        self.driver.set_script_timeout(WAIT_SECONDS)

    def close(self) -> None:
        self.driver.quit()
        self._profile.cleanup()

    def open(self, url: str) -> None:
        self.requested()  # forget what earlier pages asked for
        self.driver.get(url)

    def text_of(self, css: str, containing: str, timeout: float = WAIT_SECONDS) -> str:
        """The text of the first element matching `css` once it contains `containing`."""
        from selenium.webdriver.common.by import By

        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            found = self.driver.find_elements(By.CSS_SELECTOR, css)
            seen = found[0].text if found else ""
            if containing in seen:
                return seen
            time.sleep(0.1)
        raise AssertionError(f"{css} never showed {containing!r}; it showed {seen!r}")

    def click(self, css: str, timeout: float = WAIT_SECONDS) -> None:
        """Clicks the first element matching `css` once the page has made it."""
        from selenium.webdriver.common.by import By

        deadline = time.monotonic() + timeout
        while not (found := self.driver.find_elements(By.CSS_SELECTOR, css)):
            if time.monotonic() > deadline:
                raise AssertionError(f"{css} never appeared")
            time.sleep(0.1)
        found[0].click()

    def fetch(self, url: str, init: dict[str, Any]) -> dict[str, Any]:
        """`fetch(url, init)` from the current page: its status and JSON body."""
        script = """
            const [url, init, done] = arguments;
            fetch(url, init)
              .then(async (r) => done({status: r.status, body: await r.json()}))
              .catch((e) => done({status: 0, body: String(e)}));
        """
        answer: dict[str, Any] = self.driver.execute_async_script(script, url, init)
        return answer

    def requested(self) -> list[str]:
        """Every URL the browser asked for since the last call."""
        urls = []
        for entry in self.driver.get_log("performance"):  # type: ignore[no-untyped-call]
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served(app: ASGIApp, host: str = "127.0.0.1") -> Iterator[str]:
    """`app` served by uvicorn on a free port in a thread of its own (its own event loop,
    so a blocking browser call never stalls it); yields its origin."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"served-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_SECONDS)


def required() -> bool:
    """Under CI the browser tests must run, never skip."""
    return bool(os.environ.get("CI"))


PAGES = Path(__file__).parent / "pages"
