"""Declared permissions: classes whose check returns a plain bool (never an awaitable)."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from schema.enums import RegionAccess


class InJurisdiction(BasePermission):
    """Only on regions in the caller's scope: a breadcrumb above it answers FORBIDDEN."""

    message = "This region lies above your jurisdiction; only its breadcrumb fields can be read"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(getattr(source, "access", None) is RegionAccess.FULL)


class HoldsAuditor(BasePermission):
    """Only for callers granted `auditor` somewhere."""

    message = "Reading the audit log needs the auditor role"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(info.context.caller.scope("auditor"))
