"""What every resolver gets as `info.context`: the caller, their session and their loaders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from db import clock
from resolvers.ids import CursorCodec
from resolvers.regions import RegionDirectory
from resolvers.scope import Caller
from resolvers.session import RequestSession
from resolvers.turnstile import Paused

L = TypeVar("L")


@dataclass
class Context:
    caller: Caller
    session: RequestSession
    cursors: CursorCodec
    directory: RegionDirectory
    now: dt.datetime = field(default_factory=clock.now)  # the one clock (db/clock.py)
    # the name of the operation that ran, set once the document is parsed (metrics, logs)
    operation: str | None = None
    # CHILD breakdowns start with the region's own row (本级), but for the named reports
    # registered before it, whose output stays as it was (schema/reports/__init__.py)
    own_row: bool = True
    _loaders: dict[Any, Any] = field(default_factory=dict)
    # resolvers of this request waiting at the turnstile (resolvers/turnstile.py)
    paused: Paused = field(default_factory=Paused)
    # The heavy lane (server/lane.py): runs a heavy query (document, variables, operation
    # name) in a worker process; `lane_answer` holds what it answered. None: run here.
    lane: Callable[[str, dict[str, Any] | None, str | None], Awaitable[Any]] | None = None
    lane_answer: Any = None

    def loader(self, factory: Callable[..., L], *args: Any) -> L:
        """The request's one instance of a loader (per factory and arguments)."""
        key = (factory, *args)
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = factory(self, *args)
        return found
