// Moving things: text and files to the buffer (with progress and Cancel),
// clips to this device's clipboard, files to its downloads.
//
// With this browser holding the account key (keys.js), everything sent is
// end-to-end encrypted first (docs/encryption.md): text as a `text` field
// with a `preview` field, files through e2e.js's Encryptor with their name
// and content type as fields, all with X-Encrypted: 1; and encrypted clips
// and files are decrypted on the way in. Without a key on an account that
// has E2E on, nothing is sent.
import { api, accessToken, upload, encodeFilename, ApiError } from "./api.js";
import { $, humanBytes, utf8Length } from "./util.js";
import * as views from "./views.js";
import * as keys from "./keys.js";
import * as sealed from "./sealed.js";
import * as saver from "./e2e-download.js";
import { Encryptor, ciphertextLength, decryptTransform, fieldSalt } from "./e2e.js";

/** Hooks set by app.js: say(text) for good news, fail(error) for bad. */
export const notify = { say() {}, fail() {} };

const MAX_TEXT = 1024 * 1024; // the server's text clip limit; bigger text travels as a file
// Encrypted, a text field of n bytes is ⌈4 (45 + n) / 3⌉ characters: this much fits 1 MiB.
const MAX_ENCRYPTED_TEXT = 786_387;
const PREVIEW_CHARS = 200; // as the server's previews of plaintext clips

const refuse = () => new ApiError(0, "e2e_locked", keys.LOCKED_SEND);

/** Sends text to every device as a text clip (or, over 1 MiB, as a .txt file clip). */
export async function sendText(text) {
  if (keys.mustNotSend()) throw refuse();
  if (utf8Length(text) > (keys.has() ? MAX_ENCRYPTED_TEXT : MAX_TEXT)) {
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
    const [result] = await uploadFiles([new File([text], `text-${stamp}.txt`, { type: "text/plain" })]);
    if (result !== true) throw Object.assign(result, { reported: true });
    return null;
  }
  if (keys.has()) {
    const item = await sealed.newItem();
    const body = await item.seal("text", text);
    const preview = await item.seal("preview", [...text].slice(0, PREVIEW_CHARS).join(""));
    const clip = await api("PUT", "/buffer", { body, headers: { "x-data-type": "text", "x-encrypted": "1", "x-encrypted-preview": preview, "content-type": "text/plain; charset=utf-8" } });
    views.added(clip);
    return clip;
  }
  const clip = await api("PUT", "/buffer", { body: text, headers: { "x-data-type": "text", "content-type": "text/plain; charset=utf-8" } });
  views.added(clip);
  return clip;
}

/** A content type from a file name's extension, for files the browser gives none (the server cannot sniff ciphertext). */
function guessType(name) {
  const ext = (name.split(".").pop() || "").toLowerCase();
  return { txt: "text/plain", md: "text/markdown", csv: "text/csv", html: "text/html", json: "application/json", pdf: "application/pdf",
    zip: "application/zip", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp",
    heic: "image/heic", svg: "image/svg+xml", mp4: "video/mp4", mov: "video/quicktime", mp3: "audio/mpeg" }[ext] || "application/octet-stream";
}

/**
 * Encrypts a File as it is read (file.stream(), one 64 KiB record at a
 * time) into a Blob of ciphertext, with its name and content type as
 * fields. XMLHttpRequest cannot send a stream (and fetch streams requests
 * only over HTTP/2), so the ciphertext is a Blob, gathered in 4 MiB parts
 * that the browser may keep on disk. progress(bytes read) along the way.
 */
