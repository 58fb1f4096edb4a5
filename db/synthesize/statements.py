"""The generating statements: one `INSERT … SELECT` per table and unit of the tree.

Every value is a function of region codes and row numbers: ids are `md5(…)::uuid` of a
row's natural key, and draws are `hashint8extended(key, salt)`, so the same tree gives the
same rows on every run, in any order and on any connection. A unit's regions are staged in
the session's temporary tables first; the parameters come from `db.synthesize.lists`.
Timestamps are computed as epoch seconds and cut off at the anchor: a step planned after it
has not happened yet.
"""

from __future__ import annotations

# Session helpers, inlined by the planner: a draw in [0, 1), a non-negative draw, a time in
# China Standard Time as ISO 8601 (timestamp text under the ISO date style, which the session
# sets), and a step of a request's history as JSON text (its values are ASCII or fixed texts).
CREATE_HELPERS = (
    """
    create or replace function pg_temp.u(k bigint, salt integer) returns float8
        language sql immutable parallel safe
    as $$ select (hashint8extended(k, salt) & 2147483647)::float8 / 2147483648 $$
    """,
    """
    create or replace function pg_temp.h(k bigint, salt integer) returns bigint
        language sql immutable parallel safe
    as $$ select hashint8extended(k, salt) & 9223372036854775807 $$
    """,
    """
    create or replace function pg_temp.iso(at bigint) returns text
        language sql stable parallel safe
    as $$
        select replace(left((to_timestamp(at + 28800) at time zone 'UTC')::text, 19), ' ', 'T')
            || '+08:00'
    $$
    """,
    """
    create or replace function pg_temp.step(at bigint, action text, from_status text,
                                            to_status text, actor text, note text)
        returns text
        language sql stable parallel safe
    as $$
        select '{"at":"' || pg_temp.iso(at) || '","action":"' || action
            || coalesce('","fromStatus":"' || from_status, '') || '","toStatus":"' || to_status
            || '","actor":"' || actor || coalesce('","note":"' || note, '') || '"}'
    $$
    """,
    """
    create temp table if not exists synth_region (
        code        text collate "C" primary key,
        parent_code text collate "C" not null,
        level       region_level not null,
        path        ltree not null,
        num         bigint not null,
        base        text not null,
        parent_name text not null,
        community   boolean not null
    )
    """,
    """
    create temp table if not exists synth_plan (
        code        text collate "C" not null,
        parent_code text collate "C" not null,
        level       region_level not null,
        path        ltree not null,
        num         bigint not null,
        base        text not null,
        year        integer not null,
        low         bigint not null,
        high        bigint not null,
        k           integer not null
    )
    """,
)

# The unit's regions that hold records (counties, townships, villages), with the short
# name records use: 大坡村委会 → 大坡村, 多福巷社区居委会 → 多福巷社区. The subtree is a range
# of codes (0004_list_targets), which the primary key finds faster than the path's GiST index.
INSERT_REGIONS = """
insert into synth_region
select r.code, r.parent_code, r.level, r.path, r.code::bigint,
       case when r.level = 'VILLAGE' then
           regexp_replace(regexp_replace(r.name, '(村民委员会|村委会)$', '村'),
                          '(社区)?(居民委员会|居委会)$', '社区')
       else r.name end,
       p.name,
       r.level = 'VILLAGE' and r.name ~ '(社区|居委会|居民委员会)$'
from region r
join region p on p.code = r.parent_code
where r.code >= subtree_low($1::ltree) and r.code < subtree_low($1::ltree) || ':'
  and r.level in ('COUNTY', 'TOWNSHIP', 'VILLAGE')
"""
CLEAR_UNIT = "truncate synth_region, synth_plan"

# How many requests each region raised each year ($1 years, $2/$3 their bounds in epoch
# seconds, $4 the share of a full year in the window times growth, $5-$7 yearly rates of
# villages, townships and counties), jittered per region and rounded stochastically.
INSERT_PLAN = """
insert into synth_plan
select r.code, r.parent_code, r.level, r.path, r.num, r.base, y.year, y.low, y.high,
       floor(case r.level when 'VILLAGE' then $5::float8 when 'TOWNSHIP' then $6::float8
                          else $7::float8 end
             * y.weight * (0.4 + 1.2 * pg_temp.u(r.num * 10 + y.year % 10, 40))
             + pg_temp.u(r.num * 10 + y.year % 10, 41))::integer
from synth_region r
cross join unnest($1::integer[], $2::bigint[], $3::bigint[], $4::float8[])
    as y(year, low, high, weight)
"""

INSERT_COUNTERS = """
insert into reference_counter (region_code, year, last)
select code, year, k from synth_plan where k > 0
"""

_LEADER = """
    ($1::text[])[1 + pg_temp.h({k}, 20) % cardinality($1::text[])]
        || ($2::text[])[1 + pg_temp.h({k}, 21) % cardinality($2::text[])]
        || case when pg_temp.u({k}, 22) < 0.7
                then ($2::text[])[1 + pg_temp.h({k}, 23) % cardinality($2::text[])] else '' end,
    {role},
    ($3::text[])[1 + pg_temp.h({k}, 24) % cardinality($3::text[])]
        || lpad((pg_temp.h({k}, 25) % 100000000)::text, 8, '0')
"""

ORGANIZATION_COLUMNS = """
    id, region_code, path, parent_id, kind, name, member_count, party_member_count,
    leader_name, leader_role, leader_phone, founded_on, version, created_at, updated_at
"""

