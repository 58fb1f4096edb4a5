"""`grassroots db synthesize`: deterministic, consistent records over a subtree, refused twice.

The module's database is a clone of the template: county 341126 holds the demo's records,
which `--replace` swaps for synthetic ones (the small path, in one transaction, and the bulk
path, which sets keys, indexes and triggers aside, must give the same rows).
"""

from __future__ import annotations

import json
from typing import cast

import asyncpg
import pytest

from db.setup import Database
from db.synthesize import SynthesisError, SynthesisReport, synthesize
from server.settings import Settings
from tests.conftest import FOREIGN_COUNTY, running
from tests.db.test_demo import ENUM_COLUMNS, TRANSITIONS
from tests.server.test_cli import grassroots

COUNTY = "341126"
ANCHOR = "timestamptz '2026-11-15 12:00+08'"
CHECKSUMS = {
    "organization": "t.id, t.parent_id, t.kind, t.name, t.member_count, t.party_member_count",
    "service_request": "t.id, t.reference, t.status, t.submitted_at, t.resolved_at, t.history",
    "reference_counter": "t.region_code, t.year, t.last",
    "participation_event": "t.id, t.kind, t.starts_at, t.participants_by_group",
    "resolution": "t.id, t.status, t.decided_on, t.implemented_on",
}
SCHEMA_STATE = """
select (select count(*) from pg_indexes where schemaname = 'public') as indexes,
       (select count(*) from pg_constraint where connamespace = 'public'::regnamespace
                                           and convalidated) as constraints,
       (select count(*) from pg_trigger where not tgisinternal and tgenabled = 'O') as triggers
"""


async def _checksums(conn: asyncpg.Connection, county: str) -> dict[str, tuple[int, str]]:
    result = {}
    for table, columns in CHECKSUMS.items():
        row = await conn.fetchrow(
            f"select count(*), md5(string_agg(row({columns})::text, ',' order by {columns}))"
            f" from {table} t where t.region_code like $1",
            f"{county}%",
        )
        assert row is not None
        result[table] = (row[0], row[1])
    return result


@pytest.fixture(scope="module")
async def synthesized(database: Database) -> dict[str, object]:
    """Checksums around two replacing runs, small then bulk, and the refusal before them."""
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        demo = await _checksums(conn, COUNTY)
        foreign = await _checksums(conn, FOREIGN_COUNTY)
        schema = dict((await conn.fetchrow(SCHEMA_STATE)) or {})
        with pytest.raises(SynthesisError, match="already holds records"):
            await synthesize(database.owner_dsn, f"county:{COUNTY}")
        refused = await _checksums(conn, COUNTY)
        small = await synthesize(database.owner_dsn, f"county:{COUNTY}", replace=True)
        first = await _checksums(conn, COUNTY)
        large = await synthesize(
            database.owner_dsn, f"county:{COUNTY}", replace=True, bulk_load=True
        )
        return {
            "demo": demo,
            "refused": refused,
            "first": first,
            "second": await _checksums(conn, COUNTY),
            "foreign": foreign,
            "foreign_after": await _checksums(conn, FOREIGN_COUNTY),
            "schema": schema,
            "schema_after": dict((await conn.fetchrow(SCHEMA_STATE)) or {}),
            "reports": (small, large),
        }
    finally:
        await conn.close()


async def test_a_county_with_records_is_refused_and_left_alone(
    synthesized: dict[str, object],
) -> None:
    assert synthesized["refused"] == synthesized["demo"]


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ("county:110101", "not imported"),
        ("province:65", "not imported"),
        ("county:34112", "not national"),
        ("city:3411", "not national"),
        ("county:341126000", "not national"),
    ],
)
async def test_missing_divisions_and_malformed_scales_are_refused(
    database: Database, scale: str, message: str
) -> None:
    with pytest.raises(SynthesisError, match=message):
        await synthesize(database.owner_dsn, scale)


