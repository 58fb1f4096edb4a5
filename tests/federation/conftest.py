"""Federation tests that need Node.js and federation/node_modules (`npm ci --prefix federation`).

Under CI (the CI environment variable set, as CI services do) their absence fails those tests;
elsewhere it skips them, with the command that installs them as the reason.
"""

from __future__ import annotations

import os

import pytest

from tests.federation.stack import missing_node_tooling


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def node_tooling() -> None:
    reason = missing_node_tooling()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)
