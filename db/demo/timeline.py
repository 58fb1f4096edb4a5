"""The data's clock: China Standard Time, the fixed "now" (`ANCHOR`) and the two years before it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8))
ANCHOR = datetime(2026, 11, 15, 12, 0, tzinfo=CST)
WINDOW_DAYS = 730
WINDOW_START = ANCHOR - timedelta(days=WINDOW_DAYS)
GO_LIVE = datetime(2024, 9, 1, 9, 0, tzinfo=CST)
