-- Personal data without gaps (issue 14).
--
-- One masking rule for every output: GraphQL fields, history, audit documents, exports and
-- the reporting views all call `mask_text` / `mask_phone` / `mask_name`, redefined here to
-- recognise phone and ID numbers in every common form. Organization names and leader roles
-- hold no personal data any more: writes refuse it, and the names stored before are masked
-- below after each original is written to the audit log.

-- Full-width digits and the punctuation written around numbers, as ASCII: what is compared
-- and masked. (A full-width number comes back masked in ASCII digits.)
create function fold_digits(t text) returns text
    language sql immutable parallel safe
as $$ select translate(t, '０１２３４５６７８９＋－（）．　', '0123456789+-(). ') $$;

-- Phone numbers and resident ID numbers inside free text, in these forms: 18-digit ID numbers
-- (with X, or grouped 6-8-4 by spaces or hyphens), 15-digit ID numbers, mobile numbers (with
-- +86 / 0086 / (86) in front, grouped 3-4-4 by spaces, hyphens or dots), landlines with an
-- area code (0550-6712345, (0550)6712345, 010 1234 5678, +86 550 6712345). A number glued to
-- other digits is not one of these: references (341126101001-2026-000123), division codes,
-- dates and amounts stay readable.
create or replace function mask_text(t text) returns text
    language sql immutable parallel safe
as $$
    select regexp_replace(regexp_replace(regexp_replace(regexp_replace(fold_digits(t),
        -- 18-digit ID numbers
        '(?<![0-9])([1-9][0-9]{2})[0-9]{3}[ -]?[0-9]{8}[ -]?([0-9]{3}[0-9Xx])(?![0-9Xx])',
        '\1***********\2', 'g'),
        -- 15-digit ID numbers
        '(?<![0-9])([1-9][0-9]{2})[0-9]{8}([0-9]{4})(?![0-9])',
        '\1********\2', 'g'),
        -- mobile numbers
        '(?<![0-9+])((?:(?:\+|00)86[ .-]?|\(\+?86\)[ .-]?|86-)?1[3-9][0-9])[ .-]?[0-9]{4}[ .-]?([0-9]{4})(?![0-9])',
        '\1****\2', 'g'),
        -- landlines with an area code, national (0…) or international (+86 …)
        '(?<![0-9+])((?:\+|00)86[ .-]?\(?[1-9][0-9]{1,2}\)?|\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2})[ .-]?[1-9][0-9]{2,3}[ .-]?([0-9]{4})(?![0-9])',
        '\1****\2', 'g')
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
as $$ select t is not null and mask_text(t) <> fold_digits(t) $$;

-- A request's history with every free-text field of each entry masked.
create or replace function mask_history(h jsonb) returns jsonb
    language sql immutable parallel safe
as $$
    select coalesce(jsonb_agg(
        (select coalesce(jsonb_object_agg(f.key,
                    case when jsonb_typeof(f.value) = 'string' and f.key not in ('at', 'action',
                             'fromStatus', 'toStatus', 'actor')
                         then to_jsonb(mask_text(f.value #>> '{}')) else f.value end), '{}')
         from jsonb_each(e) f)
        order by i), '[]')
    from jsonb_array_elements(h) with ordinality as x(e, i)
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
