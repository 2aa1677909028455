// Cloud Buffer's service worker (scope /app/). Two jobs:
// 1. keep the app shell so the app opens offline (and says so);
// 2. take the Android share target's POST and hand it to the page.
// API answers (/api/…) are never cached: stale data must never pass for current.

// The page registers /app/sw.js?v=<version>, so a deploy is a new worker with a new cache.
const VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
const SHELL = `cb-shell-${VERSION}`;
const SHARED = "cb-share-target"; // the same name as in share-target.js
const v = (path) => `${path}?v=${VERSION}`;
// Modules import each other without ?v=, so those URLs are cached as they are named.
const FILES = ["/app/", v("/app/app.css"), v("/app/app.js"), "/app/api.js", "/app/live.js", "/app/views.js",
  "/app/send.js", "/app/util.js", "/app/share-target.js", v("/app/icon.svg"), "/app/icon-192.png", "/app/manifest.webmanifest"];

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
