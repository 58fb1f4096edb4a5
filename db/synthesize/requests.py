"""The service request statement: every request of the unit's plan in one `INSERT … SELECT`.

A request's whole life is planned first (DESIGN.md §5, with the demo's odds): a response
within 24 hours for nine in ten, rejection or withdrawal for a few, a start, an escalation to
the parent region for some (which the parent accepts or rejects), a resolution after a share
of the category's deadline (a few very late), then a rating and a close. Steps planned after
the anchor have not happened yet, which leaves recent requests open and some overdue.
References are numbered per region and year in submission order: the plan gives each
(region, year) `k` requests in `k` consecutive slices of that year's part of the window.

Parameters: $1 category names, $2 weighted category ordinals, $3-$5 weighted channels of
villages, townships and counties, $6/$7 titles and descriptions (TITLES_PER_CATEGORY per
category), $8-$10 surnames, given names and mobile prefixes, $11-$14 notes of reject,
escalate, withdraw and resolve, $15 weighted scores, $16 the anchor (epoch seconds).
"""

from __future__ import annotations

from db.synthesize.lists import TITLES_PER_CATEGORY

# Every draw: key = region, year and number; each salt is one independent draw.
_DRAWS = f"""
select s.*,
       ($1::text[])[s.c] as category,
       deadline_days((($1::text[])[s.c])::service_category) as deadline,
       (s.c - 1) * {TITLES_PER_CATEGORY} + 1 + pg_temp.h(s.key, 29) % {TITLES_PER_CATEGORY}
           as text_index,
       s.f < 0.03 as rejected,
       s.f >= 0.03 and s.f < 0.055 as withdrawn,
       s.f >= 0.055 as normal,
       greatest(60, case when pg_temp.u(s.key, 5) < 0.9
                         then (0.05 + 0.95 * pg_temp.u(s.key, 6)) ^ 2 * 84600
                         when pg_temp.u(s.key, 5) < 0.99
                         then (24.5 + 95.5 * pg_temp.u(s.key, 6)) * 3600
                         else (72 + 648 * pg_temp.u(s.key, 6)) * 3600 end)::bigint as d_resp,
       (3600 + 104400 * pg_temp.u(s.key, 7))::bigint as d_wd,
       case when s.f >= 0.055 and pg_temp.u(s.key, 8) < 0.85
            then (1800 + 84600 * pg_temp.u(s.key, 9))::bigint end as d_start,
       case when s.f >= 0.055 and s.level <> 'COUNTY' and pg_temp.u(s.key, 10) < 0.06
            then (3600 + 342000 * pg_temp.u(s.key, 11))::bigint end as d_esc,
       pg_temp.u(s.key, 12) < 0.08 as esc_rejected,
       (case when pg_temp.u(s.key, 13) < 0.9 then 7200 + 252000 * pg_temp.u(s.key, 14)
             else 432000 + 3024000 * pg_temp.u(s.key, 14) end)::bigint as d_eresp,
       (3600 + 82800 * pg_temp.u(s.key, 15))::bigint as d_estart,
       case when pg_temp.u(s.key, 16) < 0.82 then 0.05 + 0.85 * pg_temp.u(s.key, 17)
            when pg_temp.u(s.key, 16) < 0.97 then 0.9 + 1.1 * pg_temp.u(s.key, 17)
            else 2 + 4 * pg_temp.u(s.key, 17) end as share,
       (3600 + 39600 * pg_temp.u(s.key, 18))::bigint as d_work,
       case when pg_temp.u(s.key, 19) < 0.92
            then (86400 + 1209600 * pg_temp.u(s.key, 20))::bigint end as d_close,
       pg_temp.u(s.key, 21) < 0.65 as rated,
       pg_temp.u(s.key, 22) as rate_at,
       ($15::integer[])[1 + pg_temp.h(s.key, 23) % cardinality($15::integer[])] as score
from (select p.code, p.parent_code, p.level, p.path, p.base, p.year, j,
             p.num * 1000000 + (p.year % 10) * 100000 + j as key,
             p.low + floor((p.high - p.low) * (j - 1 + pg_temp.u(p.num * 1000000
                 + (p.year % 10) * 100000 + j, 1)) / p.k)::bigint as t0,
             ($2::integer[])[1 + pg_temp.h(p.num * 1000000 + (p.year % 10) * 100000 + j, 2)
                 % cardinality($2::integer[])] as c,
             pg_temp.u(p.num * 1000000 + (p.year % 10) * 100000 + j, 4) as f
      from synth_plan p
      cross join generate_series(1, p.k) as j) s
offset 0
"""

