"""The scope predicate's SQL, written once (DESIGN.md §3, rules 8 and 9).

Statements run on a caller's behalf never take a scope as a positional argument: they name
it with a marker (`:read_scope`, `:editor_scope`, `:pii_scope`, `:auditor_scope`), and the
request session binds the caller's scope of that kind there (`bind_scopes`). So a scope
placeholder means the same thing in every statement, and no resolver can pass the wrong
scope. Build predicates with the functions below; a search for `<@ any(` finds this file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

ScopeKind = Literal["read", "editor", "pii", "auditor"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("read", "editor", "pii", "auditor")
MARKER = re.compile(r"(?<![:\w]):(read|editor|pii|auditor)_scope\b")


def scope(kind: ScopeKind = "read") -> str:
    """The caller's scope of `kind`, as an `ltree[]` expression."""
    return f":{kind}_scope::ltree[]"


def under_any(column: str, paths: str) -> str:
    """`column` (an ltree expression) lies in one of the subtrees of `paths` (an ltree[])."""
    return f"{column} <@ any({paths})"


def in_scope(column: str, kind: ScopeKind = "read") -> str:
    """`column` lies in the caller's scope of `kind`."""
    return under_any(column, scope(kind))


def above_scope(column: str, kind: ScopeKind = "read") -> str:
    """`column` is an ancestor of a region in the caller's scope (a breadcrumb)."""
    return f"{column} @> any({scope(kind)})"


def unmasked(column: str) -> str:
    """`column` lies where the caller reads personal data in clear."""
    return in_scope(column, "pii")


@lru_cache(maxsize=4096)
def bind_scopes(sql: str, given: int) -> tuple[str, tuple[ScopeKind, ...]]:
    """`sql` with each scope marker numbered after its `given` positional arguments, and the
    kinds to append to those arguments, in order."""
    kinds: list[ScopeKind] = []

    def number(match: re.Match[str]) -> str:
        kind: ScopeKind = match.group(1)  # type: ignore[assignment]
        if kind not in kinds:
            kinds.append(kind)
        return f"${given + kinds.index(kind) + 1}"

    return MARKER.sub(number, sql), tuple(kinds)