async def test_replacing_twice_gives_the_same_rows_by_either_path(
    synthesized: dict[str, object],
) -> None:
    first, second = synthesized["first"], synthesized["second"]
    assert first == second
    assert first != synthesized["demo"]
    small, large = cast(tuple[SynthesisReport, SynthesisReport], synthesized["reports"])
    assert (small.bulk, large.bulk) == (False, True)
    assert small.rows == large.rows
    assert small.rows["service_request"] == first["service_request"][0]  # type: ignore[index]


async def test_other_counties_and_the_schema_are_untouched(
    synthesized: dict[str, object],
) -> None:
    assert synthesized["foreign_after"] == synthesized["foreign"]
    assert synthesized["schema_after"] == synthesized["schema"]


async def test_references_are_unique_per_region_and_year_and_counters_follow(
    synthesized: dict[str, object], owner: asyncpg.Connection
) -> None:
    row = await owner.fetchrow(
        """
        with numbered as (
            select region_code, split_part(reference, '-', 2)::int as year,
                   split_part(reference, '-', 3)::int as n, reference, submitted_at
            from service_request where region_code like $1)
        select (select count(*) from numbered) as requests,
               (select count(distinct reference) from numbered) as references,
               (select count(*) from numbered
                where year <> extract(year from submitted_at at time zone 'Asia/Shanghai')
                   or reference not like region_code || '-%') as misplaced,
               (select count(*) from (select region_code, year, max(n) as top, count(*) as k
                                      from numbered group by 1, 2) g
                full join (select * from reference_counter where region_code like $1) c
                    on c.region_code = g.region_code and c.year = g.year
                where c.last is distinct from g.top or g.top <> g.k) as counters_off
        """,
        f"{COUNTY}%",
    )
    assert row is not None
    assert row["requests"] > 1000
    assert row["references"] == row["requests"]
    assert (row["misplaced"], row["counters_off"]) == (0, 0)


@pytest.mark.parametrize(("enum", "table", "column"), ENUM_COLUMNS)
async def test_every_enum_value_occurs(
    synthesized: dict[str, object],
    owner: asyncpg.Connection,
    enum: str,
    table: str,
    column: str,
) -> None:
    missing = await owner.fetchval(
        f"select array(select unnest(enum_range(null::{enum}))::text"
        f" except select distinct {column}::text from {table} where region_code like $1)",
        f"{COUNTY}%",
    )
    assert missing == []


async def test_timestamps_follow_the_status(
    synthesized: dict[str, object], owner: asyncpg.Connection
) -> None:
    row = await owner.fetchrow(
        f"""
        select
            count(*) filter (where status in ('RESOLVED', 'CLOSED')
                and not resolved_at >= coalesce(accepted_at, submitted_at)) as bad_resolved,
            count(*) filter (where (status = 'CLOSED') <> (closed_at is not null)
                or closed_at < resolved_at) as bad_closed,
            count(*) filter (where (status = 'SUBMITTED') = (first_responded_at is not null)
                or first_responded_at < submitted_at) as bad_response,
            count(*) filter (where satisfaction is not null
                and status not in ('RESOLVED', 'CLOSED')) as bad_rating,
            count(*) filter (where due_at <> submitted_at
                + deadline_days(category) * interval '1 day') as bad_due,
            count(*) filter (where greatest(submitted_at, updated_at) >= {ANCHOR}) as future,
            count(*) filter (where status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED')
                and due_at < {ANCHOR}) as overdue,
            count(*) filter (where satisfaction is not null) as rated,
            count(*) filter (where submitted_at < {ANCHOR} - interval '365 days') as first_year
        from service_request where region_code like $1
        """,
        f"{COUNTY}%",
    )
    assert row is not None
    bad = ("bad_resolved", "bad_closed", "bad_response", "bad_rating", "bad_due", "future")
    assert {key: row[key] for key in bad} == dict.fromkeys(bad, 0)
    assert row["overdue"] > 0 and row["rated"] > 0 and row["first_year"] > 0


