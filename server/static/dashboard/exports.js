// CSV/XLSX of the figures on screen (the CHILD breakdown of the region shown, for the
// period), through a one-time link: ask the hub for a link, then open it.
import { token } from "./auth.js";

export function target(code, period, format) {
  const query = new URLSearchParams({ under: code, by: "CHILD", from: period.from, to: period.to });
  return { path: `/exports/breakdown.${format}`, query: query.toString() };
}

export async function download(code, period, format) {
  const response = await fetch("/exports/links", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token()}` },
    body: JSON.stringify(target(code, period, format)),
    credentials: "omit",
    cache: "no-store",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.url !== "string") {
    const reason = body?.errors?.[0]?.extensions?.reason ?? body?.reason ?? response.status;
    throw new Error(`无法生成下载链接（${reason}）`);
  }
  // The link names the hub by HUB_PUBLIC_URL; the page follows it on the origin it came from.
  const url = new URL(body.url, location.origin);
  location.assign(url.origin === location.origin ? url.href : location.origin + url.pathname);
}
