-- Votes on a decided resolution may be set (setResolutionVotes, ingestion) without a status
-- change: a same-status update is allowed on ADOPTED, REJECTED or IMPLEMENTED resolutions when
-- only the votes change. Every other rule of 0006 stays.
create or replace function check_resolution_change() returns trigger
    language plpgsql
as $$
begin
    if tg_op = 'INSERT' then
        if new.status <> 'PROPOSED' then
            raise exception 'a new resolution starts as PROPOSED' using errcode = 'check_violation';
        end if;
        return new;
    end if;
    if new.event_id <> old.event_id or new.region_code <> old.region_code
        or new.position <> old.position or new.version <> old.version + 1 then
        raise exception 'a resolution keeps its event and place, and counts its versions'
            using errcode = 'check_violation';
    end if;
    if new.status = old.status and old.status <> 'PROPOSED'
        and new.decided_on is not distinct from old.decided_on
        and new.implemented_on is not distinct from old.implemented_on
        and new.text = old.text then
        return new;
    end if;
    if (old.status, new.status) not in (
        ('PROPOSED', 'ADOPTED'), ('PROPOSED', 'REJECTED'), ('ADOPTED', 'IMPLEMENTED')
    ) then
        raise exception 'a resolution cannot go from % to %', old.status, new.status
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;

-- Resolutions in ingestion batches: keyed by source and externalId like the other records,
-- linked to an event of the same source by the event's externalId. Run by the ingest
-- mutation right after ingest_batch, in the same savepoint: a refusal here undoes the batch.
alter table resolution add column source text, add column external_id text,
    add column imported_version integer,
    add constraint resolution_source_external_id unique (source, external_id);

create function ingest_resolutions(p_source text, p_client text, p_resolutions jsonb)
    returns jsonb
    language plpgsql volatile security definer
    set search_path = public, pg_temp
as $$
declare
    v_editor ltree[] := scope_paths('editor');
    v_subject text := nullif(current_setting('hub.subject', true), '');
    v_path ltree;
    v_count bigint;
    v_errors jsonb;
    v_all integer;
    v_new integer;
    v_updated integer := 0;
