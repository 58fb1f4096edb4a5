-- Revoked tokens, by `jti` (issue 8). The owner revokes (`grassroots token revoke`); every
-- hub process keeps the unexpired revocations in memory, told of each new one by a NOTIFY
-- on `token_revoked` and reloading the whole list now and then as a backstop. The request
-- role reads the list only through `revoked_tokens()` and can neither add nor remove one.

create table revoked_token (
    jti        text collate "C" primary key check (length(jti) between 1 and 200),
    -- when the token expires anyway (its `exp`); null: kept for ever
    expires_at timestamptz,
    revoked_at timestamptz not null default now(),
    reason     text check (length(reason) <= 500)
);
alter table revoked_token enable row level security;

-- The revocations that still matter: a token past its `exp` is refused anyway.
create function revoked_tokens() returns table (jti text, expires_at timestamptz)
    language sql stable security definer set search_path = public, pg_temp
as $$
    select r.jti, r.expires_at from revoked_token r
    where r.expires_at is null or r.expires_at > now()
$$;
revoke all on function revoked_tokens() from public;
grant execute on function revoked_tokens() to hub_runtime;

-- Revoking again keeps the first revocation's time, and the later expiry. The notification
-- carries the jti alone, so a hub refuses the token before its next reload.
create function revoke_token(p_jti text, p_expires_at timestamptz, p_reason text)
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
    perform pg_notify('token_revoked', p_jti);
    return at;
end
$$;
revoke all on function revoke_token(text, timestamptz, text) from public;

-- Revocations of tokens that expired a day ago are no longer needed.
create function prune_revoked_tokens() returns integer
    language sql volatile
as $$
    with gone as (
        delete from revoked_token where expires_at < now() - interval '1 day' returning 1
    )
    select count(*)::integer from gone
$$;
revoke all on function prune_revoked_tokens() from public;
