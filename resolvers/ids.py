"""Global ids and cursors: opaque to clients, never trusted when they come back.

A global id is `base64url("<Type>:<key>")`; keys are region codes or random UUIDs, so ids
reveal nothing that counts records. Cursors are signed: a cursor that was not issued by
this hub for the same list and order is refused, whatever it decodes to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from typing import Any

from resolvers.errors import BadUserInput

NODE_TYPES = (
    "Region",
    "Organization",
    "ServiceRequest",
    "ParticipationEvent",
    "Resolution",
    "AuditEntry",
)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def global_id(type_name: str, key: str | uuid.UUID) -> str:
    return _b64encode(f"{type_name}:{key}".encode())


def parse_global_id(value: str) -> tuple[str, str] | None:
    """(type, key) for a well-formed id, else None: a forged id is as absent as a foreign one."""
    try:
        type_name, _, key = _b64decode(value).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if type_name not in NODE_TYPES or not key:
        return None
    if type_name == "Region":
        return (type_name, key) if key.isdigit() and len(key) <= 12 else None
    try:
        return type_name, str(uuid.UUID(key))
    except ValueError:
        return None


class CursorCodec:
    """Signs keyset positions. `list_name` ties a cursor to the list and order that issued it."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"grassroots-hub cursor\0" + secret.encode()).digest()

    def _mac(self, payload: bytes) -> str:
        return _b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()[:12])

    def encode(self, list_name: str, values: list[Any]) -> str:
        payload = json.dumps([list_name, values], separators=(",", ":"), default=str).encode()
        return f"{_b64encode(payload)}.{self._mac(payload)}"

    def decode(self, list_name: str, cursor: str) -> list[Any]:
        body, _, mac = cursor.partition(".")
        try:
            payload = _b64decode(body)
            valid = hmac.compare_digest(mac, self._mac(payload))
            name, values = json.loads(payload) if valid else (None, None)
        except (binascii.Error, ValueError, TypeError):
            name, values = None, None
        if name != list_name or not isinstance(values, list):
            raise BadUserInput(
                "`after` is not a cursor of this list; pass an endCursor it returned",
                reason="CURSOR_INVALID",
            )
        return values
