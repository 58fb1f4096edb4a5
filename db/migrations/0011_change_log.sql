-- Notifications carry nothing a listener can use (issue 12). Any role can LISTEN, so the
-- `service_request_changed` notification is now empty: it says only that some service
-- request changed. What changed goes into `change_log`, which the runtime role reads under
-- row-level security like the records themselves, and which keeps ten minutes of changes.
-- `token_revoked` is empty too: hubs reload the revocation list when they hear it.

create table change_log (
    seq        bigint generated always as identity primary key,
    -- the writing transaction: a reader takes rows only below the oldest transaction still
    -- running, so a transaction that commits late is never skipped
    tx         xid8 not null default pg_current_xact_id(),
    at         timestamptz not null default now(),
    request_id uuid not null,
    path       ltree not null
);
create index change_log_tx_seq on change_log (tx, seq);
create index change_log_at on change_log (at);
alter table change_log enable row level security;
create policy change_log_read on change_log for select to hub_runtime
    using (path <@ any ((select scope_paths('read'))::ltree[]));
grant select on change_log to hub_runtime;

-- The newest change pruned so far: a reader whose position lies before it may have missed
-- changes. One row.
create table change_log_horizon (
    one        boolean primary key default true check (one),
    pruned_tx  xid8 not null default '0'::xid8,
    pruned_seq bigint not null default 0,
    pruned_at  timestamptz not null default now()
);
insert into change_log_horizon default values;
alter table change_log_horizon enable row level security;
create policy change_log_horizon_read on change_log_horizon for select to hub_runtime
    using (true);
grant select on change_log_horizon to hub_runtime;

-- Forget changes older than ten minutes, at most once a minute: the writer that finds the
-- horizon a minute old prunes, any other goes on without waiting for it.
create function prune_change_log() returns void
    language plpgsql security definer set search_path = public, pg_temp
as $$
declare
    v_tx xid8;
    v_seq bigint;
begin
    perform from change_log_horizon
    where pruned_at < now() - interval '1 minute' for update skip locked;
    if not found then
        return;
    end if;
    with gone as (
        delete from change_log where at < now() - interval '10 minutes' returning tx, seq
    )
    select g.tx, g.seq into v_tx, v_seq from gone g order by g.tx desc, g.seq desc limit 1;
    update change_log_horizon h
    set pruned_at = now(),
        pruned_tx = case when v_tx is not null and (v_tx, v_seq) > (h.pruned_tx, h.pruned_seq)
                         then v_tx else h.pruned_tx end,
        pruned_seq = case when v_tx is not null and (v_tx, v_seq) > (h.pruned_tx, h.pruned_seq)
                          then v_seq else h.pruned_seq end;
end
$$;
revoke all on function prune_change_log() from public;

-- One statement's changes are logged together, after it, and announced by one empty
-- notification per transaction (PostgreSQL folds identical ones).
create or replace function notify_service_request_changes() returns trigger
    language plpgsql security definer set search_path = public, pg_temp
as $$
begin
    insert into change_log (request_id, path) select c.id, c.path from changed c;
    perform prune_change_log();
    perform pg_notify('service_request_changed', '');
    return null;
end
$$;

create or replace function revoke_token(p_jti text, p_expires_at timestamptz, p_reason text)
    returns timestamptz
    language plpgsql volatile
as $$
declare
    at timestamptz;
begin
    insert into revoked_token as r (jti, expires_at, reason)
    values (p_jti, p_expires_at, p_reason)
    on conflict (jti) do update
        set expires_at = case when r.expires_at is null or excluded.expires_at is null then null
                              else greatest(r.expires_at, excluded.expires_at) end,
            reason = coalesce(excluded.reason, r.reason)
    returning r.revoked_at into at;
    perform pg_notify('token_revoked', '');
    return at;
end
$$;
revoke all on function revoke_token(text, timestamptz, text) from public;
