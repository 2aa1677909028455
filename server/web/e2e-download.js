// Saving a decrypted stream as a download, for the web app (send.js) and the
// share page (share-e2e.js): the service worker (sw.js, "cb-e2e-download")
// answers a navigation to /app/e2e-download/ID/NAME with an attachment whose
// body it pulls from this page over a MessagePort, one decrypted chunk at a
// time, so a large file never sits in memory. Without a service worker
// (plain http on a LAN address) small files go through a Blob instead.
// <html data-download> says which way the last one went ("worker" or "blob").

export const BLOB_MAX = 32 << 20;

/** A download that could not be made at all; its message is for the user. reason: "too-large" (nothing was read) or "not-started". */
export class SaveError extends Error {
  constructor(message, reason) {
    super(message);
    this.reason = reason;
  }
}

/** The active service worker of /app/ for a page it controls (app.js registers it), or null (none, or not within 3 s). */
export async function activeWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return null;
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 3000));
  try {
    const reg = await Promise.race([navigator.serviceWorker.ready, timeout]);
    return reg ? reg.active : null;
  } catch {
    return null;
  }
}

let registered = null;

/**
 * The service worker of /app/ for a page outside /app/ (the share page),
 * registered from here, or null where there is none. Call it early: a
 * download needs it later. The same promise every time.
 */
export function registeredWorker(version) {
  registered ??= (async () => {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return null;
    try {
      const reg = await navigator.serviceWorker.register(`/app/sw.js?v=${encodeURIComponent(version)}`, { scope: "/app/" });
      // A page outside /app/ is never controlled, and
      // navigator.serviceWorker.ready would wait for ever. Wait for the worker itself.
      const next = reg.installing || reg.waiting;
      if (next) {
        await new Promise((resolve) => {
          const check = () => { if (next.state === "activated" || next.state === "redundant") resolve(); };
          next.addEventListener("statechange", check);
          check();
        });
      }
      return reg.active;
    } catch {
      return null;
    }
  })();
  return registered;
}

/**
 * Saves a decrypted file as `name`. `source` is a ReadableStream of
 * decrypted Uint8Arrays, or an async function returning one, called only
 * once the file can be saved (so a page that still has to fetch the
 * ciphertext fetches nothing for a file too large to save).
 * - progress(bytes) is called as chunks go out;
 * - worker() gives the service worker (activeWorker, or registeredWorker);
 * - where says what to open over HTTPS in the too-large message;
 * - saveBlob(blob, name) saves the Blob of a small file without a worker
 *   (by default through an offscreen link).
 * Resolves once the whole file was handed over; rejects with a SaveError,
 * with the decryption error (the browser then marks the download failed: a
 * cut file never looks complete), or with code "cancelled".
 */
export async function save(source, { name, size, type, progress = () => {}, worker = activeWorker, where = "the app", saveBlob = clickBlob }) {
  const sw = await worker();
  const fitsBlob = size != null && size <= BLOB_MAX;
  if (!sw && !fitsBlob) {
    if (typeof source !== "function") source.cancel().catch(() => {});
    throw new SaveError(`This file is too large to decrypt in this browser without HTTPS (at most 32 MiB over plain HTTP). Open ${where} over HTTPS, or on localhost.`, "too-large");
  }
  const plain = typeof source === "function" ? await source() : source;
  if (sw && (await throughWorker(sw, plain, name, size, progress))) return;
  if (!fitsBlob) {
    plain.cancel().catch(() => {});
    throw new SaveError("The download could not start. Reload the page and try again.", "not-started");
  }
  const reader = plain.getReader();
  const chunks = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
    progress(got);
  }
  document.documentElement.dataset.download = "blob";
  saveBlob(new Blob(chunks, { type: type || "application/octet-stream" }), name);
}

/** A Blob saved through an offscreen link, freed a minute later. */
function clickBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.className = "offscreen";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Hands the decrypted stream to the service worker: it answers this page's
 * navigation to /app/e2e-download/ID/NAME with a download whose body it
 * pulls from here, one chunk at a time. Resolves true once the file is
 * complete, false when the worker never took it (nothing was read: the
 * caller can still use a Blob); rejects when decryption or the download fails.
 */
function throughWorker(sw, plain, name, size, progress) {
  return new Promise((resolve, reject) => {
    const id = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const channel = new MessageChannel();
    const port = channel.port1;
    let reader = null, got = 0, started = false, settled = false;
    // Each message to the worker keeps it alive while the download runs.
    const ping = setInterval(() => sw.postMessage({ type: "cb-e2e-ping" }), 10_000);
    const finish = (ok, error) => {
      if (settled) return;
      settled = true;
      clearInterval(ping);
      clearTimeout(noStart);
      port.close();
      if (error) reject(error);
      else resolve(ok);
    };
    const noStart = setTimeout(() => { if (!started) finish(false); }, 10_000);
    port.onmessage = async ({ data: message }) => {
      if (message.type === "ready") {
        // A navigation, which the worker of /app/ serves even for a page that
        // is not its client (a fetch() from there would bypass it). Its answer
        // is an attachment (or an empty 204), so the page stays.
        document.documentElement.dataset.download = "worker";
        location.assign(`/app/e2e-download/${id}/${encodeURIComponent(name)}`);
      } else if (message.type === "started") {
        started = true;
      } else if (message.type === "pull") {
        try {
          reader ??= plain.getReader();
          const { done, value } = await reader.read();
          if (done) {
            port.postMessage({ type: "end" });
            finish(true);
            return;
          }
          got += value.length;
          progress(got);
          const chunk = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
          port.postMessage({ type: "chunk", chunk }, [chunk.buffer]);
        } catch (e) {
          port.postMessage({ type: "error", message: "decryption failed" });
          finish(false, e);
        }
      } else if (message.type === "cancel") {
        reader?.cancel().catch(() => {});
        finish(false, Object.assign(new Error("The download was cancelled."), { code: "cancelled" }));
      }
    };
    sw.postMessage({ type: "cb-e2e-download", id, name, size }, [channel.port2]);
  });
}
