"""The participation statement: the unit's events and their resolutions in one statement.

Villages hold one to five events over the window, townships one to five, counties five to
fifteen, more of them lately. Deliberative events (DELIBERATION, VILLAGERS_ASSEMBLY,
JOINT_MEETING, HEARING) carry one to three resolutions on their topic: proposed, rejected or
adopted on the day, and some adopted ones implemented weeks later, before the anchor.

Parameters: $1-$3 weighted kinds of villages, townships and counties, $4/$5 topics of
villages and above, $6 volunteer topics, $7/$8 every topic and its "|"-separated resolution
texts, $9 generic resolution texts, $10 the first day (epoch seconds, 00:00 CST), $11 the
anchor (epoch seconds).
"""

from __future__ import annotations

_EVENTS = """
select e.*,
       md5('event:' || e.code || ':' || e.n)::uuid as id,
       md5('org:' || e.code || ':' || case
           when e.kind in ('DELIBERATION', 'JOINT_MEETING') then
               case when e.level = 'VILLAGE' then 'branch' else 'party' end
           when e.kind = 'PUBLIC_SUPERVISION' then
               case when e.level = 'TOWNSHIP' then 'party' else 'supervision' end
           when e.kind = 'VOLUNTEER_ACTIVITY' then 'volunteer'
           else case when e.level = 'VILLAGE' then 'committee' else 'service' end end)::uuid
           as organizer_id,
       case when e.kind = 'VOLUNTEER_ACTIVITY' then
                ($6::text[])[1 + pg_temp.h(e.key, 53) % cardinality($6::text[])]
            when e.level = 'VILLAGE' then
                ($4::text[])[1 + pg_temp.h(e.key, 53) % cardinality($4::text[])]
            else ($5::text[])[1 + pg_temp.h(e.key, 53) % cardinality($5::text[])] end as topic,
       case e.kind
           when 'VILLAGERS_ASSEMBLY' then 30 + pg_temp.h(e.key, 54) % 230
           when 'OPINION_SOLICITATION' then 20 + pg_temp.h(e.key, 54) % 380
           when 'JOINT_MEETING' then pg_temp.h(e.key, 54) % 6
           else 5 + pg_temp.h(e.key, 54) % 45 end as villagers,
       2 + pg_temp.h(e.key, 55) % 20 as party_members,
       case when e.kind in ('VOLUNTEER_ACTIVITY', 'OPINION_SOLICITATION') then 0
            else 3 + pg_temp.h(e.key, 56) % 15 end as representatives,
       case e.kind when 'JOINT_MEETING' then 5 + pg_temp.h(e.key, 57) % 16
                   else 1 + pg_temp.h(e.key, 57) % 6 end as officials
from (select r.code, r.level, r.path, r.base, r.community, n,
             r.num * 100 + n as key,
             (case r.level
                  when 'VILLAGE' then ($1::text[])[1 + pg_temp.h(r.num * 100 + n, 51) % 100]
                  when 'TOWNSHIP' then ($2::text[])[1 + pg_temp.h(r.num * 100 + n, 51) % 100]
                  else ($3::text[])[1 + pg_temp.h(r.num * 100 + n, 51) % 100]
              end) as kind,
             $10::bigint + 86400 * floor(728.999 * sqrt(pg_temp.u(r.num * 100 + n, 52)))::bigint
                 + 32400 + 1800 * (pg_temp.h(r.num * 100 + n, 58) % 21) as starts
      from synth_region r
      cross join lateral generate_series(1, case r.level
          when 'COUNTY' then 5 + pg_temp.h(r.num, 50) % 11
          else 1 + pg_temp.h(r.num, 50) % 5 end) as n) e
offset 0
"""

