-- Every insert maintains every index: keep only those the hub's queries use.
--
-- Trigram indexes cannot serve the hub's text filters: `ilike` is not leakproof, so under
-- row-level security PostgreSQL never puts it in an index condition, and without `pii` the
-- filters match masked text anyway. They only slowed every insert (and the division import).
drop index organization_name_trgm;
drop index service_request_title_trgm;
drop index participation_event_title_trgm;
drop index region_name_trgm;

-- Nothing reads requests by handler, and the due-date orders sort by an expression
-- (`coalesce(due_at, …)`) that a plain index on `due_at` cannot serve.
drop index service_request_handled_by;
drop index service_request_due;

-- A row's path comes from its region. Code running as the owner (ingestion, seeding) passes
-- the path it already joined, and is trusted with it; every other insert has it set here.
do $$
declare
    t text;
begin
    foreach t in array array['organization', 'service_request', 'participation_event',
                             'resolution']
    loop
        execute format('drop trigger %I on %I', t || '_path', t);
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