# The planned times, epoch seconds; null for steps a request never takes.
_PLANNED = f"""
select d.*,
       d.t0 + d.d_resp as p_resp,
       case when d.withdrawn then d.t0 + d.d_resp + d.d_wd end as p_wd,
       d.t0 + d.d_resp + d.d_start as p_start,
       d.t0 + d.d_resp + coalesce(d.d_start, 0) + d.d_esc as p_esc,
       d.t0 + d.d_resp + coalesce(d.d_start, 0) + d.d_esc + d.d_eresp as p_eresp,
       case when not d.esc_rejected then
           d.t0 + d.d_resp + coalesce(d.d_start, 0) + d.d_esc + d.d_eresp + d.d_estart end
           as p_estart,
       case when d.normal and not (d.d_esc is not null and d.esc_rejected) then
           greatest(d.t0 + (d.deadline * 86400 * d.share)::bigint,
                    d.t0 + d.d_resp + coalesce(d.d_start, 0)
                        + coalesce(d.d_esc + d.d_eresp + d.d_estart, 0) + d.d_work) end as p_res
from ({_DRAWS}) d
offset 0
"""

# Cut at the anchor: what has happened by then.
_HAPPENED = f"""
select p.*,
       case when p.p_resp < $16 then p.p_resp end as t_resp,
       case when p.p_wd < $16 then p.p_wd end as t_wd,
       case when p.p_start < $16 then p.p_start end as t_start,
       case when p.p_esc < $16 then p.p_esc end as t_esc,
       case when p.p_eresp < $16 then p.p_eresp end as t_eresp,
       case when p.p_estart < $16 then p.p_estart end as t_estart,
       case when p.p_res < $16 then p.p_res end as t_res,
       case when p.rated and p.p_res + rate.after < $16 then p.p_res + rate.after end as t_rate,
       case when p.p_res + p.d_close < $16 then p.p_res + p.d_close end as t_close
from ({_PLANNED}) p
cross join lateral (
    select (case when p.d_close is not null then p.d_close * (0.1 + 0.8 * p.rate_at)
                 else 7200 + 338400 * p.rate_at end)::bigint as after) rate
offset 0
"""