begin
    if v_subject is null then
        raise exception 'ingestion needs the caller''s subject (hub.subject)'
            using errcode = 'insufficient_privilege';
    end if;
    select s.path into v_path from source s where s.name = p_source;
    if v_path is null or not v_path <@ any (v_editor) then
        return jsonb_build_object('errorCount', 1, 'errors', jsonb_build_array(jsonb_build_object(
            'line', 0, 'field', 'source',
            'reason', 'is not a registered source whose whole jurisdiction lies within your '
                || 'editor scope')));
    end if;

    create temp table ingest_res on commit drop as
    -- On an update a field left out keeps its stored value, as for the other records.
    select r.line, r.external_id, r.event, r.text,
           case when t.id is null or ingest_named(r.named, 'status')
                then coalesce(r.status, 'PROPOSED') else t.status end as status,
           case when t.id is null or ingest_named(r.named, 'decidedOn')
                then r.decided_on else t.decided_on end as decided_on,
           case when t.id is null or ingest_named(r.named, 'implementedOn')
                then r.implemented_on else t.implemented_on end as implemented_on,
           case when t.id is null or ingest_named(r.named, 'votesFor')
                then r.votes_for else t.votes_for end as votes_for,
           case when t.id is null or ingest_named(r.named, 'votesAgainst')
                then r.votes_against else t.votes_against end as votes_against,
           e.id as event_id, e.region_code, e.participant_count, e.path as event_path,
           t.id as old_id, t.event_id as old_event, t.version as old_version,
           t.imported_version as old_imported, t.status as old_status
    from (
        select (x ->> 0)::integer as line, x ->> 1 as external_id, x ->> 2 as event,
               x ->> 3 as text, (x ->> 4)::resolution_status as status,
               (x ->> 5)::date as decided_on, (x ->> 6)::date as implemented_on,
               (x ->> 7)::integer as votes_for, (x ->> 8)::integer as votes_against,
               ingest_named_fields(x -> 9) as named
        from jsonb_array_elements(coalesce(p_resolutions, '[]')) x
    ) r
    left join participation_event e on e.source = p_source and e.external_id = r.event
    left join resolution t on t.source = p_source and t.external_id = r.external_id;

    perform 1 from resolution t
    where t.id in (select old_id from pg_temp.ingest_res) order by t.id for update;

    create temp table ingest_res_error on commit drop as
    select line, field, reason from (
        select r.line, 'event' as field,
               'names no participation event of source ' || p_source
                   || ' (sent in this batch or before)' as reason
        from pg_temp.ingest_res r where r.event_id is null
        union all
        select r.line, 'event', 'outside your editor scope'
        from pg_temp.ingest_res r
        where r.event_id is not null and not r.event_path <@ any (v_editor)
        union all
        select r.line, 'event', 'a resolution keeps its event'
        from pg_temp.ingest_res r where r.old_id is not null and r.old_event <> r.event_id
        union all
        select r.line, 'externalId', 'appears more than once in the batch'
        from pg_temp.ingest_res r
        where r.external_id in (select external_id from pg_temp.ingest_res
                                group by external_id having count(*) > 1)
        union all
        select r.line, 'externalId', 'changed in the hub since its last import (a conflict)'
        from pg_temp.ingest_res r
        where r.old_id is not null and r.old_version is distinct from r.old_imported
        union all
        select r.line, 'decidedOn', 'is required when the status is not PROPOSED, and only then'
        from pg_temp.ingest_res r
        where (r.status = 'PROPOSED') = (r.decided_on is not null)
        union all
        select r.line, 'implementedOn', 'is required when IMPLEMENTED, and only then'
        from pg_temp.ingest_res r
        where (r.status = 'IMPLEMENTED') <> (r.implemented_on is not null)
        union all
        select r.line, 'implementedOn', 'must not be before decidedOn'
        from pg_temp.ingest_res r where r.implemented_on < r.decided_on
        union all
        select r.line, 'votesFor', 'votes are given only on a decided resolution'
        from pg_temp.ingest_res r
        where r.status = 'PROPOSED' and (r.votes_for is not null or r.votes_against is not null)
        union all
        select r.line, 'votesFor', 'votesFor + votesAgainst exceed the event''s '
                   || r.participant_count || ' participants'
        from pg_temp.ingest_res r
        where coalesce(r.votes_for, 0) + coalesce(r.votes_against, 0) > r.participant_count
        union all
        select r.line, 'status', 'a ' || r.old_status || ' resolution cannot become ' || r.status
        from pg_temp.ingest_res r
        where r.old_id is not null and r.old_status <> r.status
            and (r.old_status, r.status) not in (('PROPOSED', 'ADOPTED'),
                ('PROPOSED', 'REJECTED'), ('ADOPTED', 'IMPLEMENTED'),
                ('PROPOSED', 'IMPLEMENTED'))
    ) y;

    select count(*) into v_count from pg_temp.ingest_res_error;
    if v_count > 0 then
        select jsonb_agg(jsonb_build_object('line', x.line, 'field', x.field, 'reason', x.reason)
                         order by x.line, x.field)
        into v_errors
        from (select * from pg_temp.ingest_res_error order by line, field limit 1000) x;
        drop table pg_temp.ingest_res, pg_temp.ingest_res_error;
        return jsonb_build_object('errors', v_errors, 'errorCount', v_count);
    end if;

    select count(*) into v_all from pg_temp.ingest_res;
    with made as (
        insert into resolution (event_id, region_code, position, text, status, decided_on,
            implemented_on, votes_for, votes_against, source, external_id, version,
            imported_version)
        select r.event_id, r.region_code,
               coalesce((select max(x.position) from resolution x where x.event_id = r.event_id),
                        0) + row_number() over (partition by r.event_id order by r.line),
               r.text, r.status, r.decided_on, r.implemented_on, r.votes_for, r.votes_against,
               p_source, r.external_id, 1, 1
        from pg_temp.ingest_res r where r.old_id is null
        returning id, region_code
    ), logged as (
        insert into audit_log (actor, client, operation, region_code, record_type, record_ids,
            after)
        select v_subject, p_client, 'ingest', m.region_code, 'Resolution',
               array_agg(m.id order by m.id),
               jsonb_build_object('source', p_source, 'created', count(*))
        from made m group by m.region_code
    )
    select count(*) into v_new from made;
    if exists (select from pg_temp.ingest_res where old_id is not null) then
        with changed as (
            update resolution t set text = r.text, status = r.status, decided_on = r.decided_on,
                implemented_on = r.implemented_on, votes_for = r.votes_for,
                votes_against = r.votes_against, version = t.version + 1,
                imported_version = t.version + 1, updated_at = now()
            from pg_temp.ingest_res r
            where r.old_id is not null and t.id = r.old_id
                and (t.text, t.status, t.decided_on, t.implemented_on, t.votes_for,
                     t.votes_against)
                is distinct from (r.text, r.status, r.decided_on, r.implemented_on, r.votes_for,
                     r.votes_against)
            returning t.id, t.region_code, to_jsonb(t) - 'path' as doc
        )
        insert into audit_log (actor, client, operation, region_code, record_type, record_id,
            before, after)
        select v_subject, p_client, 'ingest', c.region_code, 'Resolution', c.id,
               to_jsonb(b) - 'path', c.doc
        from changed c join resolution b on b.id = c.id;
        get diagnostics v_updated = row_count;
    end if;
    drop table pg_temp.ingest_res, pg_temp.ingest_res_error;
    return jsonb_build_object('resolutions', jsonb_build_object(
        'created', v_new, 'updated', v_updated, 'unchanged', v_all - v_new - v_updated));
end
$$;
revoke all on function ingest_resolutions(text, text, jsonb) from public;
grant execute on function ingest_resolutions(text, text, jsonb) to hub_runtime;
