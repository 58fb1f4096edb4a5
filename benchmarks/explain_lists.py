"""The SQL plan of one page of a record list in each order: EXPLAIN ANALYZE of the page
statement as the runtime role under a county viewer's scope, forward and backward.

    .venv/bin/python benchmarks/explain_lists.py --data-dir data 341126 [--first 50]
        [--plans]

Prints one line per list, order and direction (the execution time of the last of
`--repeat` runs and the plan's scan of the table), so an order that sorts the whole subtree
instead of walking an index shows. The data folder must hold a seeded hub (`grassroots db
seed-demo`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.pool import create_pool
from db.setup import prepare
from resolvers import listing, organizations, participation, services
from resolvers.ids import CursorCodec
from resolvers.scope import Caller, Grant
from resolvers.session import RequestSession


class ExplainingSession(RequestSession):
    """Runs each statement under EXPLAIN ANALYZE (`repeat` times; the last counts), then
    for real."""

    plans: list[tuple[float, Any]]
    repeat = 3

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        bound, values = self._bound(sql, args)
        conn = await self._connection()
        for _ in range(self.repeat):
            plan = (await conn.fetchval("explain (analyze, format json) " + bound, *values))[0]
        self.plans.append((plan["Execution Time"], plan))
        return await super().fetch(sql, *args)


LISTS: list[tuple[listing.ListSpec, tuple[Any, ...]]] = [
    (
        services.LIST,
        services.filters(None, None, None, None, None, None, None, dt.datetime.now(dt.UTC)),
    ),
    (organizations.LIST, organizations.filters(None, None)),
    (participation.LIST, participation.filters(None, None, None, None)),
]


def _scans(node: dict[str, Any]) -> list[str]:
    found = []
    if "Relation Name" in node and node["Relation Name"] != "region":
        found.append(f"{node['Node Type']} {node.get('Index Name', '')}".strip())
    for child in node.get("Plans", []):
        found += _scans(child)
    return found


async def run(args: argparse.Namespace) -> None:
    db = await prepare(
        data_dir=args.data_dir.resolve(),
        database_url=None,
        runtime_database_url=None,
        runtime_password=None,
    )
    try:
        owner = await asyncpg.connect(db.owner_dsn)
        path = await owner.fetchval("select path::text from region where code = $1", args.code)
        await owner.close()
        pool = await create_pool(db.runtime_dsn, min_size=1, max_size=1)
        caller = Caller.from_grants("explain", [Grant(args.code, path, frozenset({"viewer"}))])
        session = ExplainingSession(pool, caller)
        session.plans, session.repeat = [], args.repeat
        codec = CursorCodec("explain-lists-benchmark")
        for spec, filters in LISTS:
            for order in spec.orders:
                for backward in (False, True):
                    session.plans.clear()
                    list_args = listing.list_args(
                        spec,
                        codec,
                        filters,
                        order,
                        None if backward else args.first,
                        None,
                        args.first if backward else None,
                    )
                    await listing.root_page(session, codec, spec, (path,), list_args)
                    ms, plan = session.plans[0]
                    way = "backward" if backward else "forward"
                    scans = ", ".join(_scans(plan["Plan"]))
                    print(f"{ms:9.2f} ms  {spec.name:<20} {order:<18} {way:<8} {scans}")
                    if args.plans:
                        print(json.dumps(plan, indent=1))
        await session.close(commit=False)
        await pool.close()
    finally:
        db.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("code")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per statement; the last counts")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
