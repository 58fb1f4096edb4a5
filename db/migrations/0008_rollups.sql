-- Roll-ups: the figures of every region at city level and above (nation, provinces, cities),
-- per day and per month, so a higher office's figures never count base rows by the million.
-- Counties and below count their base rows, a few thousand per county.
--
-- Each base row contributes to the roll-up row of each of its ancestors at those levels,
-- once per grain ('d': the day, 'm': its month). Statement-level triggers fold a statement's
-- transition tables into signed deltas and add them with one upsert per roll-up table, in
-- key order, so concurrent writers queue on the same rows in the same order and every
-- increment lands (row locks, no lost updates). The trigger functions run as the owner
-- (security definer): a village editor's write moves the nation's figures though row-level
-- security hides those roll-up rows from that editor.
--
-- What moves with the clock, not with writes, is kept by its date: open requests by due day
-- (`overdue` is the open ones with a due date, less those due today or later, plus those due
-- earlier today), and requests by submission day (the response rate's denominator takes
-- those whose 24 hours have passed). The hub reads the rows of the current day from base
-- rows, through the two partial indexes at the end.

create table rollup_service (
    region_code      text collate "C" not null,
    path             ltree not null,
    grain            "char" not null check (grain in ('d', 'm')),
    bucket           date not null,
    category         service_category not null,
    submitted        integer not null default 0,
    accepted         integer not null default 0,
    in_progress      integer not null default 0,
    escalated        integer not null default 0,
    resolved         integer not null default 0,
    closed           integer not null default 0,
    rejected         integer not null default 0,
    answered_in_time integer not null default 0,
    rated            integer not null default 0,
    satisfied        integer not null default 0,
    resolve_micros   bigint not null default 0,  -- microseconds: exact, and sums fast
    dated_open       integer not null default 0, -- open, with a due date
    primary key (region_code, grain, bucket, category)
);

create table rollup_open (
    region_code text collate "C" not null,
    path        ltree not null,
    grain       "char" not null check (grain in ('d', 'm')),
    bucket      date not null,
    category    service_category not null,
    due_day     date not null,
    open        integer not null default 0,
    -- Due day before bucket: a query reads only the rows due today or later.
    primary key (region_code, grain, due_day, bucket, category)
);

create table rollup_participation (
    region_code  text collate "C" not null,
    path         ltree not null,
    grain        "char" not null check (grain in ('d', 'm')),
    bucket       date not null,
    kind         participation_kind not null,
    events       integer not null default 0,
    participants bigint not null default 0,
    adopted      integer not null default 0,
    implemented  integer not null default 0,
    primary key (region_code, grain, bucket, kind)
);

create table rollup_organization (
    region_code   text collate "C" not null,
    path          ltree not null,
    kind          organization_kind not null,
    organizations integer not null default 0,
    party_members bigint not null default 0,
    primary key (region_code, kind)
);

create table rollup_state (
    only_row    boolean primary key default true check (only_row),
    rebuilt_at  timestamptz not null
);

do $$
declare
    t text;
