// Building the page from API strings: always as text (textContent), never as HTML.
import { DEFINITIONS } from "./api.gen.js";

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

const integer = new Intl.NumberFormat("zh-CN");

export function count(value) {
  return value === null || value === undefined ? "—" : integer.format(value);
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
}

// A change of a rate (a difference of fractions) in percentage points.
export function points(value) {
  if (value === null || value === undefined) return "—";
  const shown = (value * 100).toFixed(1);
  return `${value > 0 ? "+" : ""}${shown} 个百分点`;
}

export function signed(value) {
  if (value === null || value === undefined) return "—";
  return `${value > 0 ? "+" : ""}${integer.format(value)}`;
}

// A label that shows the schema's definition of its figure on hover (title) and on keyboard
// focus (tabindex, aria-describedby and a CSS tooltip from data-definition).
export function defined(tag, key, label, props = {}) {
  const definition = DEFINITIONS[key];
  if (!definition) return el(tag, { ...props, text: label });
  const id = `def-${key.replace(/[^A-Za-z0-9]/g, "-")}`;
  if (!document.getElementById(id)) {
    document.getElementById("definitions").append(el("span", { id, text: definition }));
  }
  return el(tag, {
    ...props,
    text: label,
    title: definition,
    tabindex: 0,
    "aria-describedby": id,
    "data-definition": definition,
  });
}
