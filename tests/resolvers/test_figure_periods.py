"""Quarters and years as breakdown rows, and the previous period and the same days a year
earlier with the change, each equal to a direct count over the base rows (DESIGN.md §8):
a county (base rows) and a province (roll-ups). Periods are taken from the data's last day,
so they hold records whatever day the demo was seeded on."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import asyncpg
import pytest

from tests.conftest import Hub

COUNTY, PROVINCE, NATION = "341126", "34", "100000"

ROWS = """query ($code: String!, $by: Breakdown!, $from: Date, $to: Date) { region(code: $code) {
  breakdown(by: $by, from: $from, to: $to) { key label month from to own
    stats { from to organizations serviceRequests { total open resolved }
      participation { events participants } } } } }"""

FIGURES = "serviceRequests { total open overdue responseRate resolutionRate satisfactionRate }"
COMPARED = f"""query ($code: String!, $from: Date, $to: Date) {{ region(code: $code) {{
  stats(from: $from, to: $to) {{ from to {FIGURES} participation {{ events participants }}
    previous {{ ...compared }} yearAgo {{ ...compared }} }} }} }}
fragment compared on ComparedStats {{ from to
  stats {{ from to {FIGURES} participation {{ events participants }} }}
  change {{ serviceRequests open overdue responseRate resolutionRate satisfactionRate events
    participants }} }}"""

# Requests (not withdrawn) and events of a subtree in days [$2, $3], keyed by the to_char
# format $4 of their China Standard Time day.
REQUESTS = """select to_char(submitted_at at time zone 'Asia/Shanghai', $4) as key,
    count(*) as n from service_request
where region_code like $1 || '%' and status <> 'WITHDRAWN'
    and (submitted_at at time zone 'Asia/Shanghai')::date between $2 and $3 group by 1"""
EVENTS = """select to_char(starts_at at time zone 'Asia/Shanghai', $4) as key, count(*) as n,
    sum(participant_count) as p from participation_event
