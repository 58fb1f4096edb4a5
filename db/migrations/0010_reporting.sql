-- Reporting: read-only SQL for BI tools, and the operator's list of allow-list clients.
--
-- Schema `reporting` holds flat views over the data tables. They are security_barrier views
-- owned by `hub_reporting_owner`, a NOLOGIN role that neither owns the tables nor bypasses
-- row-level security, so when a view is read the tables' policies for that role apply. Those
-- policies read the reporting scope of the login that asked from `reporting_scope`, a table
-- only the owner can change, through a security-definer function: never from a setting,
-- which a login could set in its own session. Reporting logins are members of NOLOGIN group
-- `hub_reporting`, which may read the views and nothing else; personal fields come masked
-- by the same functions as every other output, always (no reporting login holds `pii`).

do $$
begin
    if not exists (select from pg_roles where rolname = 'hub_reporting_owner') then
        create role hub_reporting_owner nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'hub_reporting') then
        create role hub_reporting nologin;
    end if;
end
$$;
-- The migration creates the views as their owner.
grant hub_reporting_owner to current_user;

-- Who may read which subtrees: one row per reporting login. No grant: the owner alone
-- reads and writes it.
create table reporting_scope (
    role_name     name primary key,
    jurisdictions text[] not null check (cardinality(jurisdictions) > 0),
    paths         ltree[] not null check (cardinality(paths) > 0),
    granted_at    timestamptz not null default now()
);
alter table reporting_scope enable row level security;

-- The subtrees of the login that asked. Inside a security-definer function current_user is
-- the function's owner, so the key is session_user: the login that authenticated, which it
-- cannot change (SET ROLE moves current_user only, to roles that have no row here; SET
-- SESSION AUTHORIZATION needs a superuser). No row, no paths: nothing is admitted.
create function reporting_paths() returns ltree[]
    language sql stable security definer set search_path = public, pg_temp
as $$
    select coalesce((select s.paths from reporting_scope s where s.role_name = session_user),
                    '{}'::ltree[])
$$;
revoke all on function reporting_paths() from public;
grant execute on function reporting_paths() to hub_reporting_owner, hub_reporting;

grant select on region, organization, service_request, participation_event, resolution
    to hub_reporting_owner;

create policy region_reporting on region for select to hub_reporting_owner
    using (path <@ any ((select reporting_paths())::ltree[]) or path @> any ((select reporting_paths())::ltree[]));
create policy organization_reporting on organization for select to hub_reporting_owner
    using (path <@ any ((select reporting_paths())::ltree[]));
create policy service_request_reporting on service_request for select to hub_reporting_owner
    using (path <@ any ((select reporting_paths())::ltree[]));
create policy participation_event_reporting on participation_event for select
    to hub_reporting_owner
    using (path <@ any ((select reporting_paths())::ltree[]));
create policy resolution_reporting on resolution for select to hub_reporting_owner
    using (path <@ any ((select reporting_paths())::ltree[]));

-- Creates or updates a reporting login with its scope; the owner alone may run it. The
-- password arrives as a SCRAM-SHA-256 verifier computed by the CLI, never in clear text.
-- Whether a role is one `reporting_grant` made (or may make): a plain login of the group and
-- of no other role, so that a login given more (say hub_runtime) is never taken for one.
create function is_reporting_login(p_role text) returns boolean
    language sql stable set search_path = public, pg_temp
as $$
    select p_role ~ '^[a-z][a-z0-9_]{0,62}$' and p_role !~ '^(pg_|hub_)'
        and exists (select from pg_roles r
                    join pg_auth_members m on m.member = r.oid
                    where r.rolname = p_role and m.roleid = 'hub_reporting'::regrole
                      and not (r.rolsuper or r.rolbypassrls or r.rolcreaterole
                               or r.rolcreatedb or r.rolreplication)
                      and not exists (select from pg_auth_members o where o.member = r.oid
                                      and o.roleid <> 'hub_reporting'::regrole))
$$;
revoke all on function is_reporting_login(text) from public;

create function reporting_grant(p_role text, p_codes text[], p_verifier text) returns text
    language plpgsql security invoker set search_path = public, pg_temp
as $$
declare
    v_paths ltree[];
    v_exists boolean;
    v_unknown text;
begin
    if p_role !~ '^[a-z][a-z0-9_]{0,62}$' or p_role ~ '^(pg_|hub_)' then
        raise exception 'a reporting login is named with lower-case letters, digits and _, and not pg_… or hub_…'
            using errcode = 'invalid_parameter_value';
    end if;
    select string_agg(c, ', ') into v_unknown
    from unnest(p_codes) c where not exists (select from region r where r.code = c);
    if v_unknown is not null or cardinality(p_codes) = 0 then
        raise exception 'no region %', coalesce(v_unknown, '(none given)')
            using errcode = 'foreign_key_violation';
    end if;
    select array_agg(r.path order by r.code) into v_paths
    from region r where r.code = any(p_codes);
    select true into v_exists from pg_roles where rolname = p_role;
    if v_exists then
        if not is_reporting_login(p_role) then
            raise exception 'role % exists and is not a reporting login', p_role
                using errcode = 'duplicate_object';
        end if;
        execute format('alter role %I login password %L', p_role, p_verifier);
    else
        execute format('create role %I login password %L in role hub_reporting', p_role,
                       p_verifier);
    end if;
    insert into reporting_scope as s (role_name, jurisdictions, paths)
    values (p_role, (select array_agg(distinct c order by c) from unnest(p_codes) c), v_paths)
    on conflict (role_name) do update
        set jurisdictions = excluded.jurisdictions, paths = excluded.paths, granted_at = now();
    return case when v_exists then 'updated' else 'created' end;
