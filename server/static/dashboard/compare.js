// The previous period's figures and the change (this period minus that one; rates as
// differences of fractions; null when either side is null), as `RegionStats.previous` gives
// them: `{from, to, stats, change}`.
const FIGURES = ["total", "open", "overdue", "responseRate", "resolutionRate", "satisfactionRate"];
const CHANGE_NAMES = { total: "serviceRequests" };

const difference = (now, then) => (now == null || then == null ? null : now - then);

export function compared(region, previousPeriod) {
  const given = region.stats?.previous;
  if (given) {
    return { from: given.from, to: given.to, serviceRequests: given.stats?.serviceRequests ?? {}, change: given.change ?? {} };
  }
  // Until the hub gives `previous`: the same figures asked for over the previous period.
  const now = region.stats?.serviceRequests;
  const then = region.previous?.serviceRequests;
  if (!now || !then) return null;
  const change = {};
  for (const name of FIGURES) change[CHANGE_NAMES[name] ?? name] = difference(now[name], then[name]);
  return { from: previousPeriod.from, to: previousPeriod.to, serviceRequests: then, change };
}
