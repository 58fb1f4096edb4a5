// The dashboard: sign in, then the figures of a region in the caller's jurisdiction.
import { ApiError, query } from "./api.js";
import { keep, redeem, signOut, takeLinkNonce, token, tokenHelp } from "./auth.js";
import { renderKinds, renderTrend, disposeCharts } from "./charts.js";
import { ChildrenTable } from "./children.js";
import { compared } from "./compare.js";
import { download } from "./exports.js";
import * as periods from "./period.js";
import { renderCounts, renderTiles } from "./tiles.js";
import { clear, el } from "./text.js";

const $ = (id) => document.getElementById(id);
const state = { jurisdictions: [], jurisdiction: null, code: null, period: null, generation: 0 };
let firstFigures = false;
const table = new ChildrenTable($("children"), (code) => open(code));

function showError(where, error) {
  $(where).textContent = error ? String(error.message ?? error) : "";
}

function showSignIn(message) {
  disposeCharts();
  $("board").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  const help = tokenHelp();
  $("token-help").hidden = !help;
  if (help) $("token-help").textContent = `令牌由身份认证服务签发：${help}。请在该处登录后取得令牌，粘贴到上方。`;
  showError("sign-in-error", message ? { message } : null);
  $("token").focus();
}

async function start() {
  try {
    const { viewer } = await query("DashboardViewer");
    state.jurisdictions = viewer.jurisdictions;
    if (state.jurisdictions.length === 0) throw new Error("该令牌没有管辖区划。");
    $("sign-in").hidden = true;
    $("board").hidden = false;
    $("who").hidden = false;
    $("subject").textContent = viewer.subject;
    renderJurisdictions();
    state.period = periods.defaultPeriod(periods.chinaToday());
    renderPeriodPicker();
    await open(state.jurisdictions[0].code, state.jurisdictions[0].code);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut();
      showSignIn("令牌无效或已过期，请重新登录。");
    } else {
      showSignIn(error.message);
    }
  }
}

function renderJurisdictions() {
  const picker = clear($("jurisdiction"));
  const several = state.jurisdictions.length > 1;
  picker.hidden = !several;
  $("jurisdiction-label").hidden = !several;
  for (const j of state.jurisdictions) picker.append(el("option", { value: j.code, text: j.fullName }));
}

function renderPeriodPicker() {
  const kind = state.period.kind;
  $("period-kind").value = kind;
  const custom = kind === "custom";
  $("custom").hidden = !custom;
  $("period-value").hidden = custom;
  if (custom) {
    $("custom-from").value = state.period.from;
    $("custom-to").value = state.period.to;
    return;
  }
  const picker = clear($("period-value"));
  for (const p of periods.choices(kind, periods.chinaToday())) {
    picker.append(el("option", { value: p.key, text: p.label }));
  }
  picker.value = state.period.key;
}

function renderCrumbs(region) {
  const path = [...region.ancestors, region];
  const from = path.findIndex((r) => r.code === state.jurisdiction);
  const crumbs = clear($("crumbs"));
  path.slice(from >= 0 ? from : path.length - 1).forEach((r, i, all) => {
    const current = i === all.length - 1;
    crumbs.append(el("li", {}, current
      ? el("span", { "aria-current": "page", text: r.name })
      : el("button", { type: "button", className: "link", "data-code": r.code, onclick: () => open(r.code), text: r.name })));
  });
}

async function open(code, jurisdiction = state.jurisdiction) {
  state.jurisdiction = jurisdiction;
  $("jurisdiction").value = jurisdiction;
  state.code = code;
  const generation = ++state.generation;
  const current = () => generation === state.generation;
  const period = state.period;
  const trend = periods.trendRange(period);
  showError("board-error", null);
  $("period-title").textContent = `${period.label}（${period.from} 至 ${period.to}）`;
  const failed = (error) => {
    if (!current()) return;
    if (error instanceof ApiError && error.status === 401) {
      state.generation++;
      signOut();
      return showSignIn("令牌无效或已过期，请重新登录。");
    }
    showError("board-error", error);
  };

  const figures = query("DashboardRegion", { code, from: period.from, to: period.to }).then(({ region }) => {
    if (!current()) return;
    if (!region) throw new Error("无法查看该区划。");
    $("region-title").textContent = region.fullName;
    renderCrumbs(region);
    const before = compared(region.stats);
    renderTiles($("tiles"), region.stats, before);
    renderCounts($("counts"), region.stats, before);
    if (!firstFigures) {
      firstFigures = true;
      performance.mark("dashboard:first-figures");
    }
    renderKinds($("by-category"), region.stats?.serviceRequests?.byCategory, "诉求数", "件");
    renderKinds($("by-kind"), region.stats?.participation?.byKind, "活动数", "次");
  }).catch(failed);

  const children = query("DashboardChildren", { code, from: period.from, to: period.to })
    .then(({ region }) => current() && table.show(region, region?.breakdown ?? []))
    .catch(failed);

  const months = query("DashboardTrend", { code, from: trend.from, to: trend.to })
    .then(({ region }) => current() && renderTrend($("trend"), region?.breakdown ?? []))
    .catch(failed);

  await Promise.all([figures, children, months]);
  if (current()) document.body.dataset.shown = `${code}:${period.key}`;
}

function choosePeriod(period) {
  state.period = period;
  renderPeriodPicker();
  open(state.code);
}

function wire() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    keep(value);
    $("token").value = "";
    start();
  });
  $("sign-out").addEventListener("click", () => {
    signOut();
    state.generation++;
    showSignIn(null);
  });
  $("jurisdiction").addEventListener("change", (e) => open(e.target.value, e.target.value));
  $("period-kind").addEventListener("change", (e) => {
    const kind = e.target.value;
    if (kind === "custom") {
      state.period = periods.custom(state.period.from, state.period.to);
      renderPeriodPicker();
      return;
    }
    const options = periods.choices(kind, periods.chinaToday());
    choosePeriod(options.find((p) => p.from <= state.period.from && state.period.from <= p.to) ?? options[0]);
  });
  $("period-value").addEventListener("change", (e) => {
    const found = periods.choices(state.period.kind, periods.chinaToday()).find((p) => p.key === e.target.value);
    if (found) choosePeriod(found);
  });
  $("custom-apply").addEventListener("click", () => {
    const from = $("custom-from").value;
    const to = $("custom-to").value;
    if (!periods.validCustom(from, to)) return showError("board-error", { message: "请选择有效的起止日期（起始日不晚于截止日）。" });
    choosePeriod(periods.custom(from, to));
  });
  for (const format of ["csv", "xlsx"]) {
    $(`export-${format}`).addEventListener("click", () =>
      download(state.code, state.period, format).catch((error) => showError("board-error", error)));
  }
}

// A one-time link in the fragment: redeemed, whether the tab opened with it or it was
// pasted into an open tab (a fragment change does not reload the page).
async function signInByLink() {
  const nonce = takeLinkNonce();
  if (nonce === null) return false;
  state.generation++;
  signOut();
  try {
    await redeem(nonce);
  } catch (error) {
    showSignIn(error.message);
    return true;
  }
  await start();
  return true;
}

async function boot() {
  wire();
  window.addEventListener("hashchange", signInByLink);
  if (await signInByLink()) return;
  if (token()) return start();
  showSignIn(null);
}

boot();