end
$$;
revoke all on function reporting_grant(text, text[], text) from public;

create function reporting_revoke(p_role text) returns boolean
    language plpgsql security invoker set search_path = public, pg_temp
as $$
declare
    v_found boolean;
begin
    delete from reporting_scope where role_name = p_role returning true into v_found;
    if is_reporting_login(p_role) then
        execute format('drop role %I', p_role);
        v_found := true;
    end if;
    return coalesce(v_found, false);
end
$$;
revoke all on function reporting_revoke(text) from public;

-- Applications (the token's `client` claim) that may run registered reports only.
create table allowlist_client (
    client   text primary key check (client <> ''),
    added_at timestamptz not null default now()
);
create function allowlisted_client(p_client text) returns boolean
    language sql stable security definer set search_path = public, pg_temp
as $$ select exists (select from allowlist_client c where c.client = p_client) $$;
revoke all on function allowlisted_client(text) from public;
grant execute on function allowlisted_client(text) to hub_runtime;

create schema reporting;
grant usage on schema reporting to hub_reporting_owner, hub_reporting;
grant create on schema reporting to hub_reporting_owner;

set local role hub_reporting_owner;

-- Regions of the scope (not their ancestors), with every ancestor's code and name: a
-- region's code starts with its parent's (DESIGN.md §2), so each ancestor is a prefix.
create view reporting.regions with (security_barrier) as
select r.code, r.name, r.full_name, r.level::text as level, r.parent_code,
    p.code as province_code, p.name as province_name,
    c.code as city_code, c.name as city_name,
    o.code as county_code, o.name as county_name,
    t.code as township_code, t.name as township_name,
    v.code as village_code, v.name as village_name
from region r
left join region p on r.level >= 'PROVINCE' and p.code = left(r.code, 2)
left join region c on r.level >= 'CITY' and c.code = left(r.code, 4)
left join region o on r.level >= 'COUNTY' and o.code = left(r.code, 6)
left join region t on r.level >= 'TOWNSHIP' and t.code = left(r.code, 9)
left join region v on r.level >= 'VILLAGE' and v.code = r.code
where r.path <@ any ((select reporting_paths())::ltree[]);

create view reporting.organizations with (security_barrier) as
select t.id, t.name, t.kind::text as kind,
    t.region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.city_code, g.county_code, g.township_code, g.village_code,
    (select p.id from organization p where p.id = t.parent_id) as parent_id,
    t.member_count, t.party_member_count,
    mask_name(t.leader_name) as leader_name, t.leader_role,
    mask_phone(t.leader_phone) as leader_phone,
    t.founded_on, t.created_at, t.updated_at
from organization t
join reporting.regions g on g.code = t.region_code;

create view reporting.service_requests with (security_barrier) as
select t.id, t.reference,
    t.region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.city_code, g.county_code, g.township_code, g.village_code,
    t.handling_region_code,
    (select o.id from organization o where o.id = t.handled_by) as handled_by,
    t.category::text as category, t.channel::text as channel, t.status::text as status,
    mask_text(t.title) as title, mask_text(t.description) as description,
    mask_name(t.requester_name) as requester_name,
    mask_phone(t.requester_phone) as requester_phone,
    t.submitted_at, (t.submitted_at at time zone 'Asia/Shanghai')::date as submitted_on,
    t.first_responded_at, t.accepted_at, t.due_at, t.resolved_at, t.closed_at, t.satisfaction,
    t.first_responded_at <= t.submitted_at + interval '24 hours' as answered_within_24h,
    t.status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED')
        and t.due_at < now() as overdue,
    case when t.status in ('RESOLVED', 'CLOSED')
        then extract(epoch from t.resolved_at - t.submitted_at) / 3600 end as hours_to_resolve
from service_request t
join reporting.regions g on g.code = t.region_code;

create view reporting.participation_events with (security_barrier) as
select t.id, t.region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.city_code, g.county_code, g.township_code, g.village_code,
    (select o.id from organization o where o.id = t.organizer_id) as organizer_id,
    t.kind::text as kind, mask_text(t.title) as title, mask_text(t.topic) as topic,
    t.starts_at, (t.starts_at at time zone 'Asia/Shanghai')::date as starts_on,
    t.participant_count, t.participants_by_group
from participation_event t
join reporting.regions g on g.code = t.region_code;

create view reporting.resolutions with (security_barrier) as
select t.id, t.event_id, t.region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.city_code, g.county_code, g.township_code, g.village_code,
    t.position, mask_text(t.text) as text, t.status::text as status,
    t.decided_on, t.implemented_on, t.votes_for, t.votes_against
from resolution t
join reporting.regions g on g.code = t.region_code;

-- One row per region and day (China Standard Time) with anything on it: the additive parts
-- of DESIGN.md §5's figures, so a BI tool can sum them to any level and period and derive
-- the rates. Requests count on the day they were submitted, withdrawn ones left out; events
-- on the day they start; resolutions on the day decided (adopted) or implemented.
create view reporting.daily_figures with (security_barrier) as
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
    x.resolutions_adopted, x.resolutions_implemented
from totals x
join reporting.regions g on g.code = x.region_code;

-- The same per region and calendar month (`month` its first day).
create view reporting.monthly_figures with (security_barrier) as
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
    x.resolutions_adopted, x.resolutions_implemented
from totals x
join reporting.regions g on g.code = x.region_code;

grant select on all tables in schema reporting to hub_reporting;
reset role;

revoke create on schema reporting from hub_reporting_owner;
