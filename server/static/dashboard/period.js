// Periods as days in China Standard Time (DESIGN.md §8): whole months, quarters and years,
// or custom days, and the 24 months of the trend (the previous period is the hub's).

export function chinaToday(now = new Date()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(now);
}

const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const pad = (n) => String(n).padStart(2, "0");
const first = (y, m) => iso(Date.UTC(y, m - 1, 1));
const last = (y, m) => iso(Date.UTC(y, m, 0));

export function month(y, m) {
  const key = `${y}-${pad(m)}`;
  return { kind: "month", key, from: first(y, m), to: last(y, m), label: `${y}年${m}月` };
}

export function quarter(y, q) {
  const start = (q - 1) * 3 + 1;
  const key = `${y}-Q${q}`;
  return { kind: "quarter", key, from: first(y, start), to: last(y, start + 2), label: `${y}年第${q}季度` };
}

export function year(y) {
  return { kind: "year", key: String(y), from: first(y, 1), to: last(y, 12), label: `${y}年` };
}

export function custom(from, to) {
  return { kind: "custom", key: `${from}~${to}`, from, to, label: `${from} 至 ${to}` };
}

function shiftMonth(y, m, by) {
  const index = y * 12 + (m - 1) + by;
  return [Math.floor(index / 12), (index % 12) + 1];
}

// The choices offered for each kind, newest first, ending at today's period.
export function choices(kind, today) {
  const y = +today.slice(0, 4);
  const m = +today.slice(5, 7);
  if (kind === "month") {
    return Array.from({ length: 36 }, (_, i) => month(...shiftMonth(y, m, -i)));
  }
  if (kind === "quarter") {
    const q = Math.floor((m - 1) / 3) + 1;
    return Array.from({ length: 12 }, (_, i) => {
      const index = y * 4 + (q - 1) - i;
      return quarter(Math.floor(index / 4), (index % 4) + 1);
    });
  }
  if (kind === "year") return Array.from({ length: 6 }, (_, i) => year(y - i));
  return [];
}

// The default: the last whole month that has ended.
export function defaultPeriod(today) {
  return month(...shiftMonth(+today.slice(0, 4), +today.slice(5, 7), -1));
}

// The 24 months of the trend, ending with the period's last month.
export function trendRange(period) {
  const [y, m] = shiftMonth(+period.to.slice(0, 4), +period.to.slice(5, 7), -23);
  return { from: first(y, m), to: period.to };
}

export function validCustom(from, to) {
  return /^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to) && from <= to;
}
