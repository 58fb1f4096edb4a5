"""What the entry points need from the running app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry

from db.revocations import RevocationList
from resolvers.allowlist import AllowList
from resolvers.ids import CursorCodec
from resolvers.regions import RegionDirectory
from schema.documents import Documents
from schema.reports import Reports
from server.auth import KeySet
from server.lane import HeavyLane
from server.metrics import Metrics
from server.persisted import Registered
from server.ratelimit import RateLimiter
from server.settings import Settings


@dataclass
class Services:
    """What the endpoint needs from the running app."""

    settings: Settings
    schema: strawberry.federation.Schema
    pool: Any
    directory: RegionDirectory
    cursors: CursorCodec
    keys: KeySet | None = None
    reports: Reports | None = None
    allowlist: AllowList | None = None
    metrics: Metrics | None = None
    limiter: RateLimiter | None = None
    revocations: RevocationList | None = None
    # Persisted documents (issue 17): trusted manifests, and this process's registrations.
    documents: Documents | None = None
    registered: Registered = field(default_factory=lambda: Registered(20_000, 5_000_000))
    # Heavy queries run in worker processes (issue 13, server/lane.py); None: in-process.
    lane: HeavyLane | None = None
