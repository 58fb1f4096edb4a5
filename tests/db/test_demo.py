"""The synthetic demo county: complete, consistent with the workflow, and deterministic."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from db import demo, divisions, embedded
from db.setup import Database, migrate_and_grant

COUNTY = "341126"
OPEN = ["SUBMITTED", "ACCEPTED", "IN_PROGRESS", "ESCALATED"]
SHANGHAI_YEAR = "extract(year from submitted_at at time zone 'Asia/Shanghai')::int"

# The workflow of DESIGN.md §5 as (action, from, to); rating leaves the status as it is.
TRANSITIONS = {
    ("submit", None, "SUBMITTED"),
    ("accept", "SUBMITTED", "ACCEPTED"),
    ("reject", "SUBMITTED", "REJECTED"),
    ("start", "ACCEPTED", "IN_PROGRESS"),
    ("start", "IN_PROGRESS", "IN_PROGRESS"),
    ("escalate", "ACCEPTED", "ESCALATED"),
    ("escalate", "IN_PROGRESS", "ESCALATED"),
    ("accept", "ESCALATED", "ACCEPTED"),
    ("reject", "ESCALATED", "REJECTED"),
    ("resolve", "ACCEPTED", "RESOLVED"),
    ("resolve", "IN_PROGRESS", "RESOLVED"),
    ("close", "RESOLVED", "CLOSED"),
    ("reopen", "RESOLVED", "IN_PROGRESS"),
    ("withdraw", "SUBMITTED", "WITHDRAWN"),
    ("withdraw", "ACCEPTED", "WITHDRAWN"),
    ("rate", "RESOLVED", "RESOLVED"),
    ("rate", "CLOSED", "CLOSED"),
}

ENUM_COLUMNS = [
    ("organization_kind", "organization", "kind"),
    ("service_category", "service_request", "category"),
    ("service_channel", "service_request", "channel"),
    ("service_status", "service_request", "status"),
    ("participation_kind", "participation_event", "kind"),
    ("resolution_status", "resolution", "status"),
]

FINGERPRINTS = {
    table: f"""
        select count(*), md5(string_agg(t::text, E'\\n' order by {order}))
        from {table} t where t.region_code like $1
    """
    for table, order in (
        ("organization", "t.id"),
        ("service_request", "t.id"),
        ("reference_counter", "t.region_code, t.year"),
        ("participation_event", "t.id"),
        ("resolution", "t.id"),
    )
}

TIMED_TABLES = ["organization", "service_request", "participation_event", "resolution"]


async def _fingerprints(conn: asyncpg.Connection) -> dict[str, tuple[int, str]]:
    result = {}
    for table, sql in FINGERPRINTS.items():
        row = await conn.fetchrow(sql, f"{COUNTY}%")
        assert row is not None
        result[table] = (row[0], row[1])
    return result


# -- completeness ----------------------------------------------------------------------------


@pytest.mark.parametrize(("enum", "table", "column"), ENUM_COLUMNS)
async def test_every_enum_value_occurs(
    owner: asyncpg.Connection, enum: str, table: str, column: str
) -> None:
    missing = await owner.fetchval(
        f"select array(select unnest(enum_range(null::{enum}))::text"
        f" except select distinct {column}::text from {table})"
    )
    assert missing == []


async def test_volume_is_enough_for_paging(owner: asyncpg.Connection) -> None:
    row = await owner.fetchrow(
        """
        select (select count(*) from service_request) as requests,
               (select count(*) from participation_event) as events,
               (select count(*) from resolution) as resolutions,
               (select count(*) from organization) as organizations
        """
    )
    assert row is not None
    assert row["requests"] >= 20_000
    assert row["events"] >= 2_000
    assert row["resolutions"] >= 1_000
    assert row["organizations"] >= 1_000


async def test_requests_are_raised_mostly_at_villages_but_at_every_level(
    owner: asyncpg.Connection,
) -> None:
    rows = await owner.fetch(
        """
        select r.level::text as level, count(*) as n
        from service_request s join region r on r.code = s.region_code group by 1
        """
    )
    counts = {row["level"]: row["n"] for row in rows}
    assert set(counts) == {"COUNTY", "TOWNSHIP", "VILLAGE"}
    assert counts["VILLAGE"] > 0.7 * sum(counts.values())


# -- organizations ---------------------------------------------------------------------------


async def test_every_village_has_its_party_organization_committee_and_supervision(
    owner: asyncpg.Connection,
) -> None:
    missing = await owner.fetchval(
        """
        select count(*) from region v
        where v.level = 'VILLAGE' and v.code like $1 and not (
            exists (select 1 from organization o where o.region_code = v.code
                    and o.kind in ('VILLAGE_COMMITTEE', 'RESIDENTS_COMMITTEE'))
            and exists (select 1 from organization o where o.region_code = v.code
                        and o.kind in ('PARTY_BRANCH', 'PARTY_GENERAL_BRANCH'))
            and exists (select 1 from organization o where o.region_code = v.code
                        and o.kind = 'SUPERVISION_COMMITTEE'))
        """,
        f"{COUNTY}%",
    )
    assert missing == 0


async def test_residents_committees_serve_communities_and_village_committees_villages(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from organization o join region r on r.code = o.region_code
        where (o.kind = 'VILLAGE_COMMITTEE' and r.name not like '%村委会')
           or (o.kind = 'RESIDENTS_COMMITTEE' and r.name like '%村委会')
        """
    )
    assert wrong == 0