where region_code like $1 || '%'
    and (starts_at at time zone 'Asia/Shanghai')::date between $2 and $3 group by 1"""


async def _last_day(owner: asyncpg.Connection) -> dt.date:
    found: dt.datetime = await owner.fetchval(
        "select max(submitted_at) from service_request where region_code like '341126%'"
    )
    return (found + dt.timedelta(hours=8)).date()


async def _direct(
    owner: asyncpg.Connection, code: str, first: dt.date, last: dt.date, key: str = '"all"'
) -> dict[str, tuple[int, int, int]]:
    """(requests, events, participants) of the subtree by key (a to_char format; "all" when
    not split)."""
    found: dict[str, list[int]] = {}
    for row in await owner.fetch(REQUESTS, code, first, last, key):
        found.setdefault(row["key"], [0, 0, 0])[0] = row["n"]
    for row in await owner.fetch(EVENTS, code, first, last, key):
        found.setdefault(row["key"], [0, 0, 0])[1:] = [row["n"], int(row["p"])]
    return {k: (v[0], v[1], v[2]) for k, v in found.items()}


def _quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@pytest.mark.parametrize("code", [COUNTY, PROVINCE])
async def test_quarter_and_year_rows_are_clipped_and_equal_direct_counts(
    hub: Hub, owner: asyncpg.Connection, code: str
) -> None:
    last_day = await _last_day(owner)
    first, last = last_day - dt.timedelta(days=400), last_day - dt.timedelta(days=10)
    for by, fmt in (("QUARTER", 'YYYY-"Q"Q'), ("YEAR", "YYYY")):
        variables = {"code": code, "by": by, "from": str(first), "to": str(last)}
        body = await hub.query(ROWS, variables, as_=NATION)
        assert "errors" not in body, body
        rows = body["data"]["region"]["breakdown"]
        # one row per period the days touch, the first and last clipped to them
        days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        keys = sorted({_quarter(d) if by == "QUARTER" else str(d.year) for d in days})
        assert [r["key"] for r in rows] == keys
        assert rows[0]["from"] == str(first) and rows[-1]["to"] == str(last)
        for before, after in itertools.pairwise(rows):
            assert dt.date.fromisoformat(before["to"]) + dt.timedelta(days=1) == (
                dt.date.fromisoformat(after["from"])
            )
        for row in rows:
            assert row["month"] is None and row["own"] is False
            assert (row["stats"]["from"], row["stats"]["to"]) == (row["from"], row["to"])
            assert row["stats"]["organizations"] is None
            if by == "QUARTER":
                year, quarter = int(row["key"][:4]), int(row["key"][-1])
                assert row["label"] == f"{year}年第{quarter}季度"
            else:
                assert row["label"] == f"{row['key']}年"
        want = await _direct(owner, code, first, last, fmt)
        got = {
            r["key"]: (
                r["stats"]["serviceRequests"]["total"],
                r["stats"]["participation"]["events"],
                r["stats"]["participation"]["participants"],
            )
            for r in rows
        }
        assert sum(w[0] for w in want.values()) > 0
        assert got == {k: want.get(k, (0, 0, 0)) for k in got} and set(want) <= set(got)


def _year_earlier(day: dt.date) -> dt.date:
    if (day.month, day.day) == (2, 29):
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)


def _cases(last_day: dt.date) -> list[tuple[str, dt.date, dt.date, dt.date, dt.date]]:
    """(name, from, to, previous from, previous to), computed here by the calendar."""
    month_end = last_day.replace(day=1) - dt.timedelta(days=1)
    month = month_end.replace(day=1)
    before_month = month - dt.timedelta(days=1)
    inside = last_day - dt.timedelta(days=100)
    q_month = (inside.month - 1) // 3 * 3 + 1
    quarter = dt.date(inside.year, q_month, 1)
    quarter_end = (
        dt.date(inside.year + 1, 1, 1) if q_month == 10 else dt.date(inside.year, q_month + 3, 1)
    ) - dt.timedelta(days=1)
    previous_quarter = (
        dt.date(inside.year - 1, 10, 1) if q_month == 1 else dt.date(inside.year, q_month - 3, 1)
    )
    year = last_day.year - 1
    custom = (last_day - dt.timedelta(days=75), last_day - dt.timedelta(days=31))  # 45 days
    return [
        ("month", month, month_end, before_month.replace(day=1), before_month),
        ("quarter", quarter, quarter_end, previous_quarter, quarter - dt.timedelta(days=1)),
        (
            "year",
            dt.date(year, 1, 1),
            dt.date(year, 12, 31),
            dt.date(year - 1, 1, 1),
            dt.date(year - 1, 12, 31),
        ),
        (
            "custom",
            *custom,
            custom[0] - dt.timedelta(days=45),
            custom[0] - dt.timedelta(days=1),
        ),
    ]


def _figures(stats: dict[str, Any]) -> tuple[int, int, int]:
    return (
        stats["serviceRequests"]["total"],
        stats["participation"]["events"],
        stats["participation"]["participants"],
    )


def _less(now: float | None, then: float | None) -> float | None:
    return None if now is None or then is None else now - then


@pytest.mark.parametrize("code", [COUNTY, PROVINCE])
async def test_previous_and_year_ago_equal_direct_counts_with_the_change(
    hub: Hub, owner: asyncpg.Connection, code: str
) -> None:
    for name, first, last, prev_first, prev_last in _cases(await _last_day(owner)):
        variables = {"code": code, "from": str(first), "to": str(last)}
        body = await hub.query(COMPARED, variables, as_=NATION)
        assert "errors" not in body, body
        stats = body["data"]["region"]["stats"]
        assert (stats["from"], stats["to"]) == (str(first), str(last)), name
        assert _figures(stats) == (await _direct(owner, code, first, last)).get("all", (0, 0, 0))
        ago = (_year_earlier(first), _year_earlier(last))
        for field, (start, end) in (("previous", (prev_first, prev_last)), ("yearAgo", ago)):
            compared = stats[field]
            assert (compared["from"], compared["to"]) == (str(start), str(end)), (name, field)
            then = compared["stats"]
            assert (then["from"], then["to"]) == (str(start), str(end))
            direct = (await _direct(owner, code, start, end)).get("all", (0, 0, 0))
            assert _figures(then) == direct, (name, field)
            change, now_s, then_s = (
                compared["change"],
                stats["serviceRequests"],
                then["serviceRequests"],
            )
            assert change["serviceRequests"] == now_s["total"] - then_s["total"]
            assert change["open"] == now_s["open"] - then_s["open"]
            assert change["overdue"] == now_s["overdue"] - then_s["overdue"]
            for rate in ("responseRate", "resolutionRate", "satisfactionRate"):
                assert change[rate] == pytest.approx(_less(now_s[rate], then_s[rate])), rate
            assert (
                change["events"]
                == stats["participation"]["events"] - (then["participation"]["events"])
            )
            assert (
                change["participants"]
                == stats["participation"]["participants"] - (then["participation"]["participants"])
            )
        if name == "month":  # a month with data, compared with one with data
            assert stats["previous"]["stats"]["serviceRequests"]["total"] > 0


async def test_an_unbounded_period_has_no_comparison(hub: Hub) -> None:
    body = await hub.query(COMPARED, {"code": COUNTY, "from": "2026-01-01"})
    stats = body["data"]["region"]["stats"]
    assert stats["from"] == "2026-01-01" and stats["to"] is None
    assert stats["previous"] is None and stats["yearAgo"] is None
