// Saving a decrypted stream as a download, the way the share page does
// (share-e2e.js): the service worker (sw.js, "cb-e2e-download") answers a
// navigation to /app/e2e-download/ID/NAME with an attachment whose body it
// pulls from this page over a MessagePort, one decrypted chunk at a time,
// so a large file never sits in memory. Without a service worker (plain
// http on a LAN address) small files go through a Blob instead.
// The same protocol as share-e2e.js's page half (which keeps its own copy).

export const BLOB_MAX = 32 << 20;

/** The active service worker of /app/, or null (none, or not within 3 s). */
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

/**
 * Saves `plain` (a ReadableStream of decrypted Uint8Arrays) as `name`.
 * progress(bytes) is called as chunks go out. Resolves once the whole file
 * was handed over; rejects with the decryption error (the browser then
 * marks the download failed: a cut file never looks complete).
 */
export async function save(plain, { name, size, type, progress = () => {} }) {
  const sw = await activeWorker();
  if (sw && (await throughWorker(sw, plain, name, size, progress))) return;
  if (size == null || size > BLOB_MAX) {
    plain.cancel().catch(() => {});
    throw new Error(`This file is too large to decrypt in this browser without HTTPS (at most 32 MiB over plain HTTP). Open the app over HTTPS, or on localhost.`);
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
  const url = URL.createObjectURL(new Blob(chunks, { type: type || "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.className = "offscreen";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** True once the worker took and finished the file; false when it never took it (nothing was read). */
function throughWorker(sw, plain, name, size, progress) {
  return new Promise((resolve, reject) => {
    const id = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const channel = new MessageChannel();
    const port = channel.port1;
    let reader = null, got = 0, started = false, settled = false;
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
        // A navigation (the worker serves it; its answer is an attachment, so the page stays).
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
