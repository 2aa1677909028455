// What the signed-in screen shows: the clipboard history, the files, the
// usage figures, and the share dialog. Lists are kept in memory and changed
// by events, so a live update never refetches everything. End-to-end
// encrypted items show decrypted (sealed.js) when this browser holds the
// key, and as "Encrypted" with a padlock when it does not.
import { api } from "./api.js";
import { $, el, humanBytes, humanDuration, secondsUntil, ago, extBadge, lockIcon } from "./util.js";
import * as sealed from "./sealed.js";

const state = { clips: [], files: [], stats: null, limits: null, loading: false, queued: [], loaded: false, stale: false };

/** The app's hooks: copy a clip, download a file, say something. Set by app.js. */
export const actions = { copyClip() {}, download() {}, say() {}, fail() {}, explainLocked() {} };

// --- loading and events -----------------------------------------------------------

/** Loads everything again (after sign-in and after every reconnect, to catch up). */
export async function reload() {
  state.loading = true;
  state.queued = [];
  try {
    const [clips, files, stats] = await Promise.all([api("GET", "/buffer/clips"), api("GET", "/files"), api("GET", "/stats")]);
    Object.assign(state, { clips, files, stats, loaded: true });
    // Events that arrived while the lists were on their way may be newer than them.
    for (const event of state.queued) apply(event, false);
  } finally {
    state.loading = false;
    state.queued = [];
  }
  await sealed.open(state.clips, state.files);
  renderAll();
}

/** Shows the lists again after this browser's key came or went. */
export async function rerender() {
  sealed.reset();
  await sealed.open(state.clips, state.files);
  renderAll();
}

// Encrypted names and previews are opened before an item is drawn (once: they are cached).
let opening = Promise.resolve();
function renderOpened(render) {
  opening = opening.then(() => sealed.open(state.clips, state.files)).catch(() => {}).then(render);
}

export function setLimits(limits) { state.limits = limits; }
export const limits = () => state.limits;

/** One message from the events socket. */
export function onEvent(event) {
  if (state.loading) state.queued.push(event);
  apply(event, true);
}

function apply(event, render) {
  const without = (list, id) => list.filter((x) => x.id !== id);
  switch (event.type) {
    case "clip.created":
      state.clips = [event.clip, ...without(state.clips, event.clip.id)];
      if (render) renderOpened(renderClips);
      break;
    case "clip.deleted":
      state.clips = without(state.clips, event.id);
      if (render) renderClips();
      break;
    case "file.created":
      state.files = [event.file, ...without(state.files, event.file.id)];
      if (render) renderOpened(renderFiles);
      break;
    case "file.deleted":
      state.files = without(state.files, event.id);
      if (render) renderFiles();
      break;
    case "stats":
      state.stats = event.stats;
      if (render) renderStats();
      break;
    case "device.added":
      if (render) actions.say(`New device signed in: ${event.device.name}`);
      break;
  }
}

/** A clip this page made: shown at once, even when the live connection is down. */
export function added(clip) {
  apply({ type: "clip.created", clip }, true);
  if (clip.file) apply({ type: "file.created", file: clip.file }, true);
}

export function clear() {
  sealed.reset();
  Object.assign(state, { clips: [], files: [], stats: null, loaded: false });
  renderAll();
}

/** Marks the lists as possibly out of date (offline) or current again. */
export function setStale(stale) {
  if (state.stale !== stale) { state.stale = stale; renderClips(); renderFiles(); }
  for (const id of ["#clips-section", "#files-section", "#stats-section"]) $(id).classList.toggle("stale", stale);
}

// --- rendering -----------------------------------------------------------------------

function renderAll() { renderClips(); renderFiles(); renderStats(); }

const bytesText = (n) => `${n} ${n === 1 ? "byte" : "bytes"}`;

/** The title of a locked item: a padlock and "Encrypted" (never the field's base64). */
const lockedTitle = () => [lockIcon(15), "Encrypted"];

