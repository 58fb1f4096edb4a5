// The three rate tiles (numerator / denominator, previous period, change) and the counts.
import { clear, count, defined, el, percent, points, signed } from "./text.js";

const RATES = [
  { name: "responseRate", label: "及时响应率", numerator: "respondedInTime", denominator: "responseDue" },
  { name: "resolutionRate", label: "办结率", numerator: "resolved", denominator: "resolvable" },
  { name: "satisfactionRate", label: "满意率", numerator: "satisfied", denominator: "rated" },
];

function trend(value) {
  if (value === null || value === undefined || value === 0) return undefined;
  return value > 0 ? "up" : "down";
}

export function renderTiles(root, stats, previous) {
  clear(root);
  const service = stats?.serviceRequests;
  for (const rate of RATES) {
    const value = service?.[rate.name];
    const tile = el("article", { className: "tile", "data-rate": rate.name },
      defined("h3", `ServiceStats.${rate.name}`, rate.label),
      el("p", { className: "value", "data-value": value ?? "", text: percent(value) }),
      el("p", { className: "ratio" },
        defined("span", `ServiceStats.${rate.numerator}`, count(service?.[rate.numerator])),
        " / ",
        defined("span", `ServiceStats.${rate.denominator}`, count(service?.[rate.denominator])),
      ),
    );
    if (previous) {
      const change = previous.change[rate.name];
      tile.append(
        el("p", { className: "compare", title: `上期：${previous.from} 至 ${previous.to}`,
          text: `上期 ${percent(previous.serviceRequests[rate.name])}` }),
        el("p", { className: `compare ${trend(change) ?? ""}`, text: `变化 ${points(change)}` }),
      );
    }
    root.append(tile);
  }
}

export function renderCounts(root, stats, previous) {
  clear(root);
  const service = stats?.serviceRequests;
  const participation = stats?.participation;
  const items = [
    ["ServiceStats.total", "诉求总数", service?.total, previous?.change.serviceRequests],
    ["ServiceStats.open", "未办结", service?.open, previous?.change.open],
    ["ServiceStats.overdue", "超期", service?.overdue, previous?.change.overdue],
    ["ParticipationStats.events", "议事活动", participation?.events, undefined],
  ];
  for (const [key, label, value, change] of items) {
    root.append(el("div", { className: "count" },
      defined("div", key, label, { className: "label" }),
      el("div", { className: "value", text: count(value) }),
      change === undefined ? null : el("div", { className: "label", text: `较上期 ${signed(change)}` }),
    ));
  }
}
