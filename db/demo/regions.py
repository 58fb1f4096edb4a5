"""The county's real regions, loaded from the region table, and their weighted draws."""

from __future__ import annotations

import random
from dataclasses import dataclass

import asyncpg

from db.demo.draws import Weighted

# A county's subtree is the range of codes [code, code || ':'): its codes all start with it.
SELECT_REGIONS = """
select code, level::text as level, name, parent_code
from region
where code >= $1 and code < $1 || ':'
order by code
"""


@dataclass(frozen=True)
class Region:
    code: str
    level: str
    name: str
    parent_code: str | None

    @property
    def base(self) -> str:
        """The name as organizations use it: 北墙村委会 → 北墙村, 中都城社区居委会 → 中都城社区."""
        for suffix, replacement in (
            ("村委会", "村"),
            ("社区居委会", "社区"),
            ("居委会", ""),
            ("管理委员会", ""),
        ):
            if self.name.endswith(suffix) and len(self.name) > len(suffix):
                return self.name[: -len(suffix)] + replacement
        return self.name

    @property
    def is_rural(self) -> bool:
        return self.level == "VILLAGE" and self.name.endswith("村委会")

    @property
    def resident_word(self) -> str:
        if self.level != "VILLAGE":
            return "群众"
        return "村民" if self.is_rural else "居民"


@dataclass(frozen=True)
class County:
    county: Region
    townships: tuple[Region, ...]
    villages: dict[str, tuple[Region, ...]]  # by township code
    by_code: dict[str, Region]

    @property
    def all_villages(self) -> list[Region]:
        return [v for t in self.townships for v in self.villages[t.code]]


async def _load_county(conn: asyncpg.Connection, county_code: str) -> County:
    rows = await conn.fetch(SELECT_REGIONS, county_code)
    regions = [Region(r["code"], r["level"], r["name"], r["parent_code"]) for r in rows]
    by_code = {r.code: r for r in regions}
    county = by_code.get(county_code)
    if county is None or county.level != "COUNTY":
        raise ValueError(f"county {county_code} is not in the region table; import divisions first")
    townships = tuple(r for r in regions if r.level == "TOWNSHIP")
    villages = {t.code: tuple(r for r in regions if r.parent_code == t.code) for t in townships}
    return County(county, townships, villages, by_code)


def _weighted_regions(
    rng: random.Random, county: County, shares: tuple[float, float, float]
) -> Weighted[Region]:
    """The county's regions, weighted to give villages, townships and the county their shares."""
    villages = {
        v: rng.uniform(0.6, 1.4) * (1.0 if v.is_rural else 1.6) for v in county.all_villages
    }
    townships = {t: rng.uniform(0.7, 1.3) for t in county.townships}
    village_total, township_total = sum(villages.values()), sum(townships.values())
    return Weighted(
        {
            **{v: shares[0] * w / village_total for v, w in villages.items()},
            **{t: shares[1] * w / township_total for t, w in townships.items()},
            county.county: shares[2],
        }
    )