begin
    foreach t in array array['rollup_service', 'rollup_open', 'rollup_participation',
                             'rollup_organization']
    loop
        execute format('alter table %I enable row level security', t);
        execute format(
            'create policy %I on %I for select to hub_runtime
                 using (path <@ any ((select scope_paths(''read''))::ltree[]))', t || '_read', t);
        execute format('grant select on %I to hub_runtime', t);
    end loop;
end
$$;
grant select on rollup_state to hub_runtime;

-- A China Standard Time day.
create function cst_day(t timestamptz) returns date
    language sql immutable parallel safe strict
as $$ select (t at time zone 'Asia/Shanghai')::date $$;

create function month_start(d date) returns date
    language sql immutable parallel safe strict
as $$ select d - (extract(day from d)::int - 1) $$;

-- The per-row contributions of a relation of requests, events or resolutions, signed. These
-- queries are the figures' definitions (DESIGN.md §5); the hub's base-row statements in
-- resolvers/stats.py count the same way.
create function rollup_service_rows(source text, sign integer) returns text
    language sql immutable
as $$
    select format($q$
        select path, cst_day(submitted_at) as day, category,
            %1$s * (status = 'SUBMITTED')::int as submitted,
            %1$s * (status = 'ACCEPTED')::int as accepted,
            %1$s * (status = 'IN_PROGRESS')::int as in_progress,
            %1$s * (status = 'ESCALATED')::int as escalated,
            %1$s * (status = 'RESOLVED')::int as resolved,
            %1$s * (status = 'CLOSED')::int as closed,
            %1$s * (status = 'REJECTED')::int as rejected,
            %1$s * coalesce(first_responded_at - submitted_at <= interval '24 hours', false)::int
                as answered_in_time,
            %1$s * (satisfaction is not null)::int as rated,
            %1$s * coalesce(satisfaction >= 4, false)::int as satisfied,
            %1$s * case when status in ('RESOLVED', 'CLOSED')
                then coalesce(extract(epoch from resolved_at - submitted_at) * 1000000, 0)
                else 0 end::bigint as resolve_micros,
            %1$s * (status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED')
                and due_at is not null)::int as dated_open
        from %2$s where status <> 'WITHDRAWN'$q$, sign, source)
$$;

create function rollup_open_rows(source text, sign integer) returns text
    language sql immutable
as $$
    select format($q$
        select path, cst_day(submitted_at) as day, category, cst_day(due_at) as due_day,
            %1$s as open
        from %2$s
        where status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED')
            and due_at is not null$q$, sign, source)
$$;

-- Events count on the day they start (when `with_events`); resolutions on the day decided
-- (adopted or implemented ones) and on the day implemented, under their event's kind.
create function rollup_participation_rows(
    events text, resolutions text, sign integer, with_events boolean
) returns text
    language sql immutable
as $$
    select case when with_events then format($q$
        select path, cst_day(starts_at) as day, kind, %1$s as events,
            %1$s * participant_count as participants, 0 as adopted, 0 as implemented
        from %2$s
        union all $q$, sign, events) else '' end
    || format($q$
        select r.path, r.decided_on as day, e.kind, 0 as events, 0 as participants,
            %1$s as adopted, 0 as implemented
        from %3$s r join %2$s e on e.id = r.event_id
        where r.status in ('ADOPTED', 'IMPLEMENTED') and r.decided_on is not null
        union all
        select r.path, r.implemented_on, e.kind, 0, 0, 0, %1$s
        from %3$s r join %2$s e on e.id = r.event_id
        where r.implemented_on is not null$q$, sign, events, resolutions)
$$;

create function rollup_organization_rows(source text, sign integer) returns text
    language sql immutable
as $$
    select format($q$
        select path, kind, %1$s as organizations,
            %1$s * party_member_count as party_members
        from %2$s$q$, sign, source)
$$;

-- The statement that adds `source`, a query of signed per-row contributions (a `path`, a
-- `day` when `dated`, the `dims` and the `counts`), to the roll-up rows of every level (the
-- nation, the province and the city of each path) and grain of `target`. Rows are summed per
-- city first, then per level, and written in key order. The trigger runs the statement
-- itself, since only its own statements see the transition tables.
create function rollup_upsert(
    target text, dims text[], counts text[], dated boolean, source text
) returns text
    language plpgsql immutable
as $$
declare
    keys text[] := case when dated then array['grain', 'bucket'] else '{}' end || dims;
    inner_keys text[] := case when dated then array['day'] else '{}' end || dims;
    outer_keys text[] := case when dated
        then array['g.grain', 'case g.grain when ''d'' then x.day else month_start(x.day) end']
        else '{}' end
        || array(select 'x.' || d from unnest(dims) d);
begin
    return format($q$
        insert into %1$I as t (region_code, path, %2$s, %3$s)
        select ltree2text(subltree(x.top, k - 1, k)), subpath(x.top, 0, k), %4$s, %5$s
        from (
            select subpath(r.path, 0, least(3, nlevel(r.path))) as top, %6$s, %7$s
            from (%8$s) r
            group by %9$s
        ) x cross join generate_series(1, 3) k %10$s
        where k <= nlevel(x.top)
        group by %11$s
        having %12$s
        order by %13$s
        on conflict (region_code, %2$s) do update set %14$s$q$,
        target,
        array_to_string(keys, ', '),
        array_to_string(counts, ', '),
        array_to_string(outer_keys, ', '),
        (select string_agg(format('sum(x.%I)', c), ', ') from unnest(counts) c),
        array_to_string(inner_keys, ', '),
        -- A city's day holds few rows: its counts fit an int, which sums fast at every level.
        (select string_agg(format('sum(r.%1$I)::%2$s as %1$I', c,
            case when c like '%\_micros' then 'bigint' else 'int' end), ', ')
            from unnest(counts) c),
        source,
        (select string_agg(i::text, ', ') from generate_series(1, 1 + cardinality(inner_keys)) i),
        case when dated then 'cross join (values (''d''::"char"), (''m''::"char"))  g (grain)'
            else '' end,
        (select string_agg(i::text, ', ') from generate_series(1, 2 + cardinality(keys)) i),
        (select string_agg(format('sum(x.%I) <> 0', c), ' or ') from unnest(counts) c),
        (select string_agg(i::text, ', ')
            from generate_series(1, 2 + cardinality(keys)) i where i <> 2),
        (select string_agg(format('%1$I = t.%1$I + excluded.%1$I', c), ', ')
            from unnest(counts) c));
end
$$;

create function rollup_service_upsert(source text) returns text
    language sql immutable
as $$
    select rollup_upsert('rollup_service', array['category'], array['submitted', 'accepted',
        'in_progress', 'escalated', 'resolved', 'closed', 'rejected', 'answered_in_time', 'rated',
        'satisfied', 'resolve_micros', 'dated_open'], true, source)
$$;

create function rollup_open_upsert(source text) returns text
    language sql immutable
as $$ select rollup_upsert('rollup_open', array['category', 'due_day'], array['open'], true, source) $$;

create function rollup_participation_upsert(source text) returns text
    language sql immutable
as $$
    select rollup_upsert('rollup_participation', array['kind'],
        array['events', 'participants', 'adopted', 'implemented'], true, source)
$$;

create function rollup_organization_upsert(source text) returns text
    language sql immutable
as $$
    select rollup_upsert('rollup_organization', array['kind'],
        array['organizations', 'party_members'], false, source)
$$;

-- The triggers: the statement's new rows count up, its old rows down. An update that changes
-- nothing a figure reads cancels out and writes nothing.
create function rollup_delta(op text, new_rows text, old_rows text) returns text
    language sql immutable
as $$
    select case op when 'INSERT' then new_rows when 'DELETE' then old_rows
        else new_rows || ' union all ' || old_rows end
$$;

-- The statements one trigger runs for `op` on `tab`. An event's update also moves its
-- resolutions, which count under the event's kind (they cancel out unless the kind changed).
create function rollup_statements(tab text, op text) returns text
    language sql immutable
as $$
    select case tab
    when 'service_request' then
        rollup_service_upsert(rollup_delta(op,
            rollup_service_rows('new_rows', 1), rollup_service_rows('old_rows', -1)))
        || ';
        ' || rollup_open_upsert(rollup_delta(op,
            rollup_open_rows('new_rows', 1), rollup_open_rows('old_rows', -1)))
    when 'organization' then
        rollup_organization_upsert(rollup_delta(op,
            rollup_organization_rows('new_rows', 1), rollup_organization_rows('old_rows', -1)))
    when 'participation_event' then
        rollup_participation_upsert(rollup_delta(op,
            rollup_participation_rows('new_rows', 'resolution', 1, true),
            rollup_participation_rows('old_rows', 'resolution', -1, true)))
    when 'resolution' then
        rollup_participation_upsert(rollup_delta(op,
            rollup_participation_rows('participation_event', 'new_rows', 1, false),
            rollup_participation_rows('participation_event', 'old_rows', -1, false)))
    end
