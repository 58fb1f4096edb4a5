"""Trusted document manifests: checked against their hashes and the schema at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schema.build import build_schema
from schema.documents import (
    DOCUMENTS_DIR,
    DocumentError,
    Documents,
    Manifest,
    load_manifest,
    sha256,
)

VIEWER = "query V { viewer { subject } }"


def _write(folder: Path, name: str, documents: dict[str, str], *, open_: bool = False) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"open": open_, "documents": documents}), encoding="utf-8")
    return path


def test_every_committed_manifest_loads_and_the_dashboard_one_is_open() -> None:
    documents = Documents.load(build_schema()._schema)
    digest = next(iter(json.loads((DOCUMENTS_DIR / "dashboard.json").read_text())["documents"]))
    assert documents.get("any-client", digest) is not None
    assert documents.get(None, digest) is not None


def test_a_document_whose_hash_is_wrong_stops_the_start(tmp_path: Path) -> None:
    path = _write(tmp_path, "tool", {"0" * 64: VIEWER})
    with pytest.raises(DocumentError, match="not the sha256"):
        load_manifest(path, build_schema()._schema)


def test_a_document_that_does_not_validate_stops_the_start(tmp_path: Path) -> None:
    stale = "query V { viewer { noSuchField } }"
    path = _write(tmp_path, "tool", {sha256(stale): stale})
    with pytest.raises(DocumentError, match="noSuchField"):
        load_manifest(path, build_schema()._schema)


def test_a_closed_manifest_serves_its_client_only() -> None:
    documents = Documents([Manifest("tool", False, {sha256(VIEWER): VIEWER})])
    assert documents.get("tool", sha256(VIEWER)) == VIEWER
    assert documents.get("other", sha256(VIEWER)) is None
    assert documents.known(sha256(VIEWER)) and not documents.trusts(None, [sha256(VIEWER)])
