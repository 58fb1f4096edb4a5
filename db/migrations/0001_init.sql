-- The administrative tree, the three grassroots domains, and the scope backstop.
--
-- Every data row carries the ltree path of its region, so "everything under X" is one
-- indexed predicate, and row-level security admits a row only when that path lies under
-- the caller's scope, which the hub sets per transaction with set_config(..., true).

create extension if not exists ltree;

do $$
begin
    if not exists (select from pg_roles where rolname = 'hub_runtime') then
        create role hub_runtime nologin;
    end if;
end
$$;

grant usage on schema public to hub_runtime;

-- The caller's scope of one kind ('read', 'editor', 'pii', 'auditor'), as an ltree array.
-- A missing, empty or blank setting yields the empty array, which admits nothing:
-- an empty path would be an ancestor of every path, so it is dropped.
create function scope_paths(kind text) returns ltree[]
    language sql stable parallel safe
as $$
    select coalesce(array_agg(p), '{}')
    from unnest(coalesce(nullif(current_setting('hub.' || kind || '_scope', true), ''), '{}')::ltree[]) p
    where nlevel(p) > 0
$$;

create type region_level as enum ('NATION', 'PROVINCE', 'CITY', 'COUNTY', 'TOWNSHIP', 'VILLAGE');

create table region (
    code        text collate "C" primary key check (code ~ '^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$'),
    parent_code text collate "C" references region (code),
    level       region_level not null,
    name        text not null,
    full_name   text not null,
    path        ltree not null unique,
    check ((parent_code is null) = (level = 'NATION'))
);
create index region_path_gist on region using gist (path);
create index region_parent_code on region (parent_code, code);

-- Region lookups for token validation, before any scope is set: the division tree is
-- public statistical data, so this reveals nothing a caller could not look up.
create function regions_by_code(codes text[]) returns table (code text, path ltree, level region_level)
    language sql stable security definer set search_path = public, pg_temp
as $$
    select r.code, r.path, r.level from region r where r.code = any(codes)
$$;
revoke all on function regions_by_code(text[]) from public;
grant execute on function regions_by_code(text[]) to hub_runtime;

-- Fills a row's path from its region, so a row can never disagree with the tree.
create function set_row_path() returns trigger
    language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    select r.path into new.path from region r where r.code = new.region_code;
    if new.path is null then
        raise foreign_key_violation using message = 'unknown region ' || coalesce(new.region_code, 'null');
    end if;
    return new;
end
$$;

-- Personal data masking, the one implementation every output uses (DESIGN.md §3.6).
create function mask_name(n text) returns text
    language sql immutable parallel safe
as $$ select case when n is null or n = '' then n else left(n, 1) || '*' end $$;

create function mask_phone(p text) returns text
    language sql immutable parallel safe
as $$
    select case
        when p is null then null
        when p ~ '^1[3-9][0-9]{9}$' then left(p, 3) || '****' || right(p, 4)
        when char_length(p) > 4 then regexp_replace(left(p, -4), '[0-9]', '*', 'g') || right(p, 4)
        else regexp_replace(p, '[0-9]', '*', 'g')
    end
$$;

-- Phone numbers and resident ID numbers inside free text.
create function mask_text(t text) returns text
    language sql immutable parallel safe
as $$
    select regexp_replace(
        regexp_replace(t,
            '(?<![0-9])([1-9][0-9]{2})[0-9]{11}([0-9]{3}[0-9Xx])(?![0-9Xx])', '\1***********\2', 'g'),
        '(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])', '\1****\2', 'g')
$$;

-- A request's history with the notes masked.
create function mask_history(h jsonb) returns jsonb
    language sql immutable parallel safe
as $$
    select coalesce(jsonb_agg(
        case when e ? 'note' and jsonb_typeof(e -> 'note') = 'string'
             then jsonb_set(e, '{note}', to_jsonb(mask_text(e ->> 'note'))) else e end
        order by i), '[]')
    from jsonb_array_elements(h) with ordinality as x(e, i)
$$;