# Five per village; party members sit on the branch only (DESIGN.md §5: counted once, at
# the lowest party organization). The branch answers to the township's party committee,
# the village's other organizations to the branch.
INSERT_VILLAGE_ORGANIZATIONS = f"""
insert into organization ({ORGANIZATION_COLUMNS})
select md5('org:' || v.code || ':' || v.slot)::uuid, v.code, v.path,
       case when v.slot = 'branch' then md5('org:' || v.parent_code || ':party')::uuid
            else md5('org:' || v.code || ':branch')::uuid end,
       (case v.slot
            when 'branch' then case when v.party > 50 then 'PARTY_GENERAL_BRANCH'
                                    else 'PARTY_BRANCH' end
            when 'committee' then case when v.community then 'RESIDENTS_COMMITTEE'
                                       else 'VILLAGE_COMMITTEE' end
            when 'economy' then 'COLLECTIVE_ECONOMY'
            when 'supervision' then 'SUPERVISION_COMMITTEE'
            else 'VOLUNTEER_TEAM' end)::organization_kind,
       case v.slot
            when 'branch' then '中共' || v.base
                || case when v.party > 50 then '总支部委员会' else '支部委员会' end
            when 'committee' then v.base
                || case when v.community then '居民委员会' else '村民委员会' end
            when 'economy' then v.base || '股份经济合作社'
            when 'supervision' then v.base
                || case when v.community then '居务监督委员会' else '村务监督委员会' end
            else v.base || '志愿服务队' end,
       case v.slot
            when 'branch' then v.party
            when 'committee' then 5 + pg_temp.h(v.k, 2) % 5
            when 'economy' then 150 + pg_temp.h(v.k, 2) % 1400
            when 'supervision' then 3 + pg_temp.h(v.k, 2) % 3
            else 12 + pg_temp.h(v.k, 2) % 70 end,
       case when v.slot = 'branch' then v.party else 0 end,
       {_LEADER.format(k="v.k", role="v.role")},
       date '1990-01-01' + (pg_temp.h(v.k, 3) % 11000)::integer,
       1, to_timestamp($4::bigint), to_timestamp($4::bigint)
from (select r.*, r.num * 10 + s.n as k, s.slot, s.role,
             (10 + pg_temp.h(r.num, 1) % 71)::integer as party
      from synth_region r
      cross join (values (1, 'branch', '书记'), (2, 'committee', '主任'),
                         (3, 'economy', '理事长'), (4, 'supervision', '主任'),
                         (5, 'volunteer', '队长')) as s(n, slot, role)
      where r.level = 'VILLAGE') v
"""

# Townships and counties: a party committee (the county's heads the townships'), a service
# centre that handles requests, and social organizations and volunteer teams.
INSERT_UPPER_ORGANIZATIONS = f"""
insert into organization ({ORGANIZATION_COLUMNS})
select md5('org:' || v.code || ':' || v.slot)::uuid, v.code, v.path,
       case when v.slot = 'party' then
                case when v.level = 'TOWNSHIP' then md5('org:' || v.parent_code || ':party')::uuid
                end
            else md5('org:' || v.code || ':party')::uuid end,
       v.kind::organization_kind,
       case v.slot
            when 'party' then '中共'
                || case when v.level = 'TOWNSHIP' then v.parent_name || v.base else v.base end
                || case when v.base like '%街道' then '工作委员会' else '委员会' end
            when 'service' then v.base || case when v.level = 'COUNTY' then '政务服务中心'
                                               else '便民服务中心' end
            when 'supervision' then v.base || '监察委员会'
            when 'social' then v.base || case when v.level = 'COUNTY' then '慈善协会'
                                              else '商会' end
            when 'society' then v.base || '社会工作协会'
            else v.base || '新时代文明实践志愿服务队' end,
       case v.slot
            when 'party' then 7 + pg_temp.h(v.k, 2) % 9
            when 'service' then 12 + pg_temp.h(v.k, 2) % 60
            when 'supervision' then 10 + pg_temp.h(v.k, 2) % 20
            else 30 + pg_temp.h(v.k, 2) % 400 end,
       0,
       {_LEADER.format(k="v.k", role="v.role")},
       date '1980-01-01' + (pg_temp.h(v.k, 3) % 14000)::integer,
       1, to_timestamp($4::bigint), to_timestamp($4::bigint)
from (select r.*, r.num * 10 + s.n as k, s.slot, s.kind, s.role
      from synth_region r
      join (values ('TOWNSHIP', 1, 'party', 'PARTY_COMMITTEE', '书记'),
                   ('TOWNSHIP', 2, 'service', 'SERVICE_CENTRE', '主任'),
                   ('TOWNSHIP', 3, 'social', 'SOCIAL_ORGANIZATION', '会长'),
                   ('TOWNSHIP', 4, 'volunteer', 'VOLUNTEER_TEAM', '队长'),
                   ('COUNTY', 1, 'party', 'PARTY_COMMITTEE', '书记'),
                   ('COUNTY', 2, 'service', 'SERVICE_CENTRE', '主任'),
                   ('COUNTY', 3, 'supervision', 'SUPERVISION_COMMITTEE', '主任'),
                   ('COUNTY', 4, 'social', 'SOCIAL_ORGANIZATION', '会长'),
                   ('COUNTY', 5, 'society', 'SOCIAL_ORGANIZATION', '理事长'),
                   ('COUNTY', 6, 'volunteer', 'VOLUNTEER_TEAM', '队长'))
          as s(level, n, slot, kind, role) on s.level::region_level = r.level) v
"""