function renderClips() {
  const list = $("#clip-list");
  list.replaceChildren(...state.clips.map((clip) => {
    const look = sealed.clipLook(clip);
    const file = clip.kind === "file";
    const title = look.locked ? "Encrypted" : file ? look.title : look.noPreview ? "Encrypted text (no preview)" : look.title || "(empty text)";
    const size = file ? humanBytes(look.size) : bytesText(look.size);
    const tap = look.locked ? "tap for why" : file ? "tap to download" : "tap to copy";
    const main = el("button", { class: "main", type: "button", "aria-label": look.locked ? `Encrypted ${file ? "file" : "text"}: locked` : `${file ? "Download" : "Copy"}: ${title}`,
      onclick: () => (look.locked ? actions.explainLocked(look) : actions.copyClip(clip, look)) },
    el("span", { class: file ? "title" : "title text" }, ...(look.locked ? lockedTitle() : [title])),
    el("span", { class: "meta" }, look.encrypted && !look.locked ? lockIcon(12, "lock inline") : null, `${size} · `,
      el("time", { datetime: clip.created_at, class: "ago", text: ago(clip.created_at) }), ` · ${tap}`));
    return el("li", { class: look.locked ? "item locked" : "item", dataset: { id: clip.id, kind: clip.kind, testid: "clip", encrypted: String(!!look.encrypted), locked: String(!!look.locked) } },
      el("span", { class: "badge", text: file ? (look.locked ? "FILE" : extBadge(title)) : "TXT", "aria-hidden": "true" }),
      main,
      el("div", { class: "actions" },
        el("button", { class: "small", type: "button", text: "Share", "aria-label": `Share ${title}`,
          onclick: () => (look.locked ? actions.explainLocked(look) : openShare({ clip_id: clip.id }, title, clip)) }),
        el("button", { class: "small danger", type: "button", text: "Delete", "aria-label": `Delete clip ${title}`, onclick: () => removeClip(clip) })));
  }));
  showEmpty("#clips-empty", state.clips.length, "Nothing yet. Text and files you send show up here, newest first.");
}

function renderFiles() {
  const list = $("#file-list");
  list.replaceChildren(...state.files.map((file) => {
    const look = sealed.fileLook(file);
    const name = look.locked ? "Encrypted" : look.name;
    return el("li", { class: look.locked ? "item locked" : "item", dataset: { id: file.id, testid: "file", encrypted: String(look.encrypted), locked: String(look.locked) } },
      el("span", { class: "badge", text: look.locked ? "FILE" : extBadge(name), "aria-hidden": "true" }),
      el("div", { class: "main" },
        el("span", { class: "title" }, ...(look.locked ? lockedTitle() : [name])),
        el("span", { class: "meta" }, look.encrypted && !look.locked ? lockIcon(12, "lock inline") : null, `${humanBytes(look.size)} · `,
          el("span", { class: "expiry", dataset: { expires: file.expires_at } }))),
      el("div", { class: "actions" },
        el("button", { class: "small", type: "button", text: "Download", "aria-label": `Download ${name}`,
          onclick: () => (look.locked ? actions.explainLocked(look) : actions.download(file, look)) }),
        el("button", { class: "small", type: "button", text: "Share", "aria-label": `Share ${name}`,
          onclick: () => (look.locked ? actions.explainLocked(look) : openShare({ file_id: file.id }, name, { encrypted: file.encrypted, file })) }),
        el("button", { class: "small danger delete", type: "button", text: "Delete", "aria-label": `Delete ${name}`, onclick: (e) => removeFile(file, e.currentTarget, name) })));
  }));
  showEmpty("#files-empty", state.files.length, "No files. Choose one above, or share one to Cloud Buffer.");
  tick();
}

// "Nothing yet" only once the server said so; before that (offline at start) say that instead.
function showEmpty(selector, count, text) {
  const node = $(selector);
  node.hidden = count > 0;
  node.textContent = state.loaded ? text : state.stale ? "Not loaded: the server could not be reached." : "Loading…";
}

function renderStats() {
  const s = state.stats;
  const box = $("#stats");
  if (!s) { box.replaceChildren(); return; }
  // <dl> allows only dt/dd in its groups, so the bar lives inside the dd.
  const meter = (label, value, max, text, of) => el("div", { class: "stat" },
    el("dt", { text: label }),
    el("dd", {}, text, " ", el("span", { class: "of", text: of }),
      el("progress", { max: String(Math.max(max, 1)), value: String(Math.min(value, max)), "aria-label": `${label}: ${text} ${of}` })));
  const figure = (label, text) => el("div", { class: "stat" }, el("dt", { text: label }), el("dd", { text }));
  box.replaceChildren(
    meter("Storage", s.bytes_used, s.quota_bytes, humanBytes(s.bytes_used), `of ${humanBytes(s.quota_bytes)}`),
    meter("Files", s.files, s.max_files, String(s.files), `of ${s.max_files}`),
    figure("Clips", String(s.clips)),
    figure("Active links", String(s.shares_active)),
    figure("Downloads", String(s.downloads)));
}