create type organization_kind as enum (
    'PARTY_COMMITTEE', 'PARTY_GENERAL_BRANCH', 'PARTY_BRANCH', 'VILLAGE_COMMITTEE',
    'RESIDENTS_COMMITTEE', 'SUPERVISION_COMMITTEE', 'COLLECTIVE_ECONOMY', 'SERVICE_CENTRE',
    'SOCIAL_ORGANIZATION', 'VOLUNTEER_TEAM');

create table organization (
    id                 uuid primary key default gen_random_uuid(),
    region_code        text collate "C" not null references region (code),
    path               ltree not null,
    parent_id          uuid references organization (id),
    kind               organization_kind not null,
    name               text not null check (name <> ''),
    member_count       integer not null default 0 check (member_count >= 0),
    party_member_count integer not null default 0 check (party_member_count >= 0),
    leader_name        text,
    leader_role        text,
    leader_phone       text,
    founded_on         date,
    source             text,
    external_id        text,
    version            integer not null default 1,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    unique (source, external_id)
);
create index organization_order on organization (region_code, name, id);
create index organization_parent on organization (parent_id);

create type service_category as enum (
    'SOCIAL_SECURITY', 'ELDERLY_CARE', 'HEALTH', 'EDUCATION', 'EMPLOYMENT', 'HOUSING',
    'INFRASTRUCTURE', 'ENVIRONMENT', 'PUBLIC_SAFETY', 'DISPUTE_MEDIATION', 'LEGAL_AID', 'OTHER');
create type service_channel as enum (
    'WALK_IN', 'HOTLINE', 'ONLINE', 'MOBILE_APP', 'GRID_WORKER', 'HOME_VISIT');
create type service_status as enum (
    'SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED', 'RESOLVED', 'CLOSED', 'REJECTED', 'WITHDRAWN');

-- Human references are numbered per raising region and year.
create table reference_counter (
    region_code text collate "C" not null references region (code),
    year        integer not null,
    last        integer not null,
    primary key (region_code, year)
);

create function next_reference(p_region_code text, p_year integer) returns text
    language sql volatile security definer set search_path = public, pg_temp
as $$
    insert into reference_counter as c (region_code, year, last) values (p_region_code, p_year, 1)
    on conflict (region_code, year) do update set last = c.last + 1
    returning p_region_code || '-' || p_year || '-' || lpad(last::text, 6, '0')
$$;
revoke all on function next_reference(text, integer) from public;

create table service_request (
    id                    uuid primary key default gen_random_uuid(),
    reference             text not null unique,
    region_code           text collate "C" not null references region (code),
    path                  ltree not null,
    handling_region_code  text collate "C" not null references region (code),
    handled_by            uuid references organization (id),
    category              service_category not null,
    channel               service_channel not null,
    status                service_status not null default 'SUBMITTED',
    title                 text not null check (title <> ''),
    description           text,
    requester_name        text,
    requester_phone       text,
    submitted_at          timestamptz not null,
    first_responded_at    timestamptz,
    accepted_at           timestamptz,
    due_at                timestamptz,
    resolved_at           timestamptz,
    closed_at             timestamptz,
    satisfaction          smallint check (satisfaction between 1 and 5),
    -- [{at, action, fromStatus, toStatus, actor, note}], oldest first: kept in the row
    -- because it is only ever read with its request.
    history               jsonb not null default '[]',
    version               integer not null default 1,
    source                text,
    external_id           text,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    unique (source, external_id)
);
create index service_request_submitted on service_request (submitted_at desc, id desc);
create index service_request_region_submitted on service_request (region_code, submitted_at desc, id desc);

create type participation_kind as enum (
    'JOINT_MEETING', 'DELIBERATION', 'HEARING', 'OPINION_SOLICITATION', 'PUBLIC_SUPERVISION',
    'VILLAGERS_ASSEMBLY', 'VOLUNTEER_ACTIVITY');

