-- The hub's one clock (db/clock.py, DESIGN.md §8) in SQL. The hub's request session sets
-- `hub.now` per transaction while `HUB_TODAY` pins the clock (development and tests only);
-- otherwise it is empty and `hub_now()` is the transaction's now(). The workflow's reopening
-- window reads it, so `availableActions` and the trigger agree on the day.

create function hub_now() returns timestamptz
    language sql stable
as $$
    select coalesce(nullif(current_setting('hub.now', true), '')::timestamptz, now())
$$;

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
        and old.resolved_at < hub_now() - interval '15 days' then
        raise exception 'a request can be reopened within 15 days of its resolution'
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;
