-- Personal data without gaps (issue 14).
--
-- One masking rule for every output: GraphQL fields, history, audit documents, exports and
-- the reporting views all call `mask_text` / `mask_phone` / `mask_name`, redefined here to
-- recognise phone and ID numbers in every common form. Organization names and leader roles
-- hold no personal data any more: writes refuse it, and the names stored before are masked
-- below after each original is written to the audit log.

-- Full-width digits and the punctuation written around numbers, as ASCII: how a phone field
-- is recognised as a mobile number.
create function fold_digits(t text) returns text
    language sql immutable parallel safe
as $$ select translate(t, '０１２３４５６７８９＋－（）．　', '0123456789+-(). ') $$;

-- Phone numbers and resident ID numbers inside free text, in these forms: 18-digit ID numbers
-- (with X, or grouped 6-8-4 by spaces or hyphens), 15-digit ID numbers, mobile numbers (with
-- +86 / 0086 / (86) in front, grouped 3-4-4 by spaces, hyphens or dots), landlines with an
-- area code (0550-6712345, (0550)6712345, 010 1234 5678, +86 550 6712345), in ASCII or
-- full-width characters, glued to other text or not. A number glued to other digits is not
-- one of these: references (341126101001-2026-000123), division codes, dates and amounts stay
-- readable. Only the masked digits change: the rest of the text comes back as it was.
create or replace function mask_text(t text) returns text
    language sql immutable parallel safe
as $$
    -- Every form holds a run of three digits: text without one is returned at once.
    select case when t !~ '[0-9０-９]{3}' then t else
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(t,
        -- 18-digit ID numbers
        '(?<![0-9０-９])([1-9１-９][0-9０-９]{2})[0-9０-９]{3}[ －-]?[0-9０-９]{8}[ －-]?([0-9０-９]{3}[0-9０-９XxＸｘ])(?![0-9０-９XxＸｘ])',
        '\1***********\2', 'g'),
        -- 15-digit ID numbers
        '(?<![0-9０-９])([1-9１-９][0-9０-９]{2})[0-9０-９]{8}([0-9０-９]{4})(?![0-9０-９])',
        '\1********\2', 'g'),
        -- mobile numbers, with a country code or not
        '(?<![0-9０-９+＋])((?:(?:[+＋]|[0０]{2})[8８][6６][ .　．－-]?|[(（][+＋]?[8８][6６][)）][ .　．－-]?|[8８][6６][－-])?[1１][3-9３-９][0-9０-９])[ .　．－-]?[0-9０-９]{4}[ .　．－-]?([0-9０-９]{4})(?![0-9０-９])',
        '\1****\2', 'g'),
        -- landlines with an area code, national (0…) or international (+86 …)
        '(?<![0-9０-９+＋])((?:[+＋]|[0０]{2})[8８][6６][ .　．－-]?[(（]?[1-9１-９][0-9０-９]{1,2}[)）]?|[(（][0０][1-9１-９][0-9０-９]{1,2}[)）]|[0０][1-9１-９][0-9０-９]{1,2})[ .　．－-]?[1-9１-９][0-9０-９]{2,3}[ .　．－-]?([0-9０-９]{4})(?![0-9０-９])',
        '\1****\2', 'g') end
$$;

-- A phone field: a mobile number (in any of the forms above) as 138****5678; anything else
-- with every digit but the last four masked.
create or replace function mask_phone(p text) returns text
    language sql immutable parallel safe
as $$
    select case
        when p is null then null
        when regexp_replace(fold_digits(p), '^(\+|00)?86|[^0-9]', '', 'g') ~ '^1[3-9][0-9]{9}$'
            then left(regexp_replace(fold_digits(p), '^(\+|00)?86|[^0-9]', '', 'g'), 3)
                || '****' || right(p, 4)
        when char_length(p) > 4 then regexp_replace(left(p, -4), '[0-9０-９]', '*', 'g')
            || right(p, 4)
        else regexp_replace(p, '[0-9０-９]', '*', 'g')
    end
$$;

-- Whether text holds a phone or ID number: what names and leader roles refuse.
create function holds_personal_data(t text) returns boolean
    language sql immutable parallel safe
as $$ select t is not null and mask_text(t) <> t $$;

