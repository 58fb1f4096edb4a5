-- One-time links (issue 19, DESIGN.md §8): a download link for an export asked for by an
-- authenticated call, or a development sign-in link for the dashboard made by the CLI.
--
-- Only the SHA-256 of the nonce is kept (the nonce itself is 256 random bits, shown once).
-- A link is bound to its subject, the `jti` of the token it is redeemed as, and, for a
-- download, the exact target (`GET /exports/NAME.FORM?canonical-query`). `claims` holds what
-- the admission door rebuilds the caller from: the asking token's claims for a download, the
-- claims to mint for a sign-in link — never a JWT. As with revocations, the request role
-- reaches the table only through the functions below (row-level security, no policy).

create table one_time_link (
    nonce_hash bytea primary key check (length(nonce_hash) = 32),
    kind       text not null check (kind in ('download', 'sign_in')),
    subject    text not null check (length(subject) between 1 and 500),
    jti        text collate "C" not null check (length(jti) between 1 and 200),
    claims     jsonb not null check (jsonb_typeof(claims) = 'object'),
    target     text check (length(target) <= 4000),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at    timestamptz,
    check ((kind = 'download') = (target is not null)),
    check (expires_at > created_at)
);
create index one_time_link_expires on one_time_link (expires_at);
alter table one_time_link enable row level security;

-- Stores a link, and forgets links that expired more than a day ago.
create function create_one_time_link(
    p_nonce_hash bytea, p_kind text, p_subject text, p_jti text, p_claims jsonb,
    p_target text, p_expires_at timestamptz
) returns timestamptz
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
begin
    delete from one_time_link where expires_at < now() - interval '1 day';
    insert into one_time_link (nonce_hash, kind, subject, jti, claims, target, expires_at)
    values (p_nonce_hash, p_kind, p_subject, p_jti, p_claims, p_target, p_expires_at);
    return p_expires_at;
end
$$;
revoke all on function create_one_time_link(bytea, text, text, text, jsonb, text, timestamptz)
    from public;
grant execute on function create_one_time_link(bytea, text, text, text, jsonb, text, timestamptz)
    to hub_runtime;

-- Redeems a link of `p_kind` once (`p_use`; else only says whether it could be). `outcome`:
-- 'ok' (with `p_use`, the row is marked used by this call), 'unknown' (no such link of this
-- kind), 'revoked' (its jti is revoked), 'used', 'expired'. Two concurrent redemptions: the
-- conditional UPDATE lets exactly one of them through.
create function redeem_one_time_link(p_nonce_hash bytea, p_kind text, p_use boolean)
    returns table (outcome text, subject text, jti text, claims jsonb, target text,
                   expires_at timestamptz)
    language plpgsql volatile security definer set search_path = public, pg_temp
as $$
declare
    r one_time_link;
begin
    select * into r from one_time_link l where l.nonce_hash = p_nonce_hash and l.kind = p_kind;
    if not found then
        return query select 'unknown', null::text, null::text, null::jsonb, null::text,
                            null::timestamptz;
        return;
    end if;
    if exists (select 1 from revoked_token t where t.jti = r.jti
               and (t.expires_at is null or t.expires_at > now())) then
        outcome := 'revoked';
    elsif r.used_at is not null then
        outcome := 'used';
    elsif r.expires_at <= now() then
        outcome := 'expired';
    elsif not p_use then
        outcome := 'ok';
    else
        update one_time_link l set used_at = now()
        where l.nonce_hash = p_nonce_hash and l.used_at is null and l.expires_at > now();
        outcome := case when found then 'ok' else 'used' end;
    end if;
    return query select outcome, r.subject, r.jti, r.claims, r.target, r.expires_at;
end
$$;
revoke all on function redeem_one_time_link(bytea, text, boolean) from public;
grant execute on function redeem_one_time_link(bytea, text, boolean) to hub_runtime;
