"""The caller and their scope per role (DESIGN.md §3).

A scope is a tuple of ltree paths (text), none under another. Read scope is the union of
every granted region, whatever the role; editor, pii and auditor scopes are the regions
granting that role. SQL receives scopes as `ltree[]` parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from resolvers.errors import BadUserInput

ROLES = ("viewer", "editor", "pii", "auditor")
# The roles that read records (DESIGN.md §8); `pii` only unmasks where one of them holds.
READING_ROLES = frozenset({"viewer", "editor", "auditor"})
REGION_CODE = re.compile(r"^(100000|[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$")

Path = str
Scope = tuple[Path, ...]


def is_under(path: Path, ancestor: Path) -> bool:
    """`path <@ ancestor` for ltree text."""
    return path == ancestor or path.startswith(ancestor + ".")


def normalise(paths: Iterable[Path]) -> Scope:
    """Sorted, deduplicated, and without paths that lie under another one."""
    kept: list[Path] = []
    for path in sorted(set(paths), key=lambda p: (p.count("."), p)):
        if not any(is_under(path, other) for other in kept):
            kept.append(path)
    return tuple(sorted(kept))


@dataclass(frozen=True)
class Grant:
    code: str
    path: Path
    roles: frozenset[str]


@dataclass(frozen=True)
class Caller:
    subject: str
    grants: tuple[Grant, ...]
    client: str | None = None
    scopes: Mapping[str, Scope] = field(default_factory=dict)
    # A gateway that proved itself with its own credential but forwarded no caller's token:
    # it may read `_service` and nothing else.
    service_only: bool = False

    @classmethod
    def gateway(cls) -> Caller:
        return cls("gateway", (), "gateway", {}, service_only=True)

    @classmethod
    def from_grants(
        cls, subject: str, grants: Iterable[Grant], client: str | None = None
    ) -> Caller:
        grants = tuple(grants)
        scopes = {role: normalise(g.path for g in grants if role in g.roles) for role in ROLES}
        scopes["read"] = normalise(g.path for g in grants if g.roles & READING_ROLES)
        scopes["pii"] = intersect(scopes["pii"], scopes["read"])
        return cls(subject, grants, client, scopes)

    @property
    def roles(self) -> list[str]:
        return sorted({role for g in self.grants for role in g.roles if role in ROLES})

    def scope(self, kind: str) -> Scope:
        return self.scopes.get(kind, ())

    @property
    def read(self) -> Scope:
        return self.scope("read")

    @property
    def pii(self) -> Scope:
        return self.scope("pii")

    def reads(self, path: Path) -> bool:
        return any(is_under(path, s) for s in self.read)

    def has(self, role: str, path: Path) -> bool:
        return any(is_under(path, s) for s in self.scope(role))


def intersect(a: Scope, b: Scope) -> Scope:
    """The regions in both scopes."""
    return normalise(
        p if is_under(p, q) else q for p in a for q in b if is_under(p, q) or is_under(q, p)
    )


def within(scope: Scope, under: Path | None) -> Scope:
    """`scope` intersected with the subtree of `under` (no `under`: the whole scope)."""
    if under is None:
        return scope
    if any(is_under(under, s) for s in scope):
        return (under,)
    return tuple(s for s in scope if is_under(s, under))


def check_region_code(code: str, argument: str) -> None:
    if not REGION_CODE.match(code):
        raise BadUserInput(
            f"`{argument}` must be a statistical division code "
            "(2, 4, 6, 9 or 12 digits, or 100000)",
            reason="REGION_CODE_MALFORMED",
        )
