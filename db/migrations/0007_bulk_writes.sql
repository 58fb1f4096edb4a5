-- Bulk writes (ingestion, seeding) run as the table owner, whom the transition checks exempt.
-- Deciding that in each trigger's WHEN clause, against the owner's name as this migration
-- sees it, spares the owner's rows a function call and a catalog lookup each; and change
-- notifications go out once per statement rather than once per row.

create or replace function check_service_request_change() returns trigger
    language plpgsql
as $$
begin
    if tg_op = 'INSERT' then
        if new.status <> 'SUBMITTED' or new.version <> 1 then
            raise exception 'a new request starts as SUBMITTED at version 1'
                using errcode = 'check_violation';
        end if;
        return new;
    end if;
    if new.id <> old.id or new.reference <> old.reference or new.region_code <> old.region_code
        or new.submitted_at <> old.submitted_at or new.source is distinct from old.source
        or new.external_id is distinct from old.external_id then
        raise exception 'a request''s identity, region and submission never change'
            using errcode = 'check_violation';
    end if;
    if new.version <> old.version + 1 then
        raise exception 'every change increments version' using errcode = 'check_violation';
    end if;
    if old.satisfaction is not null and new.satisfaction is distinct from old.satisfaction then
        raise exception 'a request is rated once' using errcode = 'check_violation';
    end if;
    if new.satisfaction is not null and old.satisfaction is null
        and new.status not in ('RESOLVED', 'CLOSED') then
        raise exception 'only resolved or closed requests are rated'
            using errcode = 'check_violation';
    end if;
    if (old.status, new.status) not in (
        ('SUBMITTED', 'ACCEPTED'), ('SUBMITTED', 'REJECTED'), ('SUBMITTED', 'WITHDRAWN'),
        ('ACCEPTED', 'IN_PROGRESS'), ('IN_PROGRESS', 'IN_PROGRESS'),
        ('ACCEPTED', 'ESCALATED'), ('IN_PROGRESS', 'ESCALATED'),
        ('ESCALATED', 'ACCEPTED'), ('ESCALATED', 'REJECTED'),
        ('ACCEPTED', 'RESOLVED'), ('IN_PROGRESS', 'RESOLVED'),
        ('RESOLVED', 'CLOSED'), ('RESOLVED', 'IN_PROGRESS'),
        ('ACCEPTED', 'WITHDRAWN'),
        ('RESOLVED', 'RESOLVED'), ('CLOSED', 'CLOSED')
    ) then
        raise exception 'a request cannot go from % to %', old.status, new.status
            using errcode = 'check_violation';
    end if;
    if old.status = 'RESOLVED' and new.status = 'IN_PROGRESS'
        and old.resolved_at < now() - interval '15 days' then
        raise exception 'a request can be reopened within 15 days of its resolution'
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;

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
    if (old.status, new.status) not in (
        ('PROPOSED', 'ADOPTED'), ('PROPOSED', 'REJECTED'), ('ADOPTED', 'IMPLEMENTED')
    ) then
        raise exception 'a resolution cannot go from % to %', old.status, new.status
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;

do $$
begin
    drop trigger service_request_workflow on service_request;
    execute format(
        'create trigger service_request_workflow before insert or update on service_request
             for each row when (current_user <> %L)
             execute function check_service_request_change()', current_user);
    drop trigger resolution_workflow on resolution;
    execute format(
        'create trigger resolution_workflow before insert or update on resolution
             for each row when (current_user <> %L)
             execute function check_resolution_change()', current_user);
end
$$;

drop trigger service_request_notify on service_request;
drop function notify_service_request_change();

create function notify_service_request_changes() returns trigger
    language plpgsql
as $$
begin
    perform pg_notify('service_request_changed', c.id::text) from changed c;
    return null;
end
$$;
create trigger service_request_inserted after insert on service_request
    referencing new table as changed
    for each statement execute function notify_service_request_changes();
create trigger service_request_updated after update on service_request
    referencing new table as changed
    for each statement execute function notify_service_request_changes();

-- The runtime role writes only the columns its writes need: never `source`, `external_id` or
-- `imported_version`, which only ingestion (running as the owner) keeps.
revoke insert, update on organization, service_request, participation_event, resolution
    from hub_runtime;
grant insert (region_code, kind, name, parent_id, member_count, party_member_count,
              leader_name, leader_role, leader_phone, founded_on),
      update (region_code, kind, name, parent_id, member_count, party_member_count,
              leader_name, leader_role, leader_phone, founded_on, version, updated_at)
    on organization to hub_runtime;
grant insert (reference, region_code, handling_region_code, handled_by, category, channel,
              status, title, description, requester_name, requester_phone, submitted_at,
              first_responded_at, accepted_at, due_at, resolved_at, closed_at, satisfaction,
              history, version),
      update (status, handling_region_code, handled_by, first_responded_at, accepted_at,
              resolved_at, closed_at, satisfaction, history, version, updated_at)
    on service_request to hub_runtime;
grant insert (region_code, organizer_id, kind, title, topic, starts_at, participant_count,
              participants_by_group),
      update (organizer_id, kind, title, topic, starts_at, participant_count,
              participants_by_group, version, updated_at)
    on participation_event to hub_runtime;
grant insert (event_id, region_code, position, text),
      update (status, decided_on, implemented_on, votes_for, votes_against, version, updated_at)
    on resolution to hub_runtime;
