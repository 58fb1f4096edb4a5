// The previous period's figures and the change (this period minus that one; rates as
// differences of fractions; null when either side is null).
const FIGURES = ["total", "open", "overdue", "responseRate", "resolutionRate", "satisfactionRate"];
const CHANGE_NAMES = { total: "serviceRequests" };

function difference(now, then) {
  return now === null || now === undefined || then === null || then === undefined ? null : now - then;
}

// From the DashboardRegion answer: `previous` is the same figures over the previous period.
export function compared(region, previousPeriod) {
  const now = region.stats?.serviceRequests;
  const then = region.previous?.serviceRequests;
  if (!now || !then) return null;
  const change = {};
  for (const name of FIGURES) change[CHANGE_NAMES[name] ?? name] = difference(now[name], then[name]);
  return { from: previousPeriod.from, to: previousPeriod.to, serviceRequests: then, change };
}
