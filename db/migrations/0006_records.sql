-- Resolutions move PROPOSED → ADOPTED or REJECTED, ADOPTED → IMPLEMENTED, and nowhere else.
create function check_resolution_change() returns trigger
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
-- The table's owner is exempt, as for requests (0003).
do $$
begin
    execute format(
        'create trigger resolution_workflow before insert or update on resolution
             for each row when (current_user <> %L)
             execute function check_resolution_change()', current_user);
end
$$;
