// The previous period's figures and the change, as `RegionStats.previous` gives them (the
// previous whole month, quarter or year; for custom days the same number of days before):
// `{from, to, serviceRequests, change}`; change = this period less that one, rates as
// differences of fractions, null when either side is null.
export function compared(stats) {
  const given = stats?.previous;
  if (!given) return null;
  return {
    from: given.from,
    to: given.to,
    serviceRequests: given.stats?.serviceRequests ?? {},
    change: given.change ?? {},
  };
}