-- An audit document without the ids of organizations its reader cannot read (`read`, the
-- reader's read scope): a parent, a handler or an organizer above the reader's jurisdiction.
create function hide_unseen_ids(doc jsonb, read ltree[]) returns jsonb
    language sql stable parallel safe
as $$
    select case when jsonb_typeof(doc) = 'object' then
        doc || coalesce((
            select jsonb_object_agg(k, null)
            from unnest(array['parent_id', 'handled_by', 'organizer_id']) k
            where jsonb_typeof(doc -> k) = 'string' and not exists (
                select from organization o
                where o.id = (doc ->> k)::uuid and o.path <@ any (read))), '{}')
        else doc end
$$;

-- Organization names and leader roles holding a phone or ID number: each original goes to
-- the audit log first (an `update` entry, read in clear by `pii` auditors), then the stored
-- text is masked. Run once below; returns how many organizations it changed. An imported
-- record stays "as imported", so the next import of it is no conflict.
create function mask_stored_names() returns integer
    language plpgsql volatile
as $$
declare
    changed_count integer;
begin
    with dirty as (
        select t.id from organization t
        where holds_personal_data(t.name) or holds_personal_data(t.leader_role)
        order by t.id for update
    ), changed as (
        update organization t
        set name = mask_text(t.name), leader_role = mask_text(t.leader_role),
            version = t.version + 1,
            imported_version = case when t.imported_version = t.version then t.version + 1
                                    else t.imported_version end,
            updated_at = now()
        from dirty d where t.id = d.id
        returning t.id, t.region_code, to_jsonb(t) - 'path' as doc
    )
    insert into audit_log (actor, operation, region_code, record_type, record_id, before, after)
    select 'migration 0012_personal_data', 'update', c.region_code, 'Organization', c.id,
           to_jsonb(b) - 'path', c.doc
    from changed c join organization b on b.id = c.id;
    get diagnostics changed_count = row_count;
    return changed_count;
end
$$;
revoke all on function mask_stored_names() from public;

select mask_stored_names();

-- Which fields a batch record names: `named` is the JSON array of their names (absent: all).
create function ingest_named_fields(named jsonb) returns text[]
    language sql immutable parallel safe
as $$
    select case when jsonb_typeof(named) = 'array'
                then array(select jsonb_array_elements_text(named)) end
$$;

create function ingest_named(named text[], field text) returns boolean
    language sql immutable parallel safe
as $$ select named is null or field = any (named) $$;

create function ingest_name_problem(value text) returns text
    language sql immutable parallel safe
as $$
    select case when holds_personal_data(value) then
        'holds a phone or ID number (PERSONAL_DATA_IN_NAME); personal data goes in the '
        || 'leader''s fields' end
$$;

-- A field read masked without `pii`: an update naming it needs `pii` (whatever its value,
-- or the answer would test the hidden one), and no value may look like its own mask.
create function ingest_masked_problem(masked boolean, named boolean, looks_masked boolean)
    returns text
    language sql immutable parallel safe
as $$
    select case
        when masked and named then 'needs the pii role: you read it masked; leave it out'
        when looks_masked then 'looks like a masked value; send the real one' end
$$;

-- Ingestion (0005_ingest.sql) under the rules of issue 14: a source serves only callers who
-- edit its whole jurisdiction; a field a record leaves out keeps its value, an explicit null
-- clears it (not the counts); masked fields follow updateOrganization's rules; names and
-- leader roles refuse personal data; escalatedTo lies at most one level above the source's
-- jurisdiction; created records are audited at their own regions.
create or replace function ingest_batch(
    p_source text, p_client text, p_organizations jsonb, p_requests jsonb, p_events jsonb
) returns jsonb
    language plpgsql volatile security definer
    set search_path = public, pg_temp
    set work_mem = '64MB'
    -- The request pool forces custom plans (scopes differ wildly between callers); here that
    -- would re-plan the queries of every row's triggers and foreign-key checks, 10,000 times
    -- per 10,000 rows. Within this function, plans are cached as usual.
    set plan_cache_mode = 'auto'
as $$
declare
    v_editor ltree[] := scope_paths('editor');
    v_read ltree[] := scope_paths('read');
    v_pii ltree[] := scope_paths('pii');
    v_subject text := nullif(current_setting('hub.subject', true), '');
    v_region text;
    v_path ltree;
    v_future timestamptz := now() + interval '5 minutes';
    v_today date := (now() at time zone interval '+08:00')::date;
    v_at text := to_char(now() at time zone interval '+08:00', 'YYYY-MM-DD"T"HH24:MI:SS.US')
        || '+08:00';
    v_note text := 'imported from source ' || p_source;
    v_entries jsonb;
    v_count bigint;
    v_errors jsonb;
    v_result jsonb := '{}';
    v_all integer;
    v_old integer;
    v_new integer;
    v_updated integer;
begin
    if v_subject is null then
        raise exception 'ingestion needs the caller''s subject (hub.subject)'
            using errcode = 'insufficient_privilege';
    end if;
    select s.region_code, s.path into v_region, v_path from source s where s.name = p_source;
    -- Only a caller who edits the source's whole jurisdiction uses it: then every record the
    -- source ever sent lies in the caller's scope, and no answer below depends on a record
    -- the caller cannot see. Everyone else gets this one refusal, whatever the records.
    if v_path is null or not v_path <@ any (v_editor) then
        return jsonb_build_object('errorCount', 1, 'errors', jsonb_build_array(jsonb_build_object(
            'line', 0, 'field', 'source',
            'reason', 'is not a registered source whose whole jurisdiction lies within your '
                || 'editor scope')));
    end if;

    -- The batch, typed, beside what the hub holds under the same keys.
    create temp table ingest_org on commit drop as
    select r.*, g.path, t.id as old_id, t.version as old_version,
           t.imported_version as old_imported, t.path as old_path,
           coalesce(t.id, gen_random_uuid()) as id, null::uuid as parent_id,
           null::ltree as parent_path
    from (
        select (e ->> 0)::integer as line, e ->> 1 as external_id, e ->> 2 as region_code,
               (e ->> 3)::organization_kind as kind, e ->> 4 as name, e ->> 5 as parent,
               (e ->> 6)::integer as member_count, (e ->> 7)::integer as party_member_count,
               e ->> 8 as leader_name, e ->> 9 as leader_role, e ->> 10 as leader_phone,
               (e ->> 11)::date as founded_on, ingest_named_fields(e -> 12) as named
        from jsonb_array_elements(coalesce(p_organizations, '[]')) e
    ) r
    left join region g on g.code = r.region_code
    left join organization t on t.source = p_source and t.external_id = r.external_id;

    create temp table ingest_req on commit drop as
    select r.*, extract(year from r.submitted_at at time zone interval '+08:00')::integer
               as year,
           g.path, x.path as escalated_path, t.id as old_id, t.version as old_version,
           t.imported_version as old_imported, t.path as old_path, t.region_code as old_region,
           t.submitted_at as old_submitted, null::uuid as handled_by_id,
           null::ltree as handled_by_path
    from (
        select (e ->> 0)::integer as line, e ->> 1 as external_id, e ->> 2 as region_code,
               (e ->> 3)::service_category as category, (e ->> 4)::service_channel as channel,
               (e ->> 5)::service_status as status, e ->> 6 as title, e ->> 7 as description,
               e ->> 8 as requester_name, e ->> 9 as requester_phone,
               (e ->> 10)::timestamptz as submitted_at,
               (e ->> 11)::timestamptz as first_responded_at,
               (e ->> 12)::timestamptz as accepted_at, (e ->> 13)::timestamptz as due_at,
               (e ->> 14)::timestamptz as resolved_at, (e ->> 15)::timestamptz as closed_at,
               (e ->> 16)::integer as satisfaction, e ->> 17 as escalated_to,
               e ->> 18 as handled_by, ingest_named_fields(e -> 19) as named
        from jsonb_array_elements(coalesce(p_requests, '[]')) e
    ) r
    left join region g on g.code = r.region_code
    left join region x on x.code = r.escalated_to
    left join service_request t on t.source = p_source and t.external_id = r.external_id;

    create temp table ingest_evt on commit drop as
    select r.*, g.path, t.id as old_id, t.version as old_version,
           t.imported_version as old_imported, t.path as old_path,
           null::uuid as organizer_id, null::ltree as organizer_path
    from (
        select (e ->> 0)::integer as line, e ->> 1 as external_id, e ->> 2 as region_code,
               (e ->> 3)::participation_kind as kind, e ->> 4 as title, e ->> 5 as topic,
               (e ->> 6)::timestamptz as starts_at, e ->> 7 as organizer,
               (e ->> 8)::integer as participant_count,
               nullif(e -> 9, 'null'::jsonb) as participants_by_group,
               ingest_named_fields(e -> 10) as named
        from jsonb_array_elements(coalesce(p_events, '[]')) e
    ) r
    left join region g on g.code = r.region_code
    left join participation_event t on t.source = p_source and t.external_id = r.external_id;

    -- Records sent before are locked, then read again: a change the hub commits meanwhile is
    -- seen (a conflict), never overwritten. (Each statement here sees what committed before it.)
    if exists (select from pg_temp.ingest_org where old_id is not null) then
        perform 1 from organization t
        where t.id in (select old_id from pg_temp.ingest_org) order by t.id for update;
        update pg_temp.ingest_org o set old_version = t.version,
            old_imported = t.imported_version, old_path = t.path
        from organization t where t.id = o.old_id;
        -- A field the record leaves out keeps its value (as in updateOrganization).
        update pg_temp.ingest_org o set
            member_count = case when ingest_named(o.named, 'memberCount') then o.member_count
                                else t.member_count end,
            party_member_count = case when ingest_named(o.named, 'partyMemberCount')
                                      then o.party_member_count else t.party_member_count end,
            leader_name = case when ingest_named(o.named, 'leaderName') then o.leader_name
                               else t.leader_name end,
            leader_role = case when ingest_named(o.named, 'leaderRole') then o.leader_role
                               else t.leader_role end,
            leader_phone = case when ingest_named(o.named, 'leaderPhone') then o.leader_phone
                                else t.leader_phone end,
            founded_on = case when ingest_named(o.named, 'foundedOn') then o.founded_on
                              else t.founded_on end,
            parent_id = case when ingest_named(o.named, 'parent') then null else t.parent_id end,
            parent_path = case when ingest_named(o.named, 'parent') then null
                               else (select p.path from organization p where p.id = t.parent_id)
                          end
        from organization t where t.id = o.old_id;
    end if;
    if exists (select from pg_temp.ingest_req where old_id is not null) then
        perform 1 from service_request t
        where t.id in (select old_id from pg_temp.ingest_req) order by t.id for update;
        update pg_temp.ingest_req r set old_version = t.version,
            old_imported = t.imported_version, old_path = t.path
        from service_request t where t.id = r.old_id;
        update pg_temp.ingest_req r set
            description = case when ingest_named(r.named, 'description') then r.description
                               else t.description end,
            requester_name = case when ingest_named(r.named, 'requesterName')
                                  then r.requester_name else t.requester_name end,
            requester_phone = case when ingest_named(r.named, 'requesterPhone')
                                   then r.requester_phone else t.requester_phone end,
            first_responded_at = case when ingest_named(r.named, 'firstRespondedAt')
                                      then r.first_responded_at else t.first_responded_at end,
            accepted_at = case when ingest_named(r.named, 'acceptedAt') then r.accepted_at
                               else t.accepted_at end,
            due_at = case when ingest_named(r.named, 'dueAt') then r.due_at else t.due_at end,
            resolved_at = case when ingest_named(r.named, 'resolvedAt') then r.resolved_at
                               else t.resolved_at end,
            closed_at = case when ingest_named(r.named, 'closedAt') then r.closed_at
                             else t.closed_at end,
            satisfaction = case when ingest_named(r.named, 'satisfaction') then r.satisfaction
                                else t.satisfaction end,
            escalated_to = case when ingest_named(r.named, 'escalatedTo') then r.escalated_to
                                when t.handling_region_code <> t.region_code
                                then t.handling_region_code end,
            escalated_path = case when ingest_named(r.named, 'escalatedTo') then r.escalated_path
                                  when t.handling_region_code <> t.region_code
                                  then (select g.path from region g
                                        where g.code = t.handling_region_code) end,
            handled_by_id = case when ingest_named(r.named, 'handledBy') then null
                                 else t.handled_by end,
            handled_by_path = case when ingest_named(r.named, 'handledBy') then null
                                   else (select p.path from organization p
                                         where p.id = t.handled_by) end
        from service_request t where t.id = r.old_id;
    end if;
    if exists (select from pg_temp.ingest_evt where old_id is not null) then
        perform 1 from participation_event t
        where t.id in (select old_id from pg_temp.ingest_evt) order by t.id for update;
        update pg_temp.ingest_evt v set old_version = t.version,
            old_imported = t.imported_version, old_path = t.path
        from participation_event t where t.id = v.old_id;
        -- The count and the groups go together: naming either gives both anew.
        update pg_temp.ingest_evt v set
            topic = case when ingest_named(v.named, 'topic') then v.topic else t.topic end,
            participant_count = case
                when ingest_named(v.named, 'participantCount')
                    or ingest_named(v.named, 'participantsByGroup') then v.participant_count
                else t.participant_count end,
            participants_by_group = case
                when ingest_named(v.named, 'participantCount')
                    or ingest_named(v.named, 'participantsByGroup') then v.participants_by_group
                else t.participants_by_group end,
            organizer_id = case when ingest_named(v.named, 'organizer') then null
                                else t.organizer_id end,
            organizer_path = case when ingest_named(v.named, 'organizer') then null
                                  else (select p.path from organization p
                                        where p.id = t.organizer_id) end
        from participation_event t where t.id = v.old_id;
    end if;

    -- The organizations records link to, by external id: this batch's first, then the hub's.
    create temp table ingest_ref (external_id text primary key, id uuid not null, path ltree)
        on commit drop;
    insert into pg_temp.ingest_ref (external_id, id, path)
    select distinct on (o.external_id) o.external_id, o.id, o.path from pg_temp.ingest_org o
    where o.external_id is not null order by o.external_id, o.line;
    insert into pg_temp.ingest_ref (external_id, id, path)
    select t.external_id, t.id, t.path from organization t
    where t.source = p_source and t.external_id in (
        select o.parent from pg_temp.ingest_org o where o.parent is not null
        union select r.handled_by from pg_temp.ingest_req r where r.handled_by is not null
        union select e.organizer from pg_temp.ingest_evt e where e.organizer is not null)
    on conflict (external_id) do nothing;
    update pg_temp.ingest_org o set parent_id = f.id, parent_path = f.path
    from pg_temp.ingest_ref f where f.external_id = o.parent;
    update pg_temp.ingest_req r set handled_by_id = f.id, handled_by_path = f.path
    from pg_temp.ingest_ref f where f.external_id = r.handled_by;
    update pg_temp.ingest_evt v set organizer_id = f.id, organizer_path = f.path
    from pg_temp.ingest_ref f where f.external_id = v.organizer;

    -- Every problem of every record, as 'field|reason'.
    create temp table ingest_error (line integer, field text, reason text) on commit drop;

    insert into pg_temp.ingest_error (line, field, reason)
    select y.line, split_part(y.p, '|', 1), substr(y.p, strpos(y.p, '|') + 1)
    from (
        select o.line, unnest(array_remove(array[
            'externalId|' || ingest_key_problem(o.external_id, d.n, o.old_version,
                o.old_imported),
            'regionCode|' || ingest_region_problem(o.region_code, o.path, p_source, v_path,
                v_editor, o.old_path),
            'kind|' || case when o.kind is null then 'is required' end,
            'name|' || coalesce(ingest_text_problem(o.name, true, 200),
                ingest_name_problem(o.name)),
            'memberCount|' || case
                when o.member_count < 0 then 'cannot be negative'
                when o.member_count is null and o.old_id is not null
                    and ingest_named(o.named, 'memberCount') then
                    'cannot be cleared; send a number' end,
            'partyMemberCount|' || case
                when o.party_member_count < 0 then 'cannot be negative'
                when o.party_member_count
                    > coalesce(o.member_count, case when o.old_id is null then 0 end) then
                    'cannot exceed memberCount' end,
            'leaderName|' || coalesce(ingest_text_problem(o.leader_name, false, 50),
                ingest_masked_problem(o.old_id is not null and not o.old_path <@ any (v_pii),
                    ingest_named(o.named, 'leaderName'), o.leader_name = mask_name(o.leader_name))),
            'leaderRole|' || coalesce(ingest_text_problem(o.leader_role, false, 50),
                ingest_name_problem(o.leader_role)),
            'leaderPhone|' || coalesce(case when o.leader_phone !~ '^[0-9][0-9-]{0,29}$' then
                'takes up to 30 digits and dashes' end,
                ingest_masked_problem(o.old_id is not null and not o.old_path <@ any (v_pii),
                    ingest_named(o.named, 'leaderPhone'), false)),
            'foundedOn|' || case when o.founded_on > v_today then 'lies in the future' end,
            'parent|' || case
                when o.parent is null then null
                when o.parent_id is null or not o.parent_path <@ any (v_read) then
                    'names no organization of this source that you can see'
                when o.parent = o.external_id then 'cannot be the organization itself'
                when not o.path <@ o.parent_path then
                    'must belong to the same region or one above it' end
        ], null)) as p
        from pg_temp.ingest_org o
        left join (select external_id, count(*) as n from pg_temp.ingest_org
                   group by external_id having count(*) > 1) d
            on d.external_id = o.external_id
    ) y;

    -- A parent chain that comes back to where it started, with parent links written by one
    -- writer at a time (as updateOrganization does), so two batches cannot each close half.
    if exists (select from pg_temp.ingest_org where old_id is not null and parent_id is not null)
    then
        perform pg_advisory_xact_lock(hashtext('organization.parent_id'));
    end if;
    insert into pg_temp.ingest_error (line, field, reason)
    with recursive walk (line, start, at, depth) as (
        select o.line, o.id, o.parent_id, 1 from pg_temp.ingest_org o
        where o.parent_id is not null and o.parent_id <> o.id
        union all
        select w.line, w.start, coalesce(b.parent_id, case when b.id is null then t.parent_id end),
               w.depth + 1
        from walk w
        left join pg_temp.ingest_org b on b.id = w.at
        left join organization t on t.id = w.at
        where w.at is not null and w.at <> w.start and w.depth < 64
    )
    select distinct w.line, 'parent', 'makes the organizations each other''s ancestors'
    from walk w where w.at = w.start;

    insert into pg_temp.ingest_error (line, field, reason)
    select y.line, split_part(y.p, '|', 1), substr(y.p, strpos(y.p, '|') + 1)
    from (
        select r.line, unnest(array_remove(array[
            'externalId|' || ingest_key_problem(r.external_id, d.n, r.old_version,
                r.old_imported),
            'regionCode|' || coalesce(
                ingest_region_problem(r.region_code, r.path, p_source, v_path, v_editor,
                    r.old_path),
                case when r.old_region <> r.region_code then
                    'differs from the region this request was imported with; it never changes'
                end),
            'category|' || case when r.category is null then 'is required' end,
            'channel|' || case when r.channel is null then 'is required' end,
            'status|' || case when r.status is null then 'is required' end,
            'title|' || ingest_text_problem(r.title, true, 10000),
            'description|' || ingest_text_problem(r.description, false, 10000),
            'requesterName|' || coalesce(ingest_text_problem(r.requester_name, false, 50),
                ingest_masked_problem(r.old_id is not null and not r.old_path <@ any (v_pii),
                    ingest_named(r.named, 'requesterName'),
                    r.requester_name = mask_name(r.requester_name))),
            'requesterPhone|' || coalesce(case when r.requester_phone !~ '^[0-9][0-9-]{0,29}$'
                then 'takes up to 30 digits and dashes' end,
                ingest_masked_problem(r.old_id is not null and not r.old_path <@ any (v_pii),
                    ingest_named(r.named, 'requesterPhone'), false)),
            'submittedAt|' || case
                when r.submitted_at is null then 'is required'
                when r.submitted_at > v_future then 'lies in the future'
                when r.old_submitted <> r.submitted_at then 'differs from the submission time '
                    || 'this request was imported with; it never changes'
                end,
            'firstRespondedAt|' || case
                when r.status = 'SUBMITTED' and r.first_responded_at is not null then
                    'must be empty while the request is SUBMITTED'
                when r.first_responded_at is null and r.accepted_at is not null then
                    'is required when acceptedAt is given'
                when r.first_responded_at is null and r.status not in ('SUBMITTED', 'WITHDRAWN')
                    then 'is required in status ' || r.status
                when r.first_responded_at < r.submitted_at then 'comes before submittedAt'
                when r.first_responded_at > v_future then 'lies in the future' end,
            'acceptedAt|' || case
                when r.status = 'SUBMITTED' and r.accepted_at is not null then
                    'must be empty while the request is SUBMITTED'
                when r.accepted_at is null
                    and r.status in ('ACCEPTED', 'IN_PROGRESS', 'ESCALATED', 'RESOLVED', 'CLOSED')
                    then 'is required in status ' || r.status
                when r.accepted_at < r.first_responded_at then 'comes before firstRespondedAt'
                when r.accepted_at > v_future then 'lies in the future' end,
            'resolvedAt|' || case
                when r.resolved_at is null and r.status in ('RESOLVED', 'CLOSED') then
                    'is required in status ' || r.status
                when r.resolved_at is not null and r.status = 'SUBMITTED' then
                    'must be empty while the request is SUBMITTED'
                when r.resolved_at is not null and r.accepted_at is null then
                    'needs acceptedAt: only an accepted request is resolved'
                when r.resolved_at < r.accepted_at then 'comes before acceptedAt'
                when r.resolved_at > v_future then 'lies in the future' end,
            'closedAt|' || case
                when r.closed_at is null and r.status = 'CLOSED' then 'is required in status CLOSED'
                when r.closed_at is not null and r.status <> 'CLOSED' then
                    'must be empty unless the request is CLOSED'
                when r.closed_at < r.resolved_at then 'comes before resolvedAt'
                when r.closed_at > v_future then 'lies in the future' end,
            'dueAt|' || case when r.due_at <= r.submitted_at then 'must come after submittedAt' end,
            'satisfaction|' || case
                when r.satisfaction is null then null
                when r.status not in ('RESOLVED', 'CLOSED') then
                    'is only given to RESOLVED or CLOSED requests'
                when r.satisfaction not between 1 and 5 then 'is a whole number from 1 to 5' end,
            'escalatedTo|' || case
                when r.escalated_to is null then
                    case when r.status = 'ESCALATED' then 'is required in status ESCALATED' end
                when r.status = 'SUBMITTED' then 'must be empty while the request is SUBMITTED'
                when r.escalated_path is null then 'is not a known region code'
                when not (r.path <@ r.escalated_path and r.path <> r.escalated_path) then
                    'must be a region above the request''s region'
                when nlevel(r.escalated_path) < nlevel(v_path) - 1 then
                    'must lie at most one level above the jurisdiction of source ' || p_source
                end,
            'handledBy|' || case
                when r.handled_by is null then null
                when r.status in ('SUBMITTED', 'ESCALATED') then
                    'must be empty in status ' || r.status
                when r.handled_by_id is null or not r.handled_by_path <@ any (v_read) then
                    'names no organization of this source that you can see'
                when not r.handled_by_path <@ coalesce(r.escalated_path, r.path) then
                    'must belong to the region handling the request' end
        ], null)) as p
        from pg_temp.ingest_req r
        left join (select external_id, count(*) as n from pg_temp.ingest_req
                   group by external_id having count(*) > 1) d
            on d.external_id = r.external_id
    ) y;

    insert into pg_temp.ingest_error (line, field, reason)
    select y.line, split_part(y.p, '|', 1), substr(y.p, strpos(y.p, '|') + 1)
    from (
        select v.line, unnest(array_remove(array[
            'externalId|' || ingest_key_problem(v.external_id, d.n, v.old_version,
                v.old_imported),
            'regionCode|' || ingest_region_problem(v.region_code, v.path, p_source, v_path,
                v_editor, v.old_path),
            'kind|' || case when v.kind is null then 'is required' end,
            'title|' || ingest_text_problem(v.title, true, 500),
            'topic|' || ingest_text_problem(v.topic, false, 10000),
            'startsAt|' || case when v.starts_at is null then 'is required' end,
            'participantsByGroup|' || case
                when v.participants_by_group is not null
                    and jsonb_typeof(v.participants_by_group) <> 'object' then
                    'must be an object of counts by group'
                when s.bad > 0 or s.out_of_range then
                    'takes whole counts from 0 to 1000000 of VILLAGERS, PARTY_MEMBERS, '
                    || 'REPRESENTATIVES, OFFICIALS, EXPERTS or OTHERS' end,
            'participantCount|' || case
                when v.participant_count < 0 then 'cannot be negative'
                when v.participant_count <> s.total then 'must equal the sum of participantsByGroup'
                end,
            'organizer|' || case
                when v.organizer is null then null
                when v.organizer_id is null or not v.organizer_path <@ any (v_read) then
                    'names no organization of this source that you can see'
                when not v.path <@ v.organizer_path then
                    'must belong to the event''s region or one above it' end
        ], null)) as p
        from pg_temp.ingest_evt v
        left join (select external_id, count(*) as n from pg_temp.ingest_evt
                   group by external_id having count(*) > 1) d
            on d.external_id = v.external_id
        cross join lateral (
            select count(*) filter (where g.key not in ('VILLAGERS', 'PARTY_MEMBERS',
                       'REPRESENTATIVES', 'OFFICIALS', 'EXPERTS', 'OTHERS') or g.n is null) as bad,
                   bool_or(g.n < 0 or g.n > 1000000 or g.n <> trunc(g.n)) as out_of_range,
                   sum(g.n) as total
            from (
                select j.key, case when jsonb_typeof(j.value) = 'number'
                                   then (j.value #>> '{}')::numeric end as n
                from jsonb_each(case when jsonb_typeof(v.participants_by_group) = 'object'
                                     then v.participants_by_group else '{}' end) j
            ) g
        ) s
    ) y;

    select count(*) into v_count from pg_temp.ingest_error;
    if v_count > 0 then
        select jsonb_agg(jsonb_build_object('line', x.line, 'field', x.field, 'reason', x.reason)
                         order by x.line, x.field)
        into v_errors
        from (select * from pg_temp.ingest_error order by line, field limit 1000) x;
        drop table pg_temp.ingest_org, pg_temp.ingest_req, pg_temp.ingest_evt,
            pg_temp.ingest_ref, pg_temp.ingest_error;
        return jsonb_build_object('errors', v_errors, 'errorCount', v_count);
    end if;

    -- Organizations: new ones first, so that records sent before can link to them.
    select count(*), count(old_id) into v_all, v_old from pg_temp.ingest_org;
    with made as (
        insert into organization (id, region_code, parent_id, kind, name, member_count,
            party_member_count, leader_name, leader_role, leader_phone, founded_on, source,
            external_id, version, imported_version)
        select o.id, o.region_code, o.parent_id, o.kind, o.name, coalesce(o.member_count, 0),
               coalesce(o.party_member_count, 0), o.leader_name, o.leader_role, o.leader_phone,
               o.founded_on, p_source, o.external_id, 1, 1
        from pg_temp.ingest_org o where o.old_id is null
        returning id, region_code
    ), logged as (
        insert into audit_log (actor, client, operation, region_code, record_type, record_ids,
            after)
        select v_subject, p_client, 'ingest', m.region_code, 'Organization',
               array_agg(m.id order by m.id),
               jsonb_build_object('source', p_source, 'created', count(*))
        from made m group by m.region_code
    )
    select count(*) into v_new from made;
    v_updated := 0;
    if v_old > 0 then
        with changed as (
            update organization t set region_code = o.region_code, parent_id = o.parent_id,
                kind = o.kind, name = o.name, member_count = coalesce(o.member_count, 0),
                party_member_count = coalesce(o.party_member_count, 0),
                leader_name = o.leader_name, leader_role = o.leader_role,
                leader_phone = o.leader_phone, founded_on = o.founded_on,
                version = t.version + 1, imported_version = t.version + 1, updated_at = now()
            from pg_temp.ingest_org o
            where o.old_id is not null and t.id = o.old_id
                and (t.region_code, t.parent_id, t.kind, t.name, t.member_count,
                    t.party_member_count, t.leader_name, t.leader_role, t.leader_phone,
                    t.founded_on)
                is distinct from (o.region_code, o.parent_id, o.kind, o.name,
                    coalesce(o.member_count, 0), coalesce(o.party_member_count, 0),
                    o.leader_name, o.leader_role, o.leader_phone, o.founded_on)
            returning t.id, t.region_code, to_jsonb(t) - 'path' as doc
        )
        -- In one statement every part sees the rows as they were: `b` is the record before.
        insert into audit_log (actor, client, operation, region_code, record_type, record_id,
            before, after)
        select v_subject, p_client, 'ingest', c.region_code, 'Organization', c.id,
               to_jsonb(b) - 'path', c.doc
        from changed c join organization b on b.id = c.id;
        get diagnostics v_updated = row_count;
    end if;
    v_result := v_result || jsonb_build_object('organizations', jsonb_build_object(
        'created', v_new, 'updated', v_updated, 'unchanged', v_all - v_new - v_updated));

    -- Service requests: new ones numbered per raising region and year, as submit numbers
    -- them, and each with its `imported` history entry.
    select jsonb_object_agg(s, jsonb_build_array(jsonb_build_object('at', v_at,
               'action', 'imported', 'fromStatus', null, 'toStatus', s, 'actor', v_subject,
               'note', v_note)))
    into v_entries from unnest(enum_range(null::service_status)) s;
    select count(*), count(old_id) into v_all, v_old from pg_temp.ingest_req;
    create temp table ingest_counter on commit drop as
    select r.region_code, r.year, count(*)::integer as n, 0 as first
    from pg_temp.ingest_req r where r.old_id is null group by r.region_code, r.year;
    with counted as (
        insert into reference_counter as c (region_code, year, last)
        select d.region_code, d.year, d.n from pg_temp.ingest_counter d
        on conflict (region_code, year) do update set last = c.last + excluded.last
        returning c.region_code, c.year, c.last
    )
    update pg_temp.ingest_counter d set first = c.last - d.n
    from counted c where c.region_code = d.region_code and c.year = d.year;
    with made as (
        insert into service_request (reference, region_code, path, handling_region_code,
            handled_by, category, channel, status, title, description, requester_name,
            requester_phone, submitted_at, first_responded_at, accepted_at, due_at,
            resolved_at, closed_at, satisfaction, history, version, imported_version, source,
            external_id)
        select n.region_code || '-' || n.year::text || '-' || lpad(n.number::text,
                   greatest(6, length(n.number::text)), '0'),
               n.region_code, n.path, coalesce(n.escalated_to, n.region_code), n.handled_by_id,
               n.category, n.channel, n.status, n.title, n.description, n.requester_name,
               n.requester_phone, n.submitted_at, n.first_responded_at, n.accepted_at,
               coalesce(n.due_at,
                   n.submitted_at + make_interval(days => deadline_days(n.category))),
               n.resolved_at, n.closed_at, n.satisfaction, v_entries -> n.status::text,
               1, 1, p_source, n.external_id
        from (
            select r.*, d.first + row_number() over (partition by r.region_code, r.year
                                                     order by r.submitted_at, r.line) as number
            from pg_temp.ingest_req r
            join pg_temp.ingest_counter d on d.region_code = r.region_code and d.year = r.year
            where r.old_id is null
        ) n
        returning id, region_code
    ), logged as (
        insert into audit_log (actor, client, operation, region_code, record_type, record_ids,
            after)
        select v_subject, p_client, 'ingest', m.region_code, 'ServiceRequest',
               array_agg(m.id order by m.id),
               jsonb_build_object('source', p_source, 'created', count(*))
        from made m group by m.region_code
    )
    select count(*) into v_new from made;
    v_updated := 0;
    if v_old > 0 then
        with changed as (
            update service_request t
            set handling_region_code = coalesce(r.escalated_to, r.region_code),
                handled_by = r.handled_by_id, category = r.category, channel = r.channel,
                status = r.status, title = r.title, description = r.description,
                requester_name = r.requester_name, requester_phone = r.requester_phone,
                first_responded_at = r.first_responded_at, accepted_at = r.accepted_at,
                due_at = coalesce(r.due_at,
                    r.submitted_at + make_interval(days => deadline_days(r.category))),
                resolved_at = r.resolved_at, closed_at = r.closed_at,
                satisfaction = r.satisfaction,
                history = t.history || jsonb_build_array(jsonb_build_object('at', v_at,
                    'action', 'imported', 'fromStatus', t.status, 'toStatus', r.status,
                    'actor', v_subject, 'note', v_note)),
                version = t.version + 1, imported_version = t.version + 1, updated_at = now()
            from pg_temp.ingest_req r
            where r.old_id is not null and t.id = r.old_id
                and (t.handling_region_code, t.handled_by, t.category, t.channel, t.status,
                    t.title, t.description, t.requester_name, t.requester_phone,
                    t.first_responded_at, t.accepted_at, t.due_at, t.resolved_at, t.closed_at,
                    t.satisfaction::integer)
                is distinct from (coalesce(r.escalated_to, r.region_code), r.handled_by_id,
                    r.category, r.channel, r.status, r.title, r.description, r.requester_name,
                    r.requester_phone, r.first_responded_at, r.accepted_at,
                    coalesce(r.due_at,
                        r.submitted_at + make_interval(days => deadline_days(r.category))),
                    r.resolved_at, r.closed_at, r.satisfaction)
            returning t.id, t.region_code, to_jsonb(t) - 'history' - 'path' as doc
        )
        insert into audit_log (actor, client, operation, region_code, record_type, record_id,
            before, after)
        select v_subject, p_client, 'ingest', c.region_code, 'ServiceRequest', c.id,
               to_jsonb(b) - 'history' - 'path', c.doc
        from changed c join service_request b on b.id = c.id;
        get diagnostics v_updated = row_count;
    end if;
    v_result := v_result || jsonb_build_object('serviceRequests', jsonb_build_object(
        'created', v_new, 'updated', v_updated, 'unchanged', v_all - v_new - v_updated));

    -- Participation events.
    select count(*), count(old_id) into v_all, v_old from pg_temp.ingest_evt;
    with made as (
        insert into participation_event (region_code, organizer_id, kind, title, topic,
            starts_at, participant_count, participants_by_group, version, imported_version,
            source, external_id)
        select v.region_code, v.organizer_id, v.kind, v.title, v.topic, v.starts_at,
               coalesce(v.participant_count, (select coalesce(sum((g.value #>> '{}')::integer), 0)
                   from jsonb_each(coalesce(v.participants_by_group, '{}')) g)),
               coalesce(v.participants_by_group, '{}'), 1, 1, p_source, v.external_id
        from pg_temp.ingest_evt v
        where v.old_id is null
        returning id, region_code
    ), logged as (
        insert into audit_log (actor, client, operation, region_code, record_type, record_ids,
            after)
        select v_subject, p_client, 'ingest', m.region_code, 'ParticipationEvent',
               array_agg(m.id order by m.id),
               jsonb_build_object('source', p_source, 'created', count(*))
        from made m group by m.region_code
    )
    select count(*) into v_new from made;
    v_updated := 0;
    if v_old > 0 then
        with given as (
            select v.*,
                   coalesce(v.participant_count, (select coalesce(sum((g.value #>> '{}')::integer),
                       0) from jsonb_each(coalesce(v.participants_by_group, '{}')) g)) as total
            from pg_temp.ingest_evt v
            where v.old_id is not null
        ), changed as (
            update participation_event t set region_code = v.region_code,
                organizer_id = v.organizer_id, kind = v.kind, title = v.title, topic = v.topic,
                starts_at = v.starts_at, participant_count = v.total,
                participants_by_group = coalesce(v.participants_by_group, '{}'),
                version = t.version + 1, imported_version = t.version + 1, updated_at = now()
            from given v
            where t.id = v.old_id and (t.region_code, t.organizer_id, t.kind, t.title, t.topic,
                t.starts_at, t.participant_count, t.participants_by_group)
                is distinct from (v.region_code, v.organizer_id, v.kind, v.title, v.topic,
                v.starts_at, v.total, coalesce(v.participants_by_group, '{}'))
            returning t.id, t.region_code, to_jsonb(t) - 'path' as doc
        )
        insert into audit_log (actor, client, operation, region_code, record_type, record_id,
            before, after)
        select v_subject, p_client, 'ingest', c.region_code, 'ParticipationEvent', c.id,
               to_jsonb(b) - 'path', c.doc
        from changed c join participation_event b on b.id = c.id;
        get diagnostics v_updated = row_count;
    end if;
    v_result := v_result || jsonb_build_object('participationEvents', jsonb_build_object(
        'created', v_new, 'updated', v_updated, 'unchanged', v_all - v_new - v_updated));

    drop table pg_temp.ingest_org, pg_temp.ingest_req, pg_temp.ingest_evt, pg_temp.ingest_ref,
        pg_temp.ingest_error, pg_temp.ingest_counter;
    return v_result;
end
$$;
revoke all on function ingest_batch(text, text, jsonb, jsonb, jsonb) from public;
grant execute on function ingest_batch(text, text, jsonb, jsonb, jsonb) to hub_runtime;