async def test_history_walks_the_workflow_to_the_status(
    synthesized: dict[str, object], owner: asyncpg.Connection
) -> None:
    rows = await owner.fetch(
        """
        select s.status::text as status, s.version, s.history, s.handling_region_code,
               s.handled_by is not null as handled, r.parent_code
        from service_request s join region r on r.code = s.region_code
        where s.region_code like $1
        """,
        f"{COUNTY}%",
    )
    escalated = 0
    for row in rows:
        history = json.loads(row["history"])
        steps = {(e["action"], e.get("fromStatus"), e["toStatus"]) for e in history}
        assert steps <= TRANSITIONS
        assert [e["at"] for e in history] == sorted(e["at"] for e in history)
        assert history[-1]["toStatus"] == row["status"]
        assert len(history) == row["version"]
        if any(e["action"] == "escalate" for e in history):
            escalated += 1
            assert row["handling_region_code"] == row["parent_code"]
        if row["status"] in ("ESCALATED", "SUBMITTED", "REJECTED"):
            assert not row["handled"]
    assert escalated > 0


async def test_party_members_sit_on_branches_and_resolutions_follow_their_status(
    synthesized: dict[str, object], owner: asyncpg.Connection
) -> None:
    row = await owner.fetchrow(
        """
        select (select count(*) from organization where region_code like $1
                and party_member_count > 0
                and kind not in ('PARTY_BRANCH', 'PARTY_GENERAL_BRANCH')) as misplaced,
               (select count(*) from organization o where region_code like $1
                and kind in ('PARTY_BRANCH', 'PARTY_GENERAL_BRANCH')
                and not exists (select from organization p where p.id = o.parent_id
                                and p.kind = 'PARTY_COMMITTEE')) as orphans,
               (select count(*) from resolution where region_code like $1
                and ((status = 'PROPOSED') <> (decided_on is null)
                     or (status = 'IMPLEMENTED') <> (implemented_on is not null)
                     or implemented_on <= decided_on)) as inconsistent
        """,
        f"{COUNTY}%",
    )
    assert row is not None
    assert dict(row) == {"misplaced": 0, "orphans": 0, "inconsistent": 0}


async def test_the_records_pass_through_graphql(
    synthesized: dict[str, object], database: Database, settings: Settings
) -> None:
    query = """
    query ($under: String!) {
      region(code: $under) { stats { serviceRequests { total responseRate } } }
      serviceRequests(under: $under, first: 20) {
        edges { node { reference status requester { name phone }
                       history { at action fromStatus toStatus actor note } } }
      }
      participationEvents(under: $under, first: 5) {
        edges { node { kind participantsByGroup { key count } resolutions { status } } }
      }
    }
    """
    async with running(database, settings) as hub:
        body = await hub.query(query, {"under": COUNTY})
    assert "errors" not in body
    stats = body["data"]["region"]["stats"]["serviceRequests"]
    assert stats["total"] > 1000 and 0.8 < stats["responseRate"] < 0.95
    nodes = [edge["node"] for edge in body["data"]["serviceRequests"]["edges"]]
    assert len(nodes) == 20 and all(node["history"] for node in nodes)
    masked = [node["requester"]["phone"] for node in nodes if node["requester"]]
    assert masked and all("****" in phone for phone in masked if phone)


async def test_the_command_refuses_with_exit_code_1_and_says_why(database: Database) -> None:
    code, out, err = await grassroots(
        "db", "synthesize", "--scale", f"county:{FOREIGN_COUNTY}", database=database
    )
    assert (code, out) == (1, "")
    assert "already holds records" in err and "--replace" in err
    code, _, err = await grassroots(
        "db", "synthesize", "--scale", "town:341126101", database=database
    )
    assert code == 1 and "not national" in err