async def test_party_members_are_counted_once_at_the_lowest_party_organization(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from organization o
        where o.party_member_count > o.member_count
           or (o.kind::text <> all($1::text[]) and o.party_member_count <> 0)
           or (o.party_member_count <> 0 and exists (
                 select 1 from organization c
                 where c.parent_id = o.id and c.region_code = o.region_code
                   and c.kind::text = any($1::text[])))
        """,
        sorted(demo.PARTY_KINDS),
    )
    assert wrong == 0
    assert await owner.fetchval("select sum(party_member_count) from organization") > 0


async def test_organization_parents_are_in_the_same_or_the_parent_region(
    owner: asyncpg.Connection,
) -> None:
    row = await owner.fetchrow(
        """
        select count(*) filter (where p.region_code not in (o.region_code, r.parent_code)) as wrong,
               count(*) filter (where p.region_code = r.parent_code) as upward
        from organization o
        join organization p on p.id = o.parent_id
        join region r on r.code = o.region_code
        """
    )
    assert row is not None
    assert row["wrong"] == 0
    assert row["upward"] > 0


async def test_leaders_have_a_name_a_role_and_a_mobile_number(owner: asyncpg.Connection) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from organization
        where leader_name !~ '^\\S{2,3}$' or leader_role = ''
           or leader_phone !~ '^1[3-9][0-9]{9}$' or founded_on > created_at::date
        """
    )
    assert wrong == 0


# -- service requests ------------------------------------------------------------------------


async def test_request_timestamps_follow_the_workflow_order(owner: asyncpg.Connection) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from service_request s,
            lateral (select array_remove(array[s.submitted_at, s.first_responded_at,
                     s.accepted_at, s.resolved_at, s.closed_at], null) as times) x
        where x.times <> array(select t from unnest(x.times) t order by t)
           or s.updated_at < x.times[cardinality(x.times)]
           or s.created_at <> s.submitted_at
        """
    )
    assert wrong == 0


async def test_every_request_past_submitted_has_a_first_response(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from service_request
        where (first_responded_at is null) <> (status = 'SUBMITTED')
           or (accepted_at is not null)
              <> jsonb_path_exists(history, '$[*] ? (@.action == "accept")')
        """
    )
    assert wrong == 0


