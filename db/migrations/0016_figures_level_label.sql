-- `region_level_label` (县级 …) beside `region_level` on the figures views too (issue 19):
-- 0015 gave it to the record views. The views are those of 0010, the column appended at the
-- end, so queries written against them keep working; `create or replace` keeps their grants
-- and the comments 0015 put on their columns.

grant create on schema reporting to hub_reporting_owner;
set local role hub_reporting_owner;

create or replace view reporting.daily_figures with (security_barrier) as
with parts as (
    select t.region_code, (t.submitted_at at time zone 'Asia/Shanghai')::date as day,
        count(*) as submitted,
        count(*) filter (where t.status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS',
                                            'ESCALATED')) as open,
        count(*) filter (where t.status in ('RESOLVED', 'CLOSED')) as resolved,
        count(*) filter (where t.status = 'REJECTED') as rejected,
        count(*) filter (where t.status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS',
                                            'ESCALATED') and t.due_at < now()) as overdue,
        count(*) filter (where t.first_responded_at <= t.submitted_at + interval '24 hours')
            as answered_within_24h,
        count(*) filter (where t.first_responded_at <= t.submitted_at + interval '24 hours'
                         or t.submitted_at + interval '24 hours' <= now()) as answer_due,
        count(*) filter (where t.satisfaction is not null) as rated,
        count(*) filter (where t.satisfaction >= 4) as satisfied,
        coalesce(sum(extract(epoch from t.resolved_at - t.submitted_at) / 3600)
            filter (where t.status in ('RESOLVED', 'CLOSED')), 0)::double precision
            as hours_to_resolve,
        0::bigint as events, 0::bigint as participants,
        0::bigint as resolutions_adopted, 0::bigint as resolutions_implemented
    from service_request t
    where t.status <> 'WITHDRAWN'
    group by 1, 2
    union all
    select t.region_code, (t.starts_at at time zone 'Asia/Shanghai')::date,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, count(*), sum(t.participant_count), 0, 0
    from participation_event t
    group by 1, 2
    union all
    select t.region_code, t.decided_on, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, count(*), 0
    from resolution t
    where t.status in ('ADOPTED', 'IMPLEMENTED') and t.decided_on is not null
    group by 1, 2
    union all
    select t.region_code, t.implemented_on, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, count(*)
    from resolution t
    where t.implemented_on is not null
    group by 1, 2
),
totals as (
    select region_code, day,
        sum(submitted)::bigint as submitted, sum(open)::bigint as open,
        sum(resolved)::bigint as resolved, sum(rejected)::bigint as rejected,
        sum(overdue)::bigint as overdue,
        sum(answered_within_24h)::bigint as answered_within_24h,
        sum(answer_due)::bigint as answer_due,
        sum(rated)::bigint as rated, sum(satisfied)::bigint as satisfied,
        sum(hours_to_resolve)::double precision as hours_to_resolve,
        sum(events)::bigint as events, sum(participants)::bigint as participants,
        sum(resolutions_adopted)::bigint as resolutions_adopted,
        sum(resolutions_implemented)::bigint as resolutions_implemented
    from parts
    group by region_code, day
)
select g.code as region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.province_name, g.city_code, g.city_name,
    g.county_code, g.county_name, g.township_code, g.township_name,
    g.village_code, g.village_name,
    x.day, x.submitted, x.open, x.resolved, x.rejected, x.overdue, x.answered_within_24h,
    x.answer_due, x.rated, x.satisfied, x.hours_to_resolve, x.events, x.participants,
    x.resolutions_adopted, x.resolutions_implemented,
    g.level_label as region_level_label
from totals x
join reporting.regions g on g.code = x.region_code;

-- The same per region and calendar month (`month` its first day).
create or replace view reporting.monthly_figures with (security_barrier) as
with totals as (
    select region_code, date_trunc('month', day)::date as month,
        sum(submitted)::bigint as submitted, sum(open)::bigint as open,
        sum(resolved)::bigint as resolved, sum(rejected)::bigint as rejected,
        sum(overdue)::bigint as overdue, sum(answered_within_24h)::bigint as answered_within_24h,
        sum(answer_due)::bigint as answer_due, sum(rated)::bigint as rated,
        sum(satisfied)::bigint as satisfied,
        sum(hours_to_resolve)::double precision as hours_to_resolve,
        sum(events)::bigint as events, sum(participants)::bigint as participants,
        sum(resolutions_adopted)::bigint as resolutions_adopted,
        sum(resolutions_implemented)::bigint as resolutions_implemented
    from reporting.daily_figures
    group by region_code, date_trunc('month', day)
)
select g.code as region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.province_name, g.city_code, g.city_name,
    g.county_code, g.county_name, g.township_code, g.township_name,
    g.village_code, g.village_name,
    x.month, x.submitted, x.open, x.resolved, x.rejected, x.overdue, x.answered_within_24h,
    x.answer_due, x.rated, x.satisfied, x.hours_to_resolve, x.events, x.participants,
    x.resolutions_adopted, x.resolutions_implemented,
    g.level_label as region_level_label
from totals x
join reporting.regions g on g.code = x.region_code;

comment on column reporting.daily_figures.region_level_label is
    '所属区划层级(中文) / That level''s Chinese label';
comment on column reporting.monthly_figures.region_level_label is
    '所属区划层级(中文) / That level''s Chinese label';

reset role;
revoke create on schema reporting from hub_reporting_owner;
