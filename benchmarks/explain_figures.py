"""The SQL plans behind a region's figures: every statement `stats` or `breakdown` runs, with
its EXPLAIN ANALYZE, as the runtime role under a national viewer's scope.

    .venv/bin/python benchmarks/explain_figures.py --data-dir data/national 34 [--by MONTH]
        [--from 2026-01-01 --to 2026-06-30] [--plans]

Prints one line per statement (its execution time, of the last of `--repeat` runs, and top
plan node), then the figures' total; `--plans` prints the whole plans. For finding where a
slow figure spends its time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import asyncpg

from db.pool import create_pool
from db.setup import prepare
from resolvers import regions, stats
from resolvers.figures import Period
from resolvers.scope import Caller, Grant
from resolvers.session import RequestSession


class ExplainingSession(RequestSession):
    """Runs every statement twice: under EXPLAIN ANALYZE, then for real."""

    plans: list[tuple[float, str, Any]]

    repeat = 1

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await self._connection()
        for _ in range(self.repeat):  # the last run counts: warm caches
            plan = (await conn.fetchval("explain (analyze, format json) " + sql, *args))[0]
        head = sql.strip().splitlines()[0][:60]
        self.plans.append((plan["Execution Time"], head, plan))
        return await super().fetch(sql, *args)


async def run(args: argparse.Namespace) -> None:
    db = await prepare(
        data_dir=args.data_dir.resolve(),
        database_url=None,
        runtime_database_url=None,
        runtime_password=None,
    )
    try:
        pool = await create_pool(db.runtime_dsn, min_size=1, max_size=1)
        caller = Caller.from_grants("explain", [Grant("100000", "100000", frozenset({"viewer"}))])
        session = ExplainingSession(pool, caller)
        session.plans, session.repeat = [], args.repeat
        region = (await regions.by_codes(session, caller.read, [args.code]))[0]
        period = Period(args.start, args.end)
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        if args.by:
            children = await regions.children(session, caller.read, [region["code"]], 500, None)
            await stats.breakdown(session, region, period, now, args.by, children)
        else:
            await stats.whole(session, region, period, now)
        total = time.perf_counter() - started
        for ms, head, plan in session.plans:
            node = plan["Plan"]
            print(f"{ms:9.2f} ms  {node['Node Type']:<18} {head}")
            if args.plans:
                print(json.dumps(plan, indent=1))
        print(f"{total * 1000:9.2f} ms  in all (each statement ran {args.repeat + 1} times)")
        await session.close(commit=False)
        await pool.close()
    finally:
        db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("code")
    parser.add_argument("--data-dir", type=Path, default=Path("data") / "national")
    parser.add_argument("--by", choices=sorted(stats.SPLITS.keys() - {""}))
    parser.add_argument("--from", dest="start", type=dt.date.fromisoformat)
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat)
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per statement; the last counts")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
