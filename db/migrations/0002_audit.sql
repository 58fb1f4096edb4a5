-- The audit log: who did or read what, where. Append-only for the runtime role, readable by
-- callers holding `auditor` over the entry's region.

create table audit_log (
    id          uuid primary key default gen_random_uuid(),
    at          timestamptz not null default now(),
    actor       text not null,
    client      text,
    operation   text not null,
    region_code text collate "C" not null references region (code),
    path        ltree not null,
    record_type text,
    record_id   uuid,
    -- Reads of personal data name every record they returned unmasked.
    record_ids  uuid[],
    before      jsonb,
    after       jsonb
);
create trigger audit_log_path before insert on audit_log
    for each row execute function set_row_path();
create index audit_log_region_at on audit_log (region_code, at desc, id desc);
create index audit_log_at on audit_log (at desc, id desc);

alter table audit_log enable row level security;
create policy audit_log_read on audit_log for select to hub_runtime
    using (path <@ any ((select scope_paths('auditor'))::ltree[]));
create policy audit_log_insert on audit_log for insert to hub_runtime
    with check (path <@ any ((select scope_paths('read'))::ltree[]));

grant select, insert on audit_log to hub_runtime;

-- The audit view of a JSON document: every string masked as free text, and the values of
-- personal fields masked as names or phone numbers.
create function mask_json(doc jsonb) returns jsonb
    language plpgsql immutable parallel safe
as $$
declare
    result jsonb;
begin
    case jsonb_typeof(doc)
        when 'object' then
            select coalesce(jsonb_object_agg(key,
                case
                    when jsonb_typeof(value) <> 'string' then mask_json(value)
                    when key in ('requester_name', 'requesterName', 'leader_name', 'leaderName')
                        then to_jsonb(mask_name(value #>> '{}'))
                    when key ~* 'phone' then to_jsonb(mask_phone(value #>> '{}'))
                    else to_jsonb(mask_text(value #>> '{}'))
                end), '{}')
            into result from jsonb_each(doc);
        when 'array' then
            select coalesce(jsonb_agg(mask_json(value) order by i), '[]')
            into result from jsonb_array_elements(doc) with ordinality as x(value, i);
        when 'string' then
            result := to_jsonb(mask_text(doc #>> '{}'));
        else
            result := doc;
    end case;
    return result;
end
$$;