/** Countdowns and "3 min ago", once a second. */
export function tick() {
  for (const node of document.querySelectorAll("#file-list .expiry")) {
    const left = secondsUntil(node.dataset.expires);
    node.textContent = left > 0 ? `${humanDuration(left)} left` : "expired";
    node.classList.toggle("soon", left < 600);
  }
  for (const node of document.querySelectorAll("#clip-list .ago")) node.textContent = ago(node.getAttribute("datetime"));
}

// --- actions --------------------------------------------------------------------------

async function removeClip(clip) {
  try {
    await api("DELETE", `/buffer/clips/${encodeURIComponent(clip.id)}`);
    apply({ type: "clip.deleted", id: clip.id }, true);
    actions.say("Clip deleted");
  } catch (e) { actions.fail(e); }
}

// A file goes from every device, so the first tap only arms the button
// (no confirm(): it would block the page and a WebDriver test alike).
async function removeFile(file, button, name) {
  if (!button.classList.contains("armed")) {
    button.classList.add("armed");
    button.textContent = "Really delete?";
    setTimeout(() => { button.classList.remove("armed"); button.textContent = "Delete"; }, 4000);
    return;
  }
  try {
    await api("DELETE", `/files/${encodeURIComponent(file.id)}`);
    apply({ type: "file.deleted", id: file.id }, true);
    actions.say(`Deleted ${name}`);
  } catch (e) { actions.fail(e); }
}

// The share dialog: the link, a Copy button and its QR code (an <img> from
// this server, so CSP's img-src 'self' covers it). An encrypted item's link
// carries its key after "#" (#k=…); the server's QR code cannot (it never
// sees the key), and this app has no QR encoder of its own, so there the
// QR is left out and a note says where to get one.
let opener = null;

/** The item key of an encrypted clip or file, from one of its fields (a text clip without a preview: from its text). */
async function itemShareKey(item) {
  if (item.file) return sealed.shareKey(item.file.name);
  if (item.preview) return sealed.shareKey(item.preview);
  const res = await api("GET", `/buffer/clips/${encodeURIComponent(item.id)}/content`, { raw: true });
  const field = (await res.text()).trim();
  await sealed.openText(item, field); // only a field that opens gives a working link
  return sealed.shareKey(field);
}

async function openShare(target, name, item = {}) {
  opener = document.activeElement;
  const dialog = $("#share-dialog");
  const encrypted = !!item.encrypted;
  $("#share-name").textContent = name;
  $("#share-error").textContent = "";
  $("#share-result").hidden = true;
  $("#share-wait").hidden = false;
  $("#share-qr").hidden = encrypted;
  $("#share-key-note").hidden = !encrypted;
  dialog.showModal();
  try {
    // The key first: no link is made that could not carry it.
    const key = encrypted ? await itemShareKey(item) : "";
    const share = await api("POST", "/shares", { json: target });
    if (encrypted) {
      $("#share-url").value = `${share.url}#k=${key}`;
      $("#share-expires").textContent = `Works for ${humanDuration(share.time_left)}; anyone with the whole link (its key is the part after #) can open it.`;
    } else {
      $("#share-url").value = share.url;
      $("#share-qr").src = new URL(share.qr_svg_url, location.href).pathname;
      $("#share-qr").alt = `QR code for the link to ${name}`;
      $("#share-expires").textContent = `Works for ${humanDuration(share.time_left)}; anyone with the link can download it.`;
    }
    $("#share-result").hidden = false;
    $("#share-copy").focus();
  } catch (e) {
    $("#share-error").textContent = e.message;
  } finally {
    $("#share-wait").hidden = true;
  }
}

export function initShareDialog(copyText) {
  const dialog = $("#share-dialog");
  $("#share-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { $("#share-qr").removeAttribute("src"); $("#share-url").value = ""; if (opener) opener.focus(); });
  $("#share-copy").addEventListener("click", async () => {
    try { await copyText(Promise.resolve($("#share-url").value)); actions.say("Link copied"); }
    catch { $("#share-url").select(); actions.say("Select the link and copy it"); }
  });
}
