// The caller's token: in this tab's session storage only. A one-time link (#link=<nonce>)
// is taken out of the address bar at once and redeemed for a short-lived token.
const KEY = "hub-dashboard:token";

export function token() {
  return sessionStorage.getItem(KEY);
}

export function keep(value) {
  sessionStorage.setItem(KEY, value.trim());
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

// The nonce of a one-time link in the fragment, removed from the address bar and history.
export function takeLinkNonce() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const nonce = fragment.get("link");
  if (nonce === null) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return nonce;
}

export async function redeem(nonce) {
  const response = await fetch("/auth/link", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ nonce }),
    credentials: "omit",
    cache: "no-store",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.token !== "string") {
    const reason = body?.errors?.[0]?.extensions?.reason ?? body?.reason ?? response.status;
    throw new Error(`登录链接无效或已使用（${reason}），请重新获取。`);
  }
  keep(body.token);
  return body;
}

// Where to get a token, when the hub names an identity provider (filled in by the hub).
export function tokenHelp() {
  return document.querySelector('meta[name="hub-token-help"]')?.content || null;
}
