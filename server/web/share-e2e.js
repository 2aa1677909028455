// The phone page of an end-to-end encrypted share (docs/encryption.md).
// GET /s/TOKEN renders a shell, <main id="e2e-share" data-…>, and this fills
// it in: the key is the link's fragment (#k=…), which the browser never
// sends to the server, so everything is decrypted here, with WebCrypto.
//
// - No key, a damaged key, or a key that does not open the item: "This link
//   is incomplete", and nothing decrypted is shown (nothing can be).
// - Text: fetched, decrypted, shown with a Copy button.
// - Images (png, jpeg, gif, webp up to 20 MiB): fetched once, shown from a
//   Blob; Download saves that same Blob.
// - Other files: Download fetches /s/TOKEN/raw and decrypts it here as it
//   arrives; the service worker (sw.js, scope /app/, so it serves a URL under
//   /app/e2e-download/) turns the decrypted chunks into a download, pulling
//   them one at a time, so a large file never sits in memory. Without a
//   service worker (plain-http origins other than localhost) files up to
//   32 MiB are collected into a Blob; larger ones need HTTPS. That half is
//   the web app's too (e2e-download.js).
// - Protected links ask for the password and POST it to the raw URL.
// Everything shown goes through textContent; nothing unauthenticated is
// ever handed to the user (a failed record stops the download with an error).
// <html data-state> says which view is up (for tests and styles).

import { decryptField, decryptTransform, parseShareFragment, plaintextLength } from "./e2e.js";
import { el, extBadge, humanBytes, lockIcon } from "./util.js";
import { registeredWorker, save, SaveError } from "./e2e-download.js";

const PREVIEW_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const PREVIEW_MAX = 20 << 20;
const VERSION = new URL(import.meta.url).searchParams.get("v") || "dev";

const root = document.getElementById("e2e-share");
const data = root ? root.dataset : {};
const rawUrl = new URL(data.rawUrl || "", location.href).href;
const isText = data.kind === "text";
const protectedLink = data.password === "1";
const utf8 = new TextDecoder();

/** Why something failed, for the page. */
class ShareError extends Error {
  constructor(message, { incomplete = false, status = 0, code = "" } = {}) {
    super(message);
    this.incomplete = incomplete;
    this.status = status;
    this.code = code;
  }
}

// --- The page's parts -------------------------------------------------------

/** Replaces what the shell shows (its placeholder card) with `nodes`, keeping the brand line and the note. */
function show(...nodes) {
  for (const child of [...root.children]) {
    if (child.matches(".brand, .note")) continue;
    child.remove();
  }
  const note = root.querySelector(":scope > .note");
  for (const node of nodes) root.insertBefore(node, note);
  document.documentElement.dataset.state = nodes[0]?.dataset?.state || "";
}

function card(state, ...children) {
  return el("div", { class: "card", dataset: { state } }, ...children);
}

const lockLine = () => el("p", { class: "muted", id: "e2e-lock" },
  "End-to-end encrypted: decrypted on this device. The server cannot read it.");

function showIncomplete() {
  show(card("incomplete",
    el("div", { class: "symbol", "aria-hidden": "true", text: "#" }),
    el("h1", { id: "e2e-title", text: "This link is incomplete" }),
    el("p", { text: "This item is end-to-end encrypted. Its key is the last part of the link, after the “#”, and that part is missing or damaged: some apps cut links there when they pass them on." }),
    el("p", { class: "muted", text: "Ask whoever sent it for the whole link, or copy it again in full, and open that." })));
}

function showProblem(title, message) {
  show(card("problem",
    el("div", { class: "symbol", "aria-hidden": "true", text: "!" }),
    el("h1", { id: "e2e-title", text: title }),
    el("p", { class: "error", role: "alert", id: "e2e-error", text: message })));
}

function showLoading(text) {
  show(card("loading", el("p", { class: "muted", id: "e2e-status", role: "status", text })));
}

/** The problem of a failed request or decryption, on its own page. */
function showFailure(error) {
  if (error.incomplete) return showIncomplete();
  if (error.status === 410) return showProblem("This link has ended", error.message);
  if (error.status === 404) return showProblem("Link not found", error.message);
  showProblem("Something went wrong", error.message);
}

// --- Fetching ----------------------------------------------------------------

/** The raw bytes: a GET, or for a protected link a POST of the password (as a form, so any UTF-8 works). */
async function fetchRaw(password) {
  const init = { cache: "no-store", credentials: "omit" };
  if (password != null) {
    init.method = "POST";
    init.body = new URLSearchParams({ password });
  }
  let response;
  try {
    response = await fetch(rawUrl, init);
  } catch {
    throw new ShareError("The server could not be reached. Check the connection and try again.");
  }
  if (response.ok) return response;
  let code = "";
  try { code = (await response.json()).error.code || ""; } catch { /* not JSON */ }
  const status = response.status;
  const retry = Number(response.headers.get("retry-after")) || 0;
  const message = {
    401: code === "password_required" ? "Enter the password." : "Wrong password.",
    404: "This link does not exist. Check that you have the whole link.",
    410: { expired: "This link has expired.", revoked: "The sender has revoked this link.", exhausted: "This link has been used up: it allowed no more downloads." }[code] || "This link is no longer available.",
    429: `Too many wrong passwords. Try again in ${retry > 0 ? `${retry} s` : "a minute"}.`,
  }[status] || `The server answered HTTP ${status}. Try again later.`;
  throw new ShareError(message, { status, code });
}

