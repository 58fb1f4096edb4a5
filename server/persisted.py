"""Persisted queries: trusted documents by hash, and the automatic persisted query protocol.

A request names its document by `extensions.persistedQuery = {"version": 1, "sha256Hash":
…}`. Without a `query` it is a lookup: the caller's client's trusted manifest (or an open
one, `schema/documents/`), else this process's memory of registered documents, else
`PERSISTED_QUERY_NOT_FOUND`, and the client sends the document with the hash (a
registration). The hub checks `sha256(query)` against the hash, runs the document and keeps
it in memory only — keyed by the caller's client and the hash, capped per document and in
total (`HUB_APQ_MAX_DOCUMENT_BYTES`, `HUB_APQ_MAX_TOTAL_BYTES`), least recently used
evicted — so nothing of a document reaches the database or its backups. Admission
(`server/admission.py`) counts registrations against the caller's rate limit and refuses
them to allow-listed clients.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from resolvers.errors import BadUserInput, HubError
from schema.documents import SHA256, Documents, sha256

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotFound(HubError):
    """The hash is not known here: send it again with its `query` (one round trip)."""

    code = NOT_FOUND

    def __init__(self) -> None:
        super().__init__(
            "PersistedQueryNotFound: send the document again with its hash", reason=NOT_FOUND
        )


@dataclass(frozen=True)
class ByHash:
    """A request naming its document by hash: a lookup, or with `query` a registration."""

    digest: str
    query: str | None = None


def by_hash(item: Any) -> ByHash | HubError | None:
    """What an item's `extensions.persistedQuery` asks, a refusal, or None when it has none."""
    if not isinstance(item, dict):
        return None
    extensions = item.get("extensions")
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    asked = extensions["persistedQuery"]
    if (
        not isinstance(asked, dict)
        or asked.get("version") != 1
        or not isinstance(asked.get("sha256Hash"), str)
        or not SHA256.fullmatch(asked["sha256Hash"])
    ):
        return BadUserInput(
            '`extensions.persistedQuery` is {"version": 1, "sha256Hash": <64 lower-case hex>}',
            reason="PERSISTED_QUERY_MALFORMED",
        )
    query = item.get("query")
    if query is None:
        return ByHash(asked["sha256Hash"])
    if not isinstance(query, str) or sha256(query) != asked["sha256Hash"]:
        return BadUserInput(
            "The `query` does not match `extensions.persistedQuery.sha256Hash`",
            reason="PERSISTED_QUERY_HASH_MISMATCH",
        )
    return ByHash(asked["sha256Hash"], query)


class Registered:
    """Documents registered through the protocol, in this process's memory only."""

    def __init__(self, max_document_bytes: int, max_total_bytes: int) -> None:
        self.max_document_bytes = max_document_bytes
        self.max_total_bytes = max_total_bytes
        self._documents: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def size(self) -> int:
        return self._bytes

    def get(self, client: str | None, digest: str) -> str | None:
        key = (client or "", digest)
        found = self._documents.get(key)
        if found is not None:
            self._documents.move_to_end(key)
        return found

    def put(self, client: str | None, digest: str, query: str) -> bool:
        """Keeps the document unless it is over the per-document cap; evicts the least
        recently used past the total cap. Whether it was kept."""
        size = len(query.encode("utf-8"))
        if size > self.max_document_bytes:
            return False
        key = (client or "", digest)
        if key in self._documents:
            self._documents.move_to_end(key)
            return True
        self._documents[key] = query
        self._bytes += size
        while self._bytes > self.max_total_bytes:
            _, evicted = self._documents.popitem(last=False)
            self._bytes -= len(evicted.encode("utf-8"))
        return True


def resolve(
    asked: ByHash, client: str | None, documents: Documents | None, registered: Registered
) -> str | HubError:
    """The document an admitted caller of `client` runs for `asked`."""
    if asked.query is not None:
        registered.put(client, asked.digest, asked.query)
        return asked.query
    trusted = documents.get(client, asked.digest) if documents is not None else None
    if trusted is not None:
        return trusted
    return registered.get(client, asked.digest) or PersistedQueryNotFound()


def persisted_miss(answer: dict[str, Any]) -> bool:
    """A persisted query miss is the protocol's ordinary first step: answered with 200."""
    return any(
        (e.get("extensions") or {}).get("code") == NOT_FOUND for e in answer.get("errors", ())
    )