async function encryptFile(file, progress, isCancelled) {
  const enc = await Encryptor.create(keys.key().account);
  const item = await sealed.newItem(enc.salt);
  const name = await item.seal("name", file.name || "file");
  const type = await item.seal("content-type", file.type || guessType(file.name || ""));
  const parts = [];
  let batch = [], batchBytes = 0, read = 0;
  const keep = (chunks) => {
    for (const c of chunks) { batch.push(c); batchBytes += c.length; }
    if (batchBytes >= 4 << 20) { parts.push(new Blob(batch)); batch = []; batchBytes = 0; }
  };
  const reader = file.stream().getReader();
  for (;;) {
    if (isCancelled()) { reader.cancel().catch(() => {}); throw new ApiError(0, "aborted", "Upload cancelled."); }
    const { done, value } = await reader.read();
    if (done) break;
    keep(await enc.push(value));
    read += value.length;
    progress(read);
  }
  keep(await enc.finish());
  parts.push(new Blob(batch));
  return { body: new Blob(parts, { type: "application/octet-stream" }), name, type };
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
  const encrypt = keys.has();
  if (keys.mustNotSend()) {
    notify.fail(refuse());
    resolve(refuse());
    return next();
  }
  // The server counts what it stores: the ciphertext, when encrypted.
  const stored = encrypt ? ciphertextLength(file.size) : file.size;
  // Checked here so nobody waits for a 2 GB upload only to read "too large".
  if (max && stored > max) {
    const error = new ApiError(413, "file_too_large", `“${file.name}” is ${humanBytes(stored)}${encrypt ? " encrypted" : ""}; this server takes files up to ${humanBytes(max)}.`);
    notify.fail(error);
    resolve(error);
    return next();
  }
  $("#upload").hidden = false;
  $("#upload-name").textContent = `Uploading ${file.name || "file"}${queue.length ? ` (${queue.length} more waiting)` : ""}`;
  const bar = $("#upload-progress");
  bar.value = 0;
  bar.max = 1;
  $("#upload-detail").textContent = `0 % · 0 of ${humanBytes(stored)}`;
  const onProgress = (sent, total) => {
    bar.value = total ? sent / total : 0;
    $("#upload-detail").textContent = `${Math.floor(100 * bar.value)} % · ${humanBytes(sent)} of ${humanBytes(total)}`;
  };
  let started;
  if (encrypt) {
    // Encrypting is the first half of the bar, sending the second (both in ciphertext bytes).
    let cancelled = false;
    const inner = { abort() {} };
    job.transfer = { abort() { cancelled = true; inner.abort(); } };
    started = (async () => {
      const sealedFile = await encryptFile(file, (read) => {
        bar.value = file.size ? read / file.size / 2 : 0;
        $("#upload-detail").textContent = `Encrypting… ${Math.floor(200 * bar.value)} % of ${humanBytes(stored)}`;
      }, () => cancelled);
      if (cancelled) throw new ApiError(0, "aborted", "Upload cancelled.");
      const transfer = upload("PUT", "/buffer", sealedFile.body, {
        "x-data-type": "file",
        "x-encrypted": "1",
        "x-filename": sealedFile.name,
        "x-encrypted-content-type": sealedFile.type,
        "content-type": "application/octet-stream",
      }, (sent, total) => {
        bar.value = 0.5 + (total ? sent / total : 0) / 2;
        $("#upload-detail").textContent = `Sending encrypted… ${Math.floor((100 * sent) / (total || 1))} % · ${humanBytes(sent)} of ${humanBytes(total)}`;
      });
      inner.abort = transfer.abort;
      return transfer.done;
    })();
  } else {
    job.transfer = upload("PUT", "/buffer", file, {
      "x-data-type": "file",
      "x-filename": encodeFilename(file.name),
      "content-type": file.type || "application/octet-stream",
    }, onProgress);
    started = job.transfer.done;
  }
  started.then((clip) => {
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
export async function useClip(clip, look = sealed.clipLook(clip)) {
  if (clip.kind === "file") return clip.file ? download(clip.file, look.file) : notify.fail(new Error("That file is gone."));
  if (clip.encrypted) {
    const text = look.whole ? Promise.resolve(look.title)
      : api("GET", `/buffer/clips/${encodeURIComponent(clip.id)}/content`, { raw: true }).then((r) => r.text()).then((field) => sealed.openText(clip, field));
    try {
      await copyText(text);
      notify.say("Copied to the clipboard");
    } catch (e) {
      const failed = await text.then(() => null, (error) => error);
      notify.fail(failed || new Error("Could not copy: this browser did not allow it."));
    }
    return;
  }
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
export async function download(file, look = sealed.fileLook(file)) {
  if (file.encrypted) return downloadDecrypted(file, look);
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

/**
 * An encrypted file: fetched, decrypted as it arrives (the name's salt must
 * be the content's: a name paired with another item's content is refused),
 * and saved through the service worker, one chunk at a time (e2e-download.js).
 */
async function downloadDecrypted(file, look) {
  const name = look.name || "download";
  try {
    const res = await api("GET", `/files/${encodeURIComponent(file.id)}/content`, { raw: true });
    const plain = res.body.pipeThrough(decryptTransform(keys.key(), fieldSalt(file.name)));
    let shown = 0;
    notify.say(`Decrypting ${name}…`);
    await saver.save(plain, {
      name, size: look.size, type: look.type,
      progress: (got) => {
        const pct = look.size ? Math.floor((100 * got) / look.size) : 0;
        if (pct >= shown + 10) { shown = pct; notify.say(`Decrypting ${name}… ${pct} %`); }
      },
    });
    notify.say(`Downloaded and decrypted ${name}`);
  } catch (e) {
    if (e instanceof ApiError || !e.code) return notify.fail(e);
    if (e.code === "cancelled") return notify.say("Download cancelled");
    notify.fail(new Error(`${name} could not be decrypted (${e.message}): it was changed on the server. Nothing was saved.`));
  }
}