INSERT_EVENTS = f"""
with events as (
    insert into participation_event (
        id, region_code, path, organizer_id, kind, title, topic, starts_at, participant_count,
        participants_by_group, version, created_at, updated_at)
    select e.id, e.code, e.path, e.organizer_id, e.kind::participation_kind,
           e.base || case e.kind
               when 'VILLAGERS_ASSEMBLY' then '关于' || e.topic || '的'
                   || case when e.community then '居民代表会议' else '村民代表会议' end
               when 'DELIBERATION' then '“' || e.topic || '”议事协商会'
               when 'JOINT_MEETING' then e.topic || '联席会议'
               when 'HEARING' then e.topic || '听证会'
               when 'OPINION_SOLICITATION' then e.topic || '意见征集'
               when 'PUBLIC_SUPERVISION' then e.topic || '公开监督'
               else '“' || e.topic || '”志愿服务活动' end,
           e.topic, to_timestamp(e.starts),
           e.villagers + e.party_members + e.representatives + e.officials,
           ('{{"VILLAGERS":' || e.villagers || ',"PARTY_MEMBERS":' || e.party_members
               || ',"REPRESENTATIVES":' || e.representatives || ',"OFFICIALS":' || e.officials
               || '}}')::jsonb,
           1, to_timestamp(e.starts), to_timestamp(e.starts)
    from ({_EVENTS}) e
    returning id, region_code, path, kind, topic, starts_at, participant_count
),
resolutions as (
    insert into resolution (
        id, event_id, region_code, path, position, text, status, decided_on, implemented_on,
        votes_for, votes_against, version, created_at, updated_at)
    select md5('resolution:' || x.id || ':' || x.position)::uuid, x.id, x.region_code, x.path,
           x.position,
           coalesce(nullif(split_part(($8::text[])[array_position($7::text[], x.topic)], '|',
                                      x.position), ''),
                    ($9::text[])[1 + x.draw % cardinality($9::text[])]),
           x.status::resolution_status,
           case when x.status <> 'PROPOSED' then x.day end,
           case when x.status = 'IMPLEMENTED' then x.day + x.later end,
           case when x.voting and x.status <> 'PROPOSED' then x.votes_for end,
           case when x.voting and x.status <> 'PROPOSED' then
               ((x.participant_count - x.votes_for) * pg_temp.u(x.draw, 64))::integer end,
           case x.status when 'PROPOSED' then 1 when 'IMPLEMENTED' then 3 else 2 end,
           x.starts_at,
           case when x.status = 'IMPLEMENTED' then (x.day + x.later)::timestamp
                                                    at time zone 'Asia/Shanghai'
                else x.starts_at end
    from (select v.*,
                 case when v.fate < 0.08 then 'PROPOSED'
                      when v.fate < 0.18 then 'REJECTED'
                      when pg_temp.u(v.draw, 62) < 0.65
                           and v.day + v.later < (to_timestamp($11::bigint)
                               at time zone 'Asia/Shanghai')::date then 'IMPLEMENTED'
                      else 'ADOPTED' end as status,
                 (v.participant_count * case when v.fate < 0.18 then 0.1 + 0.35 * v.share
                                             else 0.55 + 0.4 * v.share end)::integer
                     as votes_for
          from (select ev.*, position,
                       hashtextextended(ev.id::text, position) & 1152921504606846975 as draw,
                       (ev.starts_at at time zone 'Asia/Shanghai')::date as day,
                       ev.kind in ('DELIBERATION', 'VILLAGERS_ASSEMBLY') as voting,
                       pg_temp.u(hashtextextended(ev.id::text, position), 60) as fate,
                       pg_temp.u(hashtextextended(ev.id::text, position), 63) as share,
                       (7 + pg_temp.h(hashtextextended(ev.id::text, position), 61) % 120)::integer
                           as later
                from events ev
                cross join lateral generate_series(
                    1, 1 + (hashtextextended(ev.id::text, 0) & 2147483647)::integer % 3)
                    as position
                where ev.kind in ('DELIBERATION', 'VILLAGERS_ASSEMBLY', 'JOINT_MEETING',
                                  'HEARING')) v) x
    returning 1
)
select (select count(*) from events) as events, (select count(*) from resolutions) as resolutions
"""
