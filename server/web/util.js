// Small helpers shared by the modules: DOM building and human formatting.
// Everything user-supplied goes through textContent (never innerHTML), so a
// clip or file name like `<img src=x onerror=…>` stays literal text.

export const $ = (selector) => document.querySelector(selector);

/** An element: el("li", { class: "item", text: name, dataset: {…}, onclick }, ...children). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null && child !== false) node.append(child);
  return node;
}

/** "1.5 MiB" — binary units, like the desktop app and the CLI. */
export function humanBytes(n) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = n, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  if (unit === 0) return n === 1 ? "1 byte" : `${n} bytes`;
  return Number.isInteger(value) ? `${value} ${units[unit]}` : `${value.toFixed(1)} ${units[unit]}`;
}

/** "1 h 05 min", "4 min 12 s", "12 s"; days when it is that long. */
export function humanDuration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

export const secondsUntil = (iso) => (Date.parse(iso) - Date.now()) / 1000;

/** "just now", "3 min ago", "2 h ago", or a local date and time. */
export function ago(iso) {
  const s = -secondsUntil(iso);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

/** A short type label for a badge: "PNG", "PDF", "FILE". */
export function extBadge(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1, dot + 5).toUpperCase() : "FILE";
}

/** UTF-8 byte length, to tell whether a clip's 200-character preview is the whole text. */
export const utf8Length = (text) => new TextEncoder().encode(text).length;

/**
 * A padlock drawn as SVG (an emoji may have no glyph on the phone, or in
 * headless Chromium). className null: none (the share page draws its shell's padlock, 28 px, stroke 2).
 */
export function lockIcon(size = 16, className = "lock", strokeWidth = 2.2) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const attrs = { width: size, height: size, viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", "stroke-width": strokeWidth,
    "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", class: className };
  for (const [k, v] of Object.entries(attrs)) if (v != null) svg.setAttribute(k, v);
  const rect = document.createElementNS(ns, "rect");
  for (const [k, v] of Object.entries({ x: 4, y: 10, width: 16, height: 11, rx: 2 })) rect.setAttribute(k, v);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M8 10V7a4 4 0 0 1 8 0v3");
  svg.append(rect, path);
  return svg;
}
