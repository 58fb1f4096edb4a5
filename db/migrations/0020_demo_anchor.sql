-- The demo in the present (issue 20): the day the demo was first seeded (the hub's clock's
-- "today", DESIGN.md §8). The demo's records are laid out relative to it, so seeding again,
-- or a second county later, on the same database lays them out the same way. The owner
-- alone reads and writes it; requests never need it.

create table demo_anchor (
    only_row boolean primary key default true check (only_row),
    day      date not null,
    set_at   timestamptz not null default now()
);
alter table demo_anchor enable row level security;