async def test_resolution_close_and_rating_columns_match_the_status(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from service_request
        where (resolved_at is not null) <> (status in ('RESOLVED', 'CLOSED'))
           or (closed_at is not null) <> (status = 'CLOSED')
           or (satisfaction is not null and status not in ('RESOLVED', 'CLOSED'))
           or (satisfaction is not null)
              <> jsonb_path_exists(history, '$[*] ? (@.action == "rate")')
        """
    )
    assert wrong == 0


async def test_due_dates_follow_the_category_deadlines(owner: asyncpg.Connection) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from service_request
        where due_at <> submitted_at
              + make_interval(days => ($1::jsonb ->> category::text)::int)
        """,
        json.dumps(demo.DEADLINE_DAYS),
    )
    assert wrong == 0


async def test_most_first_responses_come_within_a_day(owner: asyncpg.Connection) -> None:
    share = await owner.fetchval(
        """
        select count(*) filter (
                   where first_responded_at <= submitted_at + interval '24 hours')::float
               / count(*)
        from service_request
        where status <> 'WITHDRAWN'
          and (first_responded_at is not null
               or submitted_at < $1::timestamptz - interval '24 hours')
        """,
        demo.ANCHOR,
    )
    assert 0.85 <= share <= 0.95


async def test_old_requests_are_mostly_finished_and_recent_ones_open(
    owner: asyncpg.Connection,
) -> None:
    row = await owner.fetchrow(
        """
        select avg((status::text = any($2::text[]))::int)
                   filter (where submitted_at < $1::timestamptz - interval '90 days') as old_open,
               avg((status::text = any($2::text[]))::int)
                   filter (where submitted_at > $1::timestamptz - interval '3 days') as recent_open,
               count(*) filter (where status::text = any($2::text[]) and due_at < $1) as overdue
        from service_request
        """,
        demo.ANCHOR,
        OPEN,
    )
    assert row is not None
    assert row["old_open"] < 0.02
    assert row["recent_open"] > 0.3
    assert row["overdue"] > 0


async def test_about_sixty_percent_of_resolved_requests_are_rated_mostly_well(
    owner: asyncpg.Connection,
) -> None:
    row = await owner.fetchrow(
        """
        select count(satisfaction)::float / count(*) as rated,
               count(*) filter (where satisfaction >= 4)::float / count(satisfaction) as good
        from service_request where status in ('RESOLVED', 'CLOSED')
        """
    )
    assert row is not None
    assert 0.5 <= row["rated"] <= 0.7
    assert row["good"] >= 0.7


async def test_escalated_requests_are_handled_by_the_parent_region(
    owner: asyncpg.Connection,
) -> None:
    row = await owner.fetchrow(
        """
        select count(*) filter (where s.handling_region_code <> case
                   when jsonb_path_exists(s.history, '$[*] ? (@.action == "escalate")')
                   then r.parent_code else s.region_code end) as wrong,
               count(*) filter (where s.handling_region_code <> s.region_code) as escalated
        from service_request s join region r on r.code = s.region_code
        """
    )
    assert row is not None
    assert row["wrong"] == 0
    assert row["escalated"] > 0


async def test_handlers_belong_to_the_handling_region_once_accepted(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from service_request s left join organization o on o.id = s.handled_by
        where (s.handled_by is not null and o.region_code <> s.handling_region_code)
           or (s.status in ('SUBMITTED', 'ESCALATED') and s.handled_by is not null)
           or (s.status in ('ACCEPTED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED')
               and s.handled_by is null)
        """
    )
    assert wrong == 0


async def test_references_are_numbered_per_region_and_year_in_submission_order(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        f"""
        with numbered as (
            select reference, region_code, {SHANGHAI_YEAR} as year,
                   row_number() over (partition by region_code, {SHANGHAI_YEAR}
                                      order by submitted_at, reference) as n
            from service_request)
        select count(*) from numbered
        where reference !~ '^[0-9]{{6,12}}-20[0-9]{{2}}-[0-9]{{6}}$'
           or reference <> region_code || '-' || year || '-' || lpad(n::text, 6, '0')
        """
    )
    assert wrong == 0


async def test_reference_counters_hold_the_last_number_used(owner: asyncpg.Connection) -> None:
    wrong = await owner.fetchval(
        f"""
        select count(*)
        from (select region_code, {SHANGHAI_YEAR} as year, count(*) as used
              from service_request group by 1, 2) s
        full join reference_counter c using (region_code, year)
        where c.last is distinct from s.used
        """
    )
    assert wrong == 0


async def test_history_ends_in_the_status_and_counts_the_version(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from service_request
        where history -> -1 ->> 'toStatus' <> status::text
           or jsonb_array_length(history) <> version
           or history -> 0 ->> 'action' <> 'submit'
        """
    )
    assert wrong == 0


