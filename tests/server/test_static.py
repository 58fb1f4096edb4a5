"""Static browser assets: exactly the reviewed build (hashes), with licences, served
without admission."""

from __future__ import annotations

import hashlib

from server.assets import HASHES, STATIC_DIR
from tests.conftest import Hub


def _listed() -> dict[str, str]:
    listed = {}
    for line in HASHES.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.removeprefix("./")] = digest
    return listed


def test_every_static_file_is_listed_with_its_hash() -> None:
    present = {
        str(p.relative_to(STATIC_DIR)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in STATIC_DIR.rglob("*")
        if p.is_file() and p != HASHES
    }
    assert present == _listed(), (
        "server/static changed: run scripts/build-ide or scripts/build-dashboard and commit"
    )


def test_the_ide_ships_the_licences_of_what_it_bundles() -> None:
    licences = {p.name for p in (STATIC_DIR / "ide" / "licenses").iterdir()}
    assert {
        "graphiql-3.8.3.LICENSE",
        "react-18.3.1.LICENSE",
        "react-dom-18.3.1.LICENSE",
        "THIRD-PARTY.txt",
    } <= (licences)


async def test_static_files_are_served_without_a_token(hub: Hub) -> None:
    response = await hub.client.get("/static/ide/ide.js")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == _listed()["ide/ide.js"]
    assert (await hub.client.get("/static/ide/missing.js")).status_code == 404
