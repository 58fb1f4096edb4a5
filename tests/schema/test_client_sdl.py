"""`schema/schema.client.graphql`: current, and accepted by plain graphql-js."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from schema.build import SDL_PATH, build_schema, sdl
from schema.client_sdl import CLIENT_SDL_PATH, client_sdl

ROOT = Path(__file__).resolve().parents[2]
GRAPHQL_JS = ROOT / "federation" / "node_modules" / "graphql"
BUILD = """
const { buildSchema } = require(process.argv[1]);
const text = require("fs").readFileSync(process.argv[2], "utf8");
const schema = buildSchema(text);
process.stdout.write(String(Object.keys(schema.getTypeMap()).length));
"""


def test_committed_client_schema_matches_the_code() -> None:
    assert CLIENT_SDL_PATH.read_text(encoding="utf-8") == client_sdl(sdl(build_schema())), (
        "schema/schema.client.graphql is stale: run `grassroots schema --write` and commit it"
    )


def _build(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not GRAPHQL_JS.is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI needs node and `npm ci --prefix federation` for graphql-js")
        pytest.skip("needs node and `npm ci --prefix federation`")
    return subprocess.run(
        [node, "-e", BUILD, str(GRAPHQL_JS), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_graphql_js_builds_the_client_schema_and_refuses_the_subgraph_sdl() -> None:
    built = _build(CLIENT_SDL_PATH)
    assert built.returncode == 0, built.stderr
    assert int(built.stdout) > 50
    # The subgraph file alone is what plain tools refuse: the reason the client file exists.
    refused = _build(SDL_PATH)
    assert refused.returncode != 0 and "Unknown directive" in refused.stderr