INSERT_REQUESTS = f"""
insert into service_request (
    id, reference, region_code, path, handling_region_code, handled_by, category, channel,
    status, title, description, requester_name, requester_phone, submitted_at,
    first_responded_at, accepted_at, due_at, resolved_at, closed_at, satisfaction, history,
    version, created_at, updated_at)
select md5('request:' || r.code || ':' || r.year || ':' || r.j)::uuid,
       r.code || '-' || r.year || '-' || lpad(r.j::text, 6, '0'),
       r.code, r.path,
       case when r.t_esc is null then r.code else r.parent_code end,
       case when r.t_esc is null then
                case when r.t_resp is not null and not r.rejected then md5('org:' || r.code
                    || case when r.level = 'VILLAGE' then ':committee' else ':service' end)::uuid
                end
            when r.t_eresp is not null and not r.esc_rejected then
                md5('org:' || r.parent_code || ':service')::uuid end,
       r.category::service_category, r.channel::service_channel,
       (case when r.t_close is not null then 'CLOSED'
             when r.t_res is not null then 'RESOLVED'
             when r.t_estart is not null then 'IN_PROGRESS'
             when r.t_eresp is not null then
                 case when r.esc_rejected then 'REJECTED' else 'ACCEPTED' end
             when r.t_esc is not null then 'ESCALATED'
             when r.t_start is not null then 'IN_PROGRESS'
             when r.t_wd is not null then 'WITHDRAWN'
             when r.t_resp is not null then
                 case when r.rejected then 'REJECTED' else 'ACCEPTED' end
             else 'SUBMITTED' end)::service_status,
       r.base || ($6::text[])[r.text_index],
       case when pg_temp.u(r.key, 30) < 0.3 then ($7::text[])[r.text_index] end,
       r.requester,
       case when r.requester is not null and pg_temp.u(r.key, 28) < 0.95 then
           ($10::text[])[1 + pg_temp.h(r.key, 31) % cardinality($10::text[])]
               || lpad((pg_temp.h(r.key, 32) % 100000000)::text, 8, '0') end,
       to_timestamp(r.t0), to_timestamp(r.t_resp),
       case when not r.rejected then to_timestamp(r.t_resp) end,
       to_timestamp(r.t0 + r.deadline * 86400), to_timestamp(r.t_res), to_timestamp(r.t_close),
       case when r.t_rate is not null then r.score end,
       ('[' || concat_ws(',',
           pg_temp.step(r.t0, 'submit', null, 'SUBMITTED', r.actor, null),
           case when r.rejected then
               pg_temp.step(r.t_resp, 'reject', 'SUBMITTED', 'REJECTED', r.actor,
                   ($11::text[])[1 + pg_temp.h(r.key, 33) % cardinality($11::text[])]) end,
           case when not r.rejected then
               pg_temp.step(r.t_resp, 'accept', 'SUBMITTED', 'ACCEPTED', r.actor, null) end,
           pg_temp.step(r.t_wd, 'withdraw', 'ACCEPTED', 'WITHDRAWN', r.actor,
               ($13::text[])[1 + pg_temp.h(r.key, 34) % cardinality($13::text[])]),
           pg_temp.step(r.t_start, 'start', 'ACCEPTED', 'IN_PROGRESS', r.actor, null),
           pg_temp.step(r.t_esc, 'escalate',
               case when r.t_start is null then 'ACCEPTED' else 'IN_PROGRESS' end,
               'ESCALATED', r.actor,
               ($12::text[])[1 + pg_temp.h(r.key, 35) % cardinality($12::text[])]),
           case when r.esc_rejected then
               pg_temp.step(r.t_eresp, 'reject', 'ESCALATED', 'REJECTED', r.upper_actor,
                   ($11::text[])[1 + pg_temp.h(r.key, 36) % cardinality($11::text[])])
           else pg_temp.step(r.t_eresp, 'accept', 'ESCALATED', 'ACCEPTED', r.upper_actor, null)
           end,
           pg_temp.step(r.t_estart, 'start', 'ACCEPTED', 'IN_PROGRESS', r.upper_actor, null),
           pg_temp.step(r.t_res, 'resolve',
               case when r.t_estart is not null or r.t_esc is null and r.t_start is not null
                    then 'IN_PROGRESS' else 'ACCEPTED' end,
               'RESOLVED', r.handler,
               ($14::text[])[1 + pg_temp.h(r.key, 37) % cardinality($14::text[])]),
           pg_temp.step(r.t_rate, 'rate', 'RESOLVED', 'RESOLVED', r.handler,
               '评价' || r.score || '分'),
           pg_temp.step(r.t_close, 'close', 'RESOLVED', 'CLOSED', r.handler, null)
       ) || ']')::jsonb,
       1 + (r.t_resp is not null)::integer + (r.t_wd is not null)::integer
           + (r.t_start is not null)::integer + (r.t_esc is not null)::integer
           + (r.t_eresp is not null)::integer + (r.t_estart is not null)::integer
           + (r.t_res is not null)::integer + (r.t_rate is not null)::integer
           + (r.t_close is not null)::integer,
       to_timestamp(r.t0),
       to_timestamp(greatest(r.t0, r.t_resp, r.t_wd, r.t_start, r.t_esc, r.t_eresp, r.t_estart,
                             r.t_res, r.t_rate, r.t_close))
from (select h.*,
             'staff-' || h.code as actor,
             'staff-' || h.parent_code as upper_actor,
             'staff-' || case when h.t_esc is null then h.code else h.parent_code end as handler,
             case when pg_temp.u(h.key, 27) >= case h.channel when 'HOTLINE' then 0.3
                                                             when 'ONLINE' then 0.1 else 0 end
                  then ($8::text[])[1 + pg_temp.h(h.key, 24) % cardinality($8::text[])]
                      || ($9::text[])[1 + pg_temp.h(h.key, 25) % cardinality($9::text[])]
                      || case when pg_temp.u(h.key, 26) < 0.7 then ($9::text[])[1
                             + pg_temp.h(h.key, 38) % cardinality($9::text[])] else '' end
             end as requester
      from (select x.*,
                   case x.level
                       when 'VILLAGE' then ($3::text[])[1 + pg_temp.h(x.key, 3) % 100]
                       when 'TOWNSHIP' then ($4::text[])[1 + pg_temp.h(x.key, 3) % 100]
                       else ($5::text[])[1 + pg_temp.h(x.key, 3) % 100] end as channel
            from ({_HAPPENED}) x) h) r
"""
