"""Trusted documents: a committed manifest per client, `<client>.json`, of hash → document.

`{"open": false, "documents": {"<sha256 of the document>": "query … { … }"}}`. A caller whose
token names the client runs them by hash (`extensions.persistedQuery.sha256Hash`, no
`query`); an allow-listed client runs nothing else but the named reports. A manifest with
`"open": true` serves every admitted caller (the dashboard's). Scope applies as always.
Every manifest is loaded when the hub starts and each document checked against its hash and
validated against the schema, so a stale manifest stops the hub rather than a page later.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, parse, validate

DOCUMENTS_DIR = Path(__file__).parent
CLIENT_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
SHA256 = re.compile(r"[0-9a-f]{64}")


class DocumentError(ValueError):
    """A manifest is malformed, a hash is wrong, or a document does not validate."""


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Manifest:
    client: str
    open: bool
    documents: Mapping[str, str]


def load_manifest(path: Path, schema: GraphQLSchema) -> Manifest:
    client = path.name.removesuffix(".json")
    if not CLIENT_NAME.fullmatch(client):
        raise DocumentError(f"{path.name}: a manifest is named <client>.json (lower-case-words)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DocumentError(f"{path.name}: not JSON ({error})") from None
    documents = raw.get("documents") if isinstance(raw, dict) else None
    if not isinstance(documents, dict) or not isinstance(raw.get("open", False), bool):
        raise DocumentError(f'{path.name}: {{"open": bool, "documents": {{hash: document}}}}')
    for digest, text in documents.items():
        if not isinstance(text, str) or not SHA256.fullmatch(digest) or sha256(text) != digest:
            raise DocumentError(f"{path.name}: {digest} is not the sha256 of its document")
        try:
            errors = validate(schema, parse(text))
        except GraphQLError as error:
            raise DocumentError(f"{path.name}: {digest}: {error.message}") from None
        if errors:
            raise DocumentError(f"{path.name}: {digest}: {'; '.join(e.message for e in errors)}")
    return Manifest(client, bool(raw.get("open", False)), dict(documents))


class Documents:
    """Every client's manifest: which documents a client's callers may run by hash."""

    def __init__(self, manifests: Iterable[Manifest]) -> None:
        self._by_client = {m.client: m for m in manifests}
        self._open: dict[str, str] = {}
        for manifest in self._by_client.values():
            if manifest.open:
                self._open.update(manifest.documents)
        self._any = {h for m in self._by_client.values() for h in m.documents}

    @classmethod
    def load(cls, schema: GraphQLSchema, folder: Path = DOCUMENTS_DIR) -> Documents:
        return cls(load_manifest(p, schema) for p in sorted(folder.glob("*.json")))

    def get(self, client: str | None, digest: str) -> str | None:
        """The document a caller of `client` may run by this hash, or None."""
        manifest = self._by_client.get(client) if client else None
        if manifest is not None and digest in manifest.documents:
            return manifest.documents[digest]
        return self._open.get(digest)

    def trusts(self, client: str | None, digests: Iterable[str]) -> bool:
        return all(self.get(client, d) is not None for d in digests)

    def known(self, digest: str) -> bool:
        """Whether any manifest holds the hash (before the caller's client is known)."""
        return digest in self._any
