// Moving things: text and files to the buffer (with progress and Cancel),
// clips to this device's clipboard, files to its downloads.
import { api, accessToken, upload, encodeFilename, ApiError } from "./api.js";
import { $, humanBytes, utf8Length } from "./util.js";
import * as views from "./views.js";

/** Hooks set by app.js: say(text) for good news, fail(error) for bad. */
export const notify = { say() {}, fail() {} };

const MAX_TEXT = 1024 * 1024; // the server's text clip limit; bigger text travels as a file

/** Sends text to every device as a text clip (or, over 1 MiB, as a .txt file clip). */
export async function sendText(text) {
  if (utf8Length(text) > MAX_TEXT) {
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
    const [result] = await uploadFiles([new File([text], `text-${stamp}.txt`, { type: "text/plain" })]);
    if (result !== true) throw Object.assign(result, { reported: true });
    return null;
  }
  const clip = await api("PUT", "/buffer", { body: text, headers: { "x-data-type": "text", "content-type": "text/plain; charset=utf-8" } });
  views.added(clip);
  return clip;
}

// --- uploads: one at a time, in a queue, one progress bar ---------------------------------

const queue = [];
let current = null;

/** Queues files for upload as file clips; resolves, per file, to true or the error that stopped it. */
export function uploadFiles(files) {
  const jobs = [...files].map((file) => new Promise((resolve) => queue.push({ file, resolve })));
  if (!current) next();
  return Promise.all(jobs);
}

function next() {
  const job = queue.shift();
  current = job || null;
  if (!job) { $("#upload").hidden = true; return; }
  const { file, resolve } = job;
  const max = views.limits() && views.limits().max_file_bytes;
  // Checked here so nobody waits for a 2 GB upload only to read "too large".
  if (max && file.size > max) {
    const error = new ApiError(413, "file_too_large", `“${file.name}” is ${humanBytes(file.size)}; this server takes files up to ${humanBytes(max)}.`);
    notify.fail(error);
    resolve(error);
    return next();
  }
  $("#upload").hidden = false;
  $("#upload-name").textContent = `Uploading ${file.name || "file"}${queue.length ? ` (${queue.length} more waiting)` : ""}`;
  const bar = $("#upload-progress");
  bar.value = 0;
  bar.max = 1;
  $("#upload-detail").textContent = `0 % · 0 of ${humanBytes(file.size)}`;
  job.transfer = upload("PUT", "/buffer", file, {
    "x-data-type": "file",
    "x-filename": encodeFilename(file.name),
    "content-type": file.type || "application/octet-stream",
  }, (sent, total) => {
    bar.value = total ? sent / total : 0;
    $("#upload-detail").textContent = `${Math.floor(100 * bar.value)} % · ${humanBytes(sent)} of ${humanBytes(total)}`;
  });
  job.transfer.done.then((clip) => {
    views.added(clip);
    notify.say(`Sent ${file.name || "the file"}`);
    resolve(true);
  }, (e) => {
    if (e.code !== "aborted") notify.fail(new ApiError(e.status, e.code, `${file.name || "The file"}: ${e.message}`));
    resolve(e);
  }).finally(next);
}

/** Cancels the upload in progress and everything waiting. */
export function cancelUploads() {
  for (const job of queue.splice(0)) job.resolve(new ApiError(0, "aborted", "Upload cancelled."));
  if (current && current.transfer) current.transfer.abort();
  notify.say("Upload cancelled");
}

// --- the clipboard ------------------------------------------------------------------

/**
 * Copies text that may still be on its way (a Promise). Safari only lets a
 * page write the clipboard during the tap, so the Promise goes into a
 * ClipboardItem at once where that exists; plain http:// on a LAN address
 * has no navigator.clipboard at all, hence the execCommand fallback.
 */
export async function copyText(textPromise) {
  if (navigator.clipboard && window.ClipboardItem && navigator.clipboard.write) {
    try {
      const blob = textPromise.then((t) => new Blob([t], { type: "text/plain" }));
      await navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]);
      return;
    } catch { /* denied or unsupported here: try the others */ }
  }
  const text = await textPromise;
  if (navigator.clipboard && navigator.clipboard.writeText) {
    try { await navigator.clipboard.writeText(text); return; } catch { /* fall back */ }
  }
  if (!copyWithSelection(text)) throw new Error("This browser did not let the page copy.");
}

function copyWithSelection(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.append(area);
  const focused = document.activeElement;
  area.select();
  area.setSelectionRange(0, text.length);
  let ok = false;
  try { ok = document.execCommand("copy"); } catch { ok = false; }
  area.remove();
  if (focused && focused.focus) focused.focus({ preventScroll: true });
  return ok;
}

/** A tap on a clip: text goes to the clipboard, a file downloads. */
export async function useClip(clip) {
  if (clip.kind === "file") return clip.file ? download(clip.file) : notify.fail(new Error("That file is gone."));
  // The preview is the first 200 characters: when it is all of the text,
  // copy without a round trip.
  const whole = clip.preview != null && utf8Length(clip.preview) === clip.size;
  const text = whole ? Promise.resolve(clip.preview)
    : api("GET", `/buffer/clips/${encodeURIComponent(clip.id)}/content`, { raw: true }).then((r) => r.text());
  try {
    await copyText(text);
    notify.say("Copied to the clipboard");
  } catch (e) {
    notify.fail(e instanceof ApiError ? e : new Error("Could not copy: this browser did not allow it."));
  }
}

/**
 * A plain link streams the file to the browser's downloads, whatever its
 * size (nothing is held in the page); reads take the access token in the
 * query. A HEAD first turns a gone file or a signed-out device into a
 * message here instead of a saved error page.
 */
export async function download(file) {
  try {
    const path = `/files/${encodeURIComponent(file.id)}/content`;
    await api("HEAD", path, { raw: true });
    const token = await accessToken(120);
    const a = document.createElement("a");
    a.href = `/api/v1${path}?access_token=${encodeURIComponent(token)}`;
    a.download = file.name;
    a.className = "offscreen";
    document.body.append(a);
    a.click();
    a.remove();
    notify.say(`Downloading ${file.name}`);
  } catch (e) { notify.fail(e); }
}
