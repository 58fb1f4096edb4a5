-- The write side: the service request workflow enforced by the database, idempotency keys,
-- and change notifications.

grant execute on function next_reference(text, integer) to hub_runtime;

-- Calendar days a request of each category has before it is due.
create function deadline_days(category service_category) returns integer
    language sql immutable parallel safe
as $$
    select case category
        when 'PUBLIC_SAFETY' then 3
        when 'HEALTH' then 7
        when 'ELDERLY_CARE' then 10
        when 'HOUSING' then 30
        when 'INFRASTRUCTURE' then 30
        else 15
    end
$$;

-- Editors act on a request where it is handled, which escalation moves up the tree.
create function handling_path(code text) returns ltree
    language sql stable security definer set search_path = public, pg_temp
as $$ select path from region where region.code = handling_path.code $$;
revoke all on function handling_path(text) from public;
grant execute on function handling_path(text) to hub_runtime;

drop policy service_request_update on service_request;
create policy service_request_update on service_request for update to hub_runtime
    using (handling_path(handling_region_code) <@ any ((select scope_paths('editor'))::ltree[]))
    with check (path <@ any ((select scope_paths('read'))::ltree[]));

-- Refused transitions never reach the table, whatever the code above it does. The table's
-- owner (the ingestion function runs as it) is exempt: it checks consistency instead. The
-- trigger's WHEN clause decides that against the owner's name as this migration sees it, so
-- the owner's bulk writes cost no function call per row.
create function check_service_request_change() returns trigger
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
do $$
begin
    execute format(
        'create trigger service_request_workflow before insert or update on service_request
             for each row when (current_user <> %L)
             execute function check_service_request_change()', current_user);
end
$$;

-- Idempotency keys, kept per caller: the same key with the same input replays the result.
create table idempotency_key (
    subject     text not null,
    key         text not null,
    operation   text not null,
    input_hash  text not null,
    result_type text,
    result_id   uuid,
    created_at  timestamptz not null default now(),
    primary key (subject, key)
);
alter table idempotency_key enable row level security;
create policy idempotency_key_own on idempotency_key for all to hub_runtime
    using (subject = current_setting('hub.subject', true))
    with check (subject = current_setting('hub.subject', true));
grant select, insert on idempotency_key to hub_runtime;

-- Subscribers hear only which request changed, and re-read it under their own scope; one
-- statement's changes are announced together, after it.
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
