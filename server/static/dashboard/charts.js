// Charts through Apache ECharts (vendor/echarts.common.min.js, window.echarts). Every label
// and tooltip is plain text: tooltips render as rich text on the canvas, never as HTML.
const charts = new Map();

function chart(node) {
  let found = charts.get(node);
  if (!found) {
    found = window.echarts.init(node, null, { renderer: "canvas" });
    charts.set(node, found);
  }
  return found;
}

window.addEventListener("resize", () => {
  for (const found of charts.values()) found.resize();
});

const TEXT = { fontFamily: "system-ui, 'Noto Sans CJK SC', sans-serif" };
const rate = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);
const shown = (v, unit) => (v === null || v === undefined ? "—" : `${v}${unit}`);

function tooltip(formatter) {
  return { trigger: "axis", renderMode: "richText", confine: true, formatter };
}

// Plain-text lines: the axis value, then "series: value" per series.
function axisText(params, units) {
  const list = Array.isArray(params) ? params : [params];
  const lines = [String(list[0]?.name ?? "")];
  for (const p of list) lines.push(`${p.seriesName}：${shown(p.value, units[p.seriesIndex] ?? "")}`);
  return lines.join("\n");
}

export function renderTrend(node, rows) {
  const months = rows.map((r) => r.key);
  const service = rows.map((r) => r.stats.serviceRequests ?? {});
  chart(node).setOption({
    textStyle: TEXT,
    animation: false,
    tooltip: tooltip((params) => axisText(params, ["件", "%", "%", "%"])),
    legend: { top: 0, type: "scroll" },
    grid: { left: 44, right: 44, top: 36, bottom: 28 },
    xAxis: { type: "category", data: months },
    yAxis: [
      { type: "value", name: "件", minInterval: 1 },
      { type: "value", name: "%", min: 0, max: 100, splitLine: { show: false } },
    ],
    series: [
      { name: "诉求数", type: "bar", data: service.map((s) => s.total ?? null), itemStyle: { color: "#9fb3c8" } },
      { name: "及时响应率", type: "line", yAxisIndex: 1, data: service.map((s) => rate(s.responseRate)), connectNulls: false },
      { name: "办结率", type: "line", yAxisIndex: 1, data: service.map((s) => rate(s.resolutionRate)) },
      { name: "满意率", type: "line", yAxisIndex: 1, data: service.map((s) => rate(s.satisfactionRate)) },
    ],
  }, true);
}

export function renderKinds(node, kinds, seriesName, unit) {
  const ordered = [...(kinds ?? [])].sort((a, b) => a.count - b.count);
  chart(node).setOption({
    textStyle: TEXT,
    animation: false,
    tooltip: tooltip((params) => axisText(params, [unit])),
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: ordered.map((k) => k.label) },
    series: [{ name: seriesName, type: "bar", data: ordered.map((k) => k.count), itemStyle: { color: "#3e7bfa" } }],
  }, true);
}

export function disposeCharts() {
  for (const found of charts.values()) found.dispose();
  charts.clear();
}
