"""Browser fixtures: one chromium per module (`browser`), skipped where chromium and
chromium-driver are not installed, except under CI, where they must be (.ci/run installs
them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.harness import Browser, binaries, required


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    found = binaries()
    if found is None:
        if required():
            pytest.fail("CI runs the browser tests: apt-get install chromium chromium-driver")
        pytest.skip("needs Debian's chromium and chromium-driver")
    started = Browser(*found)
    try:
        yield started
    finally:
        started.close()
