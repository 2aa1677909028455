// Cloud Buffer's service worker (scope /app/). Three jobs:
// 1. keep the app shell so the app opens offline (and says so);
// 2. take the Android share target's POST and hand it to the page;
// 3. serve the downloads of end-to-end encrypted share pages (share-e2e.js):
//    the page decrypts, this worker streams the plaintext out as a file.
// API answers (/api/…) are never cached: stale data must never pass for current.

// The page registers /app/sw.js?v=<version>, so a deploy is a new worker with a new cache.
const VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
const SHELL = `cb-shell-${VERSION}`;
const SHARED = "cb-share-target"; // the same name as in share-target.js
const v = (path) => `${path}?v=${VERSION}`;
// Modules import each other without ?v=, so those URLs are cached as they are named.
const FILES = ["/app/", v("/app/app.css"), v("/app/app.js"), "/app/api.js", "/app/live.js", "/app/views.js",
  "/app/send.js", "/app/util.js", "/app/share-target.js", "/app/e2e.js", "/app/keys.js", "/app/sealed.js", "/app/e2e-download.js", v("/app/icon.svg"), "/app/icon-192.png", "/app/manifest.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    // "reload" skips the HTTP cache: the new worker must not precache old files.
    await cache.addAll(FILES.map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith("cb-shell-") && name !== SHELL) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/app/share-target") return event.respondWith(takeShare(request));
  if (request.method === "GET" && url.pathname.startsWith(DOWNLOAD)) return event.respondWith(e2eDownload(url));
  if (request.method !== "GET" || !url.pathname.startsWith("/app/")) return; // the API: network only
  if (request.mode === "navigate") return event.respondWith(page(request));
  event.respondWith(asset(request, url));
});

// The page: the network first (it names the current version), the cached shell when offline.
async function page(request) {
  try {
    return await fetch(request);
  } catch {
    return (await caches.match("/app/", { cacheName: SHELL })) || new Response("Offline", { status: 503, headers: { "content-type": "text/plain" } });
  }
}

// Versioned files never change: cache first. Unversioned ones (the modules
// app.js imports) may, so the network first and the cache when offline.
async function asset(request, url) {
  const cache = await caches.open(SHELL);
  // "dev" is the server reading these files from disk (CLOUDBUFFER_WEB_DIR): edits must show.
  if (url.searchParams.get("v") === VERSION && VERSION !== "dev") {
    const hit = await cache.match(request);
    if (hit) return hit;
  }
  try {
    const res = await fetch(request);
    if (res.ok && FILES.includes(url.pathname + url.search)) cache.put(request, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(request, { ignoreSearch: !url.searchParams.has("v") });
    if (hit) return hit;
    throw e;
  }
}

// Share → Cloud Buffer: keep every part in Cache Storage (a page, not this
// worker, holds the session) and send the browser to the page that uploads them.
async function takeShare(request) {
  let form;
  try { form = await request.formData(); } catch { return Response.redirect("/app/?share-target=invalid", 303); }
  const cache = await caches.open(SHARED);
  // A timestamp per share keeps two quick shares apart and in order.
  const base = `/app/__shared/${Date.now()}`;
  const text = ["title", "text", "url"].map((k) => form.get(k)).filter((s) => typeof s === "string" && s.trim()).join("\n");
  if (text) {
    await cache.put(`${base}/0`, new Response(text, { headers: { "content-type": "text/plain; charset=utf-8", "x-shared-kind": "text" } }));
  }
  let i = 1;
  for (const file of form.getAll("file")) {
    // Some apps send an empty file part when they share only text.
    if (typeof file === "string" || (file.size === 0 && !file.name)) continue;
    await cache.put(`${base}/${i++}`, new Response(file, {
      headers: { "content-type": file.type || "application/octet-stream", "x-shared-kind": "file", "x-shared-name": encodeURIComponent(file.name || "shared-file") },
    }));
  }
  return Response.redirect(text || i > 1 ? "/app/?share-target=1" : "/app/?share-target=empty", 303);
}

// Downloads of decrypted shares. The share page (/s/TOKEN, outside this
// worker's scope) posts {type: "cb-e2e-download", id, name, size} with a
// MessagePort, then navigates to /app/e2e-download/ID/NAME; the answer is
// an attachment (so the page stays), a download whose body this worker pulls from the page over the
// port, one decrypted chunk at a time ("pull" → "chunk" | "end" | "error"),
// so neither side holds the whole file. No key ever reaches this worker.
const DOWNLOAD = "/app/e2e-download/";
const downloads = new Map(); // id → {port, name, size, taken}

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type !== "cb-e2e-download" || !event.ports[0] || typeof message.id !== "string") return; // pings only keep it alive
  const port = event.ports[0];
  let taken;
  const claimed = new Promise((resolve) => { taken = resolve; });
  downloads.set(message.id, { port, name: String(message.name || "download"), size: message.size, taken });
  // Stay alive until the page asks for it (or give up after a minute).
  event.waitUntil(Promise.race([claimed, new Promise((resolve) => setTimeout(resolve, 60_000))])
    .then(() => downloads.delete(message.id)));
  port.postMessage({ type: "ready" });
});

function e2eDownload(url) {
  const id = url.pathname.slice(DOWNLOAD.length).split("/")[0];
  const entry = downloads.get(id);
  downloads.delete(id);
  // Unknown (reloaded, or asked twice): no content, so the page stays as it is.
  if (!entry) return new Response(null, { status: 204 });
  entry.taken();
  const { port, name, size } = entry;
  let answer = null;
  port.onmessage = (event) => { const reply = answer; answer = null; reply?.(event.data); };
  const next = () => new Promise((resolve) => { answer = resolve; port.postMessage({ type: "pull" }); });
  const body = new ReadableStream({
    async pull(controller) {
      const message = await next();
      if (message.type === "chunk") controller.enqueue(new Uint8Array(message.chunk));
      else if (message.type === "end") { controller.close(); port.close(); }
      // The browser marks the download failed: a cut file never looks complete.
      else { controller.error(new Error(message.message || "the download failed")); port.close(); }
    },
    cancel() { port.postMessage({ type: "cancel" }); port.close(); },
  }, { highWaterMark: 4 });
  const headers = {
    "content-type": "application/octet-stream",
    "content-disposition": contentDisposition(name),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox",
  };
  if (Number.isSafeInteger(size) && size >= 0) headers["content-length"] = String(size);
  port.postMessage({ type: "started" });
  return new Response(body, { headers });
}

// `attachment` with an ASCII stand-in and the real (UTF-8) name; no
// control characters or path separators from a decrypted name reach a header.
function contentDisposition(name) {
  const clean = name.replace(/[\u0000-\u001f\u007f/\\]/g, "_").trim() || "download";
  const ascii = clean.replace(/[^\x20-\x7e]/g, "_").replace(/["%;]/g, "_");
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
