// The children table with the region's own row (本级) first: sortable by any column (click
// or keyboard), each child drillable, notes (无数据) shown apart from 0.
import { noteOn } from "./notes.js";
import { clear, count, defined, el, percent } from "./text.js";

const COLUMNS = [
  { id: "total", label: "诉求数", key: "ServiceStats.total", get: (s) => s.serviceRequests?.total, note: "serviceRequests.total", show: count },
  { id: "open", label: "未办结", key: "ServiceStats.open", get: (s) => s.serviceRequests?.open, note: "serviceRequests.total", show: count },
  { id: "overdue", label: "超期", key: "ServiceStats.overdue", get: (s) => s.serviceRequests?.overdue, note: "serviceRequests.total", show: count },
  { id: "responseRate", label: "及时响应率", key: "ServiceStats.responseRate", get: (s) => s.serviceRequests?.responseRate, note: "serviceRequests.total", show: percent },
  { id: "resolutionRate", label: "办结率", key: "ServiceStats.resolutionRate", get: (s) => s.serviceRequests?.resolutionRate, note: "serviceRequests.total", show: percent },
  { id: "satisfactionRate", label: "满意率", key: "ServiceStats.satisfactionRate", get: (s) => s.serviceRequests?.satisfactionRate, note: "serviceRequests.total", show: percent },
  { id: "events", label: "议事活动", key: "ParticipationStats.events", get: (s) => s.participation?.events, note: "participation.events", show: count },
  { id: "participants", label: "参与人次", key: "ParticipationStats.participants", get: (s) => s.participation?.participants, note: "participation.events", show: count },
  { id: "organizations", label: "组织数", key: "RegionStats.organizations", get: (s) => s.organizations, note: "organizations", show: count },
];

// Null values last in both directions; ties by code ascending.
export function sortRows(rows, column, direction) {
  const found = COLUMNS.find((c) => c.id === column);
  const sign = direction === "descending" ? -1 : 1;
  return [...rows].sort((a, b) => {
    if (found) {
      const x = found.get(a.stats);
      const y = found.get(b.stats);
      const xMissing = x === null || x === undefined;
      const yMissing = y === null || y === undefined;
      if (xMissing !== yMissing) return xMissing ? 1 : -1;
      if (!xMissing && x !== y) return (x - y) * sign;
    } else if (column === "name" && a.label !== b.label) {
      return a.label.localeCompare(b.label, "zh-CN") * sign;
    }
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
}

export class ChildrenTable {
  constructor(table, onOpen) {
    this.table = table;
    this.onOpen = onOpen;
    this.sort = { column: "key", direction: "ascending" };
    this.rows = [];
  }

  show(region, rows) {
    this.region = region;
    this.rows = rows;
    this.render();
  }

  toggle(column) {
    const same = this.sort.column === column;
    const direction = same && this.sort.direction === "descending" ? "ascending" : "descending";
    this.sort = { column, direction: column === "name" && !same ? "ascending" : direction };
    this.render();
    this.table.querySelector(`th[data-column="${column}"] button`)?.focus();
  }

  header() {
    const cell = (id, labelNode) => {
      const sorted = this.sort.column === id ? this.sort.direction : "none";
      return el("th", { scope: "col", "data-column": id, "aria-sort": sorted },
        el("button", { type: "button", onclick: () => this.toggle(id) }, labelNode));
    };
    return el("tr", {},
      cell("name", el("span", { text: "区划" })),
      ...COLUMNS.map((c) => cell(c.id, defined("span", c.key, c.label))));
  }

  render() {
    const head = clear(this.table.tHead);
    head.append(this.header());
    const body = clear(this.table.tBodies[0]);
    // The region's own row (本级) stays first and is not ranked.
    const own = this.rows.filter((r) => r.own);
    const children = sortRows(this.rows.filter((r) => !r.own), this.sort.column, this.sort.direction);
    for (const row of [...own, ...children]) body.append(this.row(row));
    if (this.rows.length === 0) {
      body.append(el("tr", {}, el("td", { colspan: COLUMNS.length + 1, text: "没有下级区划" })));
    }
  }

  row(row) {
    const drillable = !row.own && row.region && row.region.access === "FULL";
    const name = drillable
      ? el("button", { type: "button", className: "link", "data-code": row.region.code,
          onclick: () => this.onOpen(row.region.code), text: row.label })
      : el("span", { text: row.own ? "本级" : row.label });
    return el("tr", { className: row.own ? "own" : undefined, "data-key": row.key },
      el("th", { scope: "row" }, name),
      ...COLUMNS.map((c) => {
        const note = noteOn(row.stats, c.note);
        if (note) return el("td", { className: "nodata", "data-column": c.id, "data-note": note.kind, text: note.label });
        return el("td", { "data-column": c.id, text: c.show(c.get(row.stats)) });
      }));
  }
}
