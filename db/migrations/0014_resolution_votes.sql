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
