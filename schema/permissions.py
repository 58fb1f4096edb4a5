"""Declared permissions: classes whose check returns a plain bool (never an awaitable)."""

from __future__ import annotations

from typing import Any

from strawberry.federation.schema_directives import Authenticated, RequiresScopes
from strawberry.permission import BasePermission
from strawberry.types import Info

from schema.enums import RegionAccess


class InJurisdiction(BasePermission):
    """Only on regions in the caller's scope: a breadcrumb above it answers FORBIDDEN."""

    message = "This region lies above your jurisdiction; only its breadcrumb fields can be read"
    error_extensions = {"code": "FORBIDDEN", "reason": "BREADCRUMB_ONLY"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(getattr(source, "access", None) is RegionAccess.FULL)


class HoldsAuditor(BasePermission):
    """Only for callers granted `auditor` somewhere."""

    message = "Reading the audit log needs the auditor role"
    error_extensions = {"code": "FORBIDDEN", "reason": "AUDITOR_REQUIRED"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(info.context.caller.scope("auditor"))


# The same rules declared for a federation router (@authenticated, @requiresScopes against the
# token's `scope` claim), as `directives=` of root fields; the hub enforces them regardless.
# On fields, never on the Query or Mutation type: a router merges a type's directives across
# subgraphs, so it would close the other subgraphs' root fields too (Hive Gateway applies a
# type's directive to every field of it). Not on masked personal fields: masked, not refused.
NEEDS_CALLER = [Authenticated()]
NEEDS_AUDITOR = [Authenticated(), RequiresScopes(scopes=[["auditor"]])]
NEEDS_EDITOR = [Authenticated(), RequiresScopes(scopes=[["editor"]])]
