-- Each batch a source imported (issue 20): when, and how many records of each kind, so an
-- office sees when a subordinate system last sent data. The hub's ingest writes one row per
-- batch written, in the batch's transaction. Sources and their imports are read by callers
-- whose editor scope covers the source's jurisdiction (the same rule as ingesting); the
-- records themselves stay under their own policies.

create table source_import (
    id          uuid primary key default gen_random_uuid(),
    source      text collate "C" not null references source (name),
    path        ltree not null,  -- the source's jurisdiction, for row-level security
    imported_at timestamptz not null default now(),
    counts      jsonb not null   -- {organizations: {created, updated, unchanged}, …}
);
create index source_import_source on source_import (source, imported_at desc);

alter table source_import enable row level security;
grant select, insert on source_import to hub_runtime;
create policy source_import_read on source_import for select to hub_runtime
    using (path <@ any ((select scope_paths('editor'))::ltree[]));
create policy source_import_insert on source_import for insert to hub_runtime
    with check (path <@ any ((select scope_paths('editor'))::ltree[]));

grant select on source to hub_runtime;
create policy source_read on source for select to hub_runtime
    using (path <@ any ((select scope_paths('editor'))::ltree[]));