$$;

-- A trigger function per table and operation, its statements written out here as static
-- SQL, so each session plans them once rather than on every write.
do $$
declare
    t text;
    op text;
    fn text;
begin
    foreach t in array array['service_request', 'organization', 'participation_event',
                             'resolution']
    loop
        foreach op in array array['insert', 'update', 'delete']
        loop
            fn := 'rollup_' || t || '_' || op;
            execute format(
                'create function %I() returns trigger
                     language plpgsql security definer set search_path = public, pg_temp
                 as %L',
                fn, 'begin ' || rollup_statements(t, upper(op)) || '; return null; end');
            execute format(
                'create trigger %I after %s on %I referencing %s for each statement
                     execute function %I()',
                t || '_rollup_' || op, op, t,
                case op when 'insert' then 'new table as new_rows'
                        when 'delete' then 'old table as old_rows'
                        else 'old table as old_rows new table as new_rows' end,
                fn);
        end loop;
    end loop;
end
$$;

-- Every roll-up from the base rows, with writers held off so none is missed.
create function rebuild_rollups() returns void
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    lock table organization, service_request, participation_event, resolution in share mode;
    set local work_mem = '1GB';
    truncate rollup_service, rollup_open, rollup_participation, rollup_organization;
    execute rollup_service_upsert(rollup_service_rows('service_request', 1));
    execute rollup_open_upsert(rollup_open_rows('service_request', 1));
    execute rollup_participation_upsert(
        rollup_participation_rows('participation_event', 'resolution', 1, true));
    execute rollup_organization_upsert(rollup_organization_rows('organization', 1));
    insert into rollup_state (rebuilt_at) values (now())
        on conflict (only_row) do update set rebuilt_at = excluded.rebuilt_at;
end
$$;
revoke all on function rebuild_rollups() from public;

select rebuild_rollups();

-- The current day's part of the clock-bound figures comes from base rows: requests not
-- answered within 24 hours, by submission time, and open requests, by due time. They cover
-- what those reads need, so a quiet table answers them from the index alone.
create index service_request_unanswered on service_request (submitted_at)
    include (region_code, category, status, path)
    where first_responded_at is null or first_responded_at - submitted_at > interval '24 hours';
create index service_request_open_due on service_request (due_at)
    include (region_code, category, submitted_at, path)
    where status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED');

-- A county's figures count its base rows: its requests from the index alone (the list
-- order's index, carrying what the figures read), its resolutions by region.
drop index service_request_region_submitted;
create index service_request_region_submitted on service_request (region_code, submitted_at desc, id desc)
    include (status, category, first_responded_at, due_at, resolved_at, satisfaction, path);
create index resolution_region on resolution (region_code);