/** The name field a file download names in its Content-Disposition. */
function nameFieldOf(response) {
  const match = /filename="([A-Za-z0-9_-]+=*)"/.exec(response.headers.get("content-disposition") || "");
  return match ? match[1] : "";
}

/** Opens a field, or says the link is incomplete (a wrong key, or a field that is not this item's). */
async function openField(key, kind, field) {
  try {
    return await decryptField(key, kind, field);
  } catch {
    throw new ShareError("incomplete", { incomplete: true });
  }
}

/**
 * A failure while decrypting content. The key already opened the item's
 * name, so a record that fails means the content was changed (or is
 * another item's), never a wrong key.
 */
function decryptionError(error) {
  if (error instanceof ShareError) return error;
  if (error instanceof SaveError || error?.code === "cancelled") return new ShareError(error.message);
  if (error?.code) return new ShareError(`The file could not be decrypted: ${error.message}. It was changed or damaged on the server, so nothing was saved.`);
  return new ShareError("The download was interrupted. Nothing was saved; try again.");
}

/** Every decrypted chunk of a response (for items small enough to hold). */
async function readAll(stream) {
  const reader = stream.getReader();
  const chunks = [];
  for (;;) {
    const { done, value } = await reader.read().catch((e) => { throw decryptionError(e); });
    if (done) return chunks;
    chunks.push(value);
  }
}

// --- The item ------------------------------------------------------------------

async function main() {
  if (!root) return;
  let key;
  try {
    key = { item: parseShareFragment(location.hash) };
  } catch {
    return showIncomplete();
  }
  if (!isText) serviceWorker(); // start early: a download needs it later
  if (protectedLink) return askPassword(key);
  try {
    await openItem(key, null, null);
  } catch (e) {
    showFailure(e);
  }
}

/** The password form of a protected link. */
function askPassword(key) {
  const input = el("input", { type: "password", id: "password", name: "password", required: "", autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
  const button = el("button", { class: "button", type: "submit", text: "Open" });
  const problem = el("p", { class: "error", role: "alert", id: "e2e-error", hidden: "" });
  const form = el("form", { id: "e2e-password" }, el("label", { for: "password", text: "Password" }), input, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.value) return;
    button.disabled = true;
    button.textContent = "Opening…";
    let response;
    try {
      response = await fetchRaw(input.value);
    } catch (e) {
      button.disabled = false;
      button.textContent = "Open";
      if (e.status === 401 || e.status === 429 || !e.status) {
        problem.textContent = e.message;
        problem.hidden = false;
        input.select();
        return;
      }
      return showFailure(e);
    }
    try {
      await openItem(key, input.value, response);
    } catch (e) {
      showFailure(e);
    }
  });
  show(card("password",
    el("div", { class: "symbol" }, lockIcon(28, null, 2)), // the shell's padlock (share.rs LOCK_ICON)
    el("h1", { id: "e2e-title", text: "This link is protected" }),
    el("p", { class: "muted", text: "Enter the password you were given to open it. The item is end-to-end encrypted and is decrypted on this device." }),
    problem, form));
  input.focus();
}

/**
 * Shows the item. `response` is the raw answer when the password form has
 * already fetched it (on a protected link every fetch may count a download).
 */
async function openItem(key, password, response) {
  if (isText) return openText(key, password, response);
  const size = plaintextLength(Number(data.size || response?.headers.get("content-length")));
  const nameField = data.name || (response ? nameFieldOf(response) : "");
  if (!nameField) {
    response?.body?.cancel();
    throw new ShareError("This shared file has no name to check its key against, so it cannot be opened here.");
  }
  showLoading("Decrypting…");
  let name, type = "";
  try {
    name = utf8.decode(await openField(key, "name", nameField));
    if (data.contentType) type = utf8.decode(await openField(key, "content-type", data.contentType)).trim().toLowerCase();
  } catch (e) {
    response?.body?.cancel();
    throw e;
  }
  const view = fileView(name, size, type);
  show(view.card);
  if (PREVIEW_TYPES.includes(type) && size != null && size <= PREVIEW_MAX) return showImage(key, password, response, view, name, type);
  view.button.addEventListener("click", () => download(key, password, null, view, name, size, type));
  if (response) download(key, password, response, view, name, size, type); // the password form was the click
}