async def test_history_entries_chain_oldest_first(owner: asyncpg.Connection) -> None:
    wrong = await owner.fetchval(
        """
        with entries as (
            select h.e, h.ord,
                   lag(h.e ->> 'toStatus') over w as previous_status,
                   lag(h.e ->> 'at') over w as previous_at
            from service_request s, jsonb_array_elements(s.history) with ordinality h(e, ord)
            window w as (partition by s.id order by h.ord))
        select count(*) from entries
        where e ->> 'at' !~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\+08:00$'
           or e ->> 'actor' !~ '^staff-[0-9]{6,12}$'
           or (ord > 1 and (e ->> 'fromStatus' is distinct from previous_status
                            or (e ->> 'at')::timestamptz < previous_at::timestamptz))
        """
    )
    assert wrong == 0


async def test_history_uses_only_the_workflow_transitions(owner: asyncpg.Connection) -> None:
    rows = await owner.fetch(
        """
        select distinct h.e ->> 'action' as action, h.e ->> 'fromStatus' as source,
               h.e ->> 'toStatus' as target
        from service_request s, jsonb_array_elements(s.history) h(e)
        """
    )
    used = {(row["action"], row["source"], row["target"]) for row in rows}
    assert used <= TRANSITIONS
    assert {action for action, _, _ in used} == {t[0] for t in TRANSITIONS}


async def test_reopening_happens_within_fifteen_days_and_rating_once(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from service_request s
        where jsonb_array_length(
                  jsonb_path_query_array(s.history, '$[*] ? (@.action == "rate")')) > 1
           or exists (
               select 1 from jsonb_array_elements(s.history) with ordinality h(e, ord)
               join jsonb_array_elements(s.history) with ordinality p(e, ord) on p.ord = h.ord - 1
               where h.e ->> 'action' = 'reopen'
                 and (h.e ->> 'at')::timestamptz > (p.e ->> 'at')::timestamptz + interval '15 days')
        """
    )
    assert wrong == 0


async def test_a_few_texts_carry_phone_or_id_numbers_to_mask(owner: asyncpg.Connection) -> None:
    share = await owner.fetchval(
        """
        select avg((mask_text(title) <> title
                    or mask_text(coalesce(description, '')) <> coalesce(description, ''))::int)
        from service_request
        """
    )
    assert 0.01 <= share <= 0.1


async def test_some_hotline_callers_are_anonymous(owner: asyncpg.Connection) -> None:
    row = await owner.fetchrow(
        """
        select count(*) filter (where requester_name is null) as anonymous,
               count(*) filter (where requester_name is null and channel <> 'HOTLINE'
                                and channel <> 'ONLINE') as unexpected,
               count(*) filter (where requester_phone !~ '^1[3-9][0-9]{9}$') as bad_phones
        from service_request
        """
    )
    assert row is not None
    assert row["anonymous"] > 0
    assert row["unexpected"] == 0
    assert row["bad_phones"] == 0


# -- participation ---------------------------------------------------------------------------


async def test_participants_by_group_sum_to_the_participant_count(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from participation_event e
        where e.participant_count <> (
                select coalesce(sum(value::int), 0) from jsonb_each_text(e.participants_by_group))
           or e.participant_count = 0
           or exists (select 1 from jsonb_each_text(e.participants_by_group)
                      where key <> all($1::text[]) or value::int <= 0)
        """,
        list(demo.PARTICIPANT_GROUPS),
    )
    assert wrong == 0