create table participation_event (
    id                   uuid primary key default gen_random_uuid(),
    region_code          text collate "C" not null references region (code),
    path                 ltree not null,
    organizer_id         uuid references organization (id),
    kind                 participation_kind not null,
    title                text not null check (title <> ''),
    topic                text,
    starts_at            timestamptz not null,
    participant_count    integer not null default 0 check (participant_count >= 0),
    -- {"VILLAGERS": 40, "PARTY_MEMBERS": 12, ...}
    participants_by_group jsonb not null default '{}',
    source               text,
    external_id          text,
    version              integer not null default 1,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    unique (source, external_id)
);
create index participation_event_starts on participation_event (starts_at desc, id desc);
create index participation_event_region_starts on participation_event (region_code, starts_at desc, id desc);
create index participation_event_organizer on participation_event (organizer_id);

create type resolution_status as enum ('PROPOSED', 'ADOPTED', 'REJECTED', 'IMPLEMENTED');

create table resolution (
    id             uuid primary key default gen_random_uuid(),
    event_id       uuid not null references participation_event (id),
    region_code    text collate "C" not null references region (code),
    path           ltree not null,
    position       integer not null,
    text           text not null check (text <> ''),
    status         resolution_status not null default 'PROPOSED',
    decided_on     date,
    implemented_on date,
    votes_for      integer check (votes_for >= 0),
    votes_against  integer check (votes_against >= 0),
    version        integer not null default 1,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    unique (event_id, position)
);

-- Indexes: only those the hub's queries use, since every insert maintains every index. No
-- trigram index: `ilike` is not leakproof, so under row-level security PostgreSQL never puts
-- it in an index condition (and without `pii` text filters match masked text anyway).

-- A row's path comes from its region. Code running as the owner (ingestion, seeding) passes
-- the path it already joined, and is trusted with it; every other insert has it set here.
do $$
declare
    t text;
begin
    foreach t in array array['organization', 'service_request', 'participation_event',
                             'resolution']
    loop
        execute format(
            'create trigger %I before insert on %I for each row
                 when (new.path is null or current_user <> %L)
                 execute function set_row_path()', t || '_path', t, current_user);
        execute format(
            'create trigger %I before update of region_code on %I for each row
                 execute function set_row_path()', t || '_moved', t);
    end loop;
end
$$;

-- Row-level security: the runtime role sees and writes only what its scope admits.
alter table region enable row level security;
create policy region_read on region for select to hub_runtime
    using (path <@ any ((select scope_paths('read'))::ltree[]) or path @> any ((select scope_paths('read'))::ltree[]));

alter table organization enable row level security;
alter table service_request enable row level security;
alter table participation_event enable row level security;
alter table resolution enable row level security;
alter table reference_counter enable row level security;

create policy organization_read on organization for select to hub_runtime
    using (path <@ any ((select scope_paths('read'))::ltree[]));
create policy organization_insert on organization for insert to hub_runtime
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));
create policy organization_update on organization for update to hub_runtime
    using (path <@ any ((select scope_paths('editor'))::ltree[]))
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));

create policy service_request_read on service_request for select to hub_runtime
    using (path <@ any ((select scope_paths('read'))::ltree[]));
create policy service_request_insert on service_request for insert to hub_runtime
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));
create policy service_request_update on service_request for update to hub_runtime
    using (path <@ any ((select scope_paths('editor'))::ltree[]))
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));

create policy participation_event_read on participation_event for select to hub_runtime
    using (path <@ any ((select scope_paths('read'))::ltree[]));
create policy participation_event_insert on participation_event for insert to hub_runtime
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));
create policy participation_event_update on participation_event for update to hub_runtime
    using (path <@ any ((select scope_paths('editor'))::ltree[]))
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));

create policy resolution_read on resolution for select to hub_runtime
    using (path <@ any ((select scope_paths('read'))::ltree[]));
create policy resolution_insert on resolution for insert to hub_runtime
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));
create policy resolution_update on resolution for update to hub_runtime
    using (path <@ any ((select scope_paths('editor'))::ltree[]))
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));

grant select on region to hub_runtime;
grant select, insert, update on organization, service_request, participation_event, resolution
    to hub_runtime;