/** The card of a file: badge, name, size, type, status line, actions. */
function fileView(name, size, type) {
  const status = el("p", { class: "muted", id: "e2e-status", role: "status", hidden: "" });
  const error = el("p", { class: "error", role: "alert", id: "e2e-error", hidden: "" });
  const button = el("button", { class: "button", type: "button", id: "e2e-download", text: "Download" });
  const actions = el("div", { class: "actions" }, button);
  const details = el("dl", {},
    el("dt", { text: "Size" }), el("dd", { id: "e2e-size", text: size == null ? "unknown" : humanBytes(size) }),
    type ? el("dt", { text: "Type" }) : null, type ? el("dd", { text: type }) : null);
  const box = card("file",
    el("span", { class: "badge", text: extBadge(name) }),
    el("h1", { id: "e2e-name", text: name }),
    details, lockLine(), status, error, actions);
  return {
    card: box, button, actions,
    status(text) { status.textContent = text; status.hidden = !text; },
    error(text) { error.textContent = text; error.hidden = !text; },
  };
}

async function openText(key, password, response) {
  showLoading("Decrypting…");
  response ??= await fetchRaw(password);
  const field = (await response.text()).trim();
  const text = utf8.decode(await openField(key, "text", field));
  const area = el("textarea", { id: "text", readonly: "", rows: String(rowsFor(text)), "aria-label": "Shared text", spellcheck: "false" });
  area.value = text;
  const copy = el("button", { class: "button", type: "button", id: "copy", text: "Copy" });
  copy.addEventListener("click", () => copyText(area, copy));
  show(card("text",
    el("span", { class: "badge", text: "TEXT" }),
    el("h1", { id: "e2e-title", text: "Shared text" }),
    el("dl", {}, el("dt", { text: "Size" }), el("dd", { id: "e2e-size", text: humanBytes(new TextEncoder().encode(text).length) }),
      el("dt", { text: "Type" }), el("dd", { text: "Text" })),
    area, lockLine(), el("div", { class: "actions" }, copy)));
}

/** Rows for the text box, as the plain share page counts them (about 34 characters a line at 360 px). */
function rowsFor(text) {
  const lines = text.split("\n").reduce((n, line) => n + Math.max(1, Math.ceil([...line].length / 34)), 0);
  return Math.min(16, Math.max(3, lines));
}

function copyText(area, button) {
  const done = (ok) => {
    button.textContent = ok ? "Copied" : "Select the text to copy";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  };
  const legacy = () => {
    area.focus();
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { /* unsupported */ }
    done(ok);
  };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(area.value).then(() => done(true), legacy);
  else legacy();
}

/** An image: fetched and decrypted once, previewed from a Blob, saved from the same Blob. */
async function showImage(key, password, response, view, name, type) {
  view.button.disabled = true;
  view.status("Decrypting the picture…");
  let chunks;
  try {
    response ??= await fetchRaw(password);
    chunks = await readAll(response.body.pipeThrough(decryptTransform(key)));
  } catch (e) {
    view.status("");
    view.error(e.message);
    return;
  }
  const url = URL.createObjectURL(new Blob(chunks, { type }));
  const img = el("img", { class: "preview", id: "e2e-preview", alt: name, src: url });
  view.card.insertBefore(img, view.card.querySelector("dl").nextSibling);
  view.status("");
  const save = el("a", { class: "button", id: "e2e-download", href: url, download: name, text: "Download" });
  view.button.replaceWith(save);
}

// --- Downloads -------------------------------------------------------------------

/** The service worker that turns decrypted chunks into a download, or null where there is none. */
const serviceWorker = () => registeredWorker(VERSION);

/** Downloads and decrypts a file: through the service worker, or into a Blob when it is small enough (e2e-download.js). */
async function download(key, password, response, view, name, size, type) {
  view.button.disabled = true;
  view.error("");
  view.status("Starting the download…");
  try {
    await save(async () => (response ?? (await fetchRaw(password))).body.pipeThrough(decryptTransform(key)), {
      name, size, type, worker: serviceWorker, where: "the link",
      progress: (got) => view.status(size ? `Decrypting… ${Math.floor((got / size) * 100)}%` : "Decrypting…"),
      saveBlob: (blob) => blobLink(blob, name, view),
    });
    view.status(`Downloaded and decrypted: ${name}`);
    view.button.textContent = "Download again";
  } catch (e) {
    view.status("");
    if (e.reason === "too-large") { // nothing was fetched or read
      response?.body?.cancel();
      view.error(e.message);
      return;
    }
    view.error(decryptionError(e).message);
    view.button.textContent = "Try again";
  } finally {
    view.button.disabled = false;
  }
}

/** A small file saved from a Blob without a service worker: a link to it, clicked, that can save it again. */
function blobLink(blob, name, view) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { class: "button secondary", id: "e2e-save", href: url, download: name, text: "Save the file again" });
  view.actions.querySelector("#e2e-save")?.remove();
  view.actions.append(link);
  link.click();
}

main();