async def test_events_fall_in_the_window_and_are_organized_in_their_region(
    owner: asyncpg.Connection,
) -> None:
    row = await owner.fetchrow(
        f"""
        select count(*) filter (
                   where o.region_code <> e.region_code or e.starts_at >= $1
                      or e.starts_at < $1::timestamptz - interval '{demo.WINDOW_DAYS + 1} days')
                   as wrong,
               count(*) filter (where e.organizer_id is null) as unorganized
        from participation_event e left join organization o on o.id = e.organizer_id
        """,
        demo.ANCHOR,
    )
    assert row is not None
    assert row["wrong"] == 0
    assert row["unorganized"] > 0


async def test_resolutions_belong_to_deliberative_events_and_match_their_status(
    owner: asyncpg.Connection,
) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from resolution r join participation_event e on e.id = r.event_id
        where r.region_code <> e.region_code
           or e.kind::text <> all($1::text[])
           or (r.decided_on is null) <> (r.status = 'PROPOSED')
           or (r.implemented_on is not null) <> (r.status = 'IMPLEMENTED')
           or r.implemented_on <= r.decided_on
           or r.decided_on < (e.starts_at at time zone 'Asia/Shanghai')::date
           or r.implemented_on > ($2 at time zone 'Asia/Shanghai')::date
           or coalesce(r.votes_for, 0) + coalesce(r.votes_against, 0) > e.participant_count
           or (r.status in ('ADOPTED', 'IMPLEMENTED') and r.votes_for <= r.votes_against)
           or (r.status = 'REJECTED' and r.votes_for > r.votes_against)
        """,
        sorted(demo.DELIBERATIVE_KINDS),
        demo.ANCHOR,
    )
    assert wrong == 0


async def test_resolution_positions_run_from_one_without_gaps(owner: asyncpg.Connection) -> None:
    wrong = await owner.fetchval(
        """
        select count(*) from (
            select event_id from resolution group by event_id
            having min(position) <> 1 or max(position) <> count(*)) gaps
        """
    )
    assert wrong == 0


# -- time and repeatability ------------------------------------------------------------------


@pytest.mark.parametrize("table", TIMED_TABLES)
async def test_rows_carry_past_times_not_the_seeding_time(
    owner: asyncpg.Connection, table: str
) -> None:
    wrong = await owner.fetchval(
        f"select count(*) from {table} where created_at > $1 or updated_at > $1"
        f" or updated_at < created_at",
        demo.ANCHOR,
    )
    assert wrong == 0


async def test_seeding_again_writes_nothing(owner: asyncpg.Connection) -> None:
    before = await _fingerprints(owner)
    report = await demo.seed_demo(owner)
    assert report == demo.DemoReport()
    assert await _fingerprints(owner) == before


async def test_seeding_a_fresh_database_gives_identical_rows(
    database: Database, owner: asyncpg.Connection
) -> None:
    server = database.server
    assert server is not None
    name = f"hub_test_demo_{uuid.uuid4().hex[:12]}"
    superuser = await asyncpg.connect(server.superuser_dsn())
    try:
        await superuser.execute(f'create database {name} owner "{embedded.OWNER}"')
        try:
            fresh_dsn = server.owner_dsn(name)
            await migrate_and_grant(fresh_dsn, None)
            fresh = await asyncpg.connect(fresh_dsn)
            try:
                await divisions.import_divisions(fresh, divisions.DEMO_DIVISIONS)
                report = await demo.seed_demo(fresh)
                seeded = await _fingerprints(fresh)
            finally:
                await fresh.close()
        finally:
            await superuser.execute(f"drop database {name} with (force)")
    finally:
        await superuser.close()
    assert report.service_requests == seeded["service_request"][0] > 0
    assert seeded == await _fingerprints(owner)
