// HTTP to the server: the session (tokens in localStorage), refreshes, API
// errors turned into sentences people can act on, and uploads with progress.
//
// Events on `apiEvents`: "signedout" (detail: why, or "" when the user chose
// to), "network" (detail: true when the server answered, false when it
// could not be reached), "tokens" (detail: a new access token, for the
// WebSocket's in-band renewal).

export const apiEvents = new EventTarget();
const emit = (type, detail) => apiEvents.dispatchEvent(new CustomEvent(type, { detail }));

const SESSION = "cb.session";
const DEVICE_TOKENS = "cb.device_tokens";
let timer = 0; // the next proactive refresh
export const REVOKED_MESSAGE = "This device was signed out. Sign in again to use it.";

/** "Chrome on Android", "Safari on iPhone", "Firefox on Linux" — the name the desktop's device list shows. */
export function deviceName(ua = navigator.userAgent) {
  const browser = /EdgA?\//.test(ua) ? "Edge" : /OPR\//.test(ua) ? "Opera" : /SamsungBrowser/.test(ua) ? "Samsung Internet"
    : /Firefox\/|FxiOS/.test(ua) ? "Firefox" : /Chrome\/|CriOS|Chromium/.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  // iPadOS asks for desktop pages and says "Macintosh"; only touch gives it away.
  const touchMac = /Macintosh/.test(ua) && navigator.maxTouchPoints > 1;
  const os = /iPhone/.test(ua) ? "iPhone" : /iPad/.test(ua) || touchMac ? "iPad" : /Android/.test(ua) ? "Android"
    : /CrOS/.test(ua) ? "ChromeOS" : /Windows/.test(ua) ? "Windows" : /Mac OS X|Macintosh/.test(ua) ? "macOS"
    : /Linux/.test(ua) ? "Linux" : "";
  return os ? `${browser} on ${os}` : browser;
}

// --- the session ------------------------------------------------------------

// Always read from storage rather than memory: another tab may have refreshed.
export function session() {
  try { return JSON.parse(localStorage.getItem(SESSION)); } catch { return null; }
}
function saveTokens(tokens, username) {
  const old = session() || {};
  const next = {
    access_token: tokens.access_token, refresh_token: tokens.refresh_token, device_id: tokens.device_id,
    expires_at: Date.now() + tokens.expires_in * 1000, lifetime: tokens.expires_in * 1000,
    username: username || old.username || "",
  };
  localStorage.setItem(SESSION, JSON.stringify(next));
  if (tokens.device_token) rememberDeviceToken(next.username, tokens.device_token);
  return next;
}
export function setUsername(username) {
  const s = session();
  if (!s) return;
  s.username = username;
  localStorage.setItem(SESSION, JSON.stringify(s));
  // A paired device learns its user name only from /me: file its device token now.
  if (s.pending_device_token) { rememberDeviceToken(username, s.pending_device_token); delete s.pending_device_token; }
  localStorage.setItem(SESSION, JSON.stringify(s));
}
function deviceTokens() {
  try { return JSON.parse(localStorage.getItem(DEVICE_TOKENS)) || {}; } catch { return {}; }
}
// Kept across sign-outs (the contract asks so): it lets this browser sign in
// while someone elsewhere is guessing the password.
function rememberDeviceToken(username, token) {
  if (!username) return;
  localStorage.setItem(DEVICE_TOKENS, JSON.stringify({ ...deviceTokens(), [username]: token }));
}
/** Forgets the session here (the server already has) and tells the app why. */
export function forget(reason) {
  clearTimeout(timer);
  localStorage.removeItem(SESSION);
  emit("signedout", reason);
}
const dropSession = forget;

// --- errors ------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

/** The sentence shown for a failed request; the server's own message when nothing clearer applies. */
export function humanMessage(status, code, serverMessage, retryAfter) {
  const wait = retryAfter ? ` Try again in ${retryAfter} s.` : " Try again in a minute.";
  switch (code) {
    case "invalid_credentials": return "Wrong user name or password.";
    case "clip_too_large": return "That text is too long for a clip (over 1 MiB). Save it in a file and send the file instead.";
    case "file_too_large": case "body_too_large": case "payload_too_large":
      return `That file is too large for this server (${serverMessage}).`;
    case "quota_exceeded": return "Your storage is full. Delete some files, then try again.";
    case "storage_full": return "The server's disk is full. Try again later, or tell whoever runs the server.";
    case "too_many_uploads": return "Too many uploads at once. Wait for one to finish, then try again.";
    case "filename_required": return "That file has no name. Rename it and try again.";
  }
  if (status === 0) return "Can't reach the server. Check your connection and try again.";
  if (status === 413) return "That is too large for this server.";
  if (status === 429) return `Too many attempts.${wait}`;
  if (status === 507) return "There is no room left on the server for that.";
  if (status === 503) return "The server is unavailable right now. Try again in a moment.";
  if (status >= 500) return "The server ran into a problem. Try again; if it keeps happening, tell whoever runs it.";
  return serverMessage ? serverMessage.charAt(0).toUpperCase() + serverMessage.slice(1) + (/[.!?]$/.test(serverMessage) ? "" : ".")
    : `The server answered ${status}.`;
}

/** An ApiError from a non-2xx answer, whatever its body. */
async function errorFrom(status, text, retryAfter) {
  let code = "", message = "";
  try { ({ code, message } = JSON.parse(text).error); } catch { /* not our JSON (a proxy's page, say) */ }
  return new ApiError(status, code || `http_${status}`, humanMessage(status, code, message, retryAfter));
}
const networkError = () => new ApiError(0, "network", humanMessage(0));

// --- tokens ------------------------------------------------------------------

// These 401s mean the device itself is gone (signed out elsewhere, revoked,
// password changed): no refresh brings it back.
const DEAD = new Set(["session_revoked", "invalid_token", "invalid_refresh_token", "refresh_token_reused", "refresh_token_expired"]);

let refreshing = null;

/** Trades the refresh token for new tokens, once even if many requests ask at the same time. */
export function refresh(staleAccess) {
  refreshing ||= refreshOnce(staleAccess).finally(() => { refreshing = null; });
  return refreshing;
}
async function refreshOnce(staleAccess) {
  const run = async () => {
    const s = session();
    if (!s) throw new ApiError(401, "signed_out", REVOKED_MESSAGE);
    // Another tab already refreshed: spending the same refresh token again
    // would count as reuse and sign this device out.
    if (staleAccess && s.access_token !== staleAccess) return s;
    let res;
    try {
      res = await fetch("/api/v1/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refresh_token: s.refresh_token }) });
    } catch { emit("network", false); throw networkError(); }
    emit("network", true);
    if (!res.ok) {
      const error = await errorFrom(res.status, await res.text(), res.headers.get("retry-after"));
      if (res.status === 401) { dropSession(REVOKED_MESSAGE); error.message = REVOKED_MESSAGE; }
      throw error;
    }
    const next = saveTokens(await res.json());
    emit("tokens", next.access_token);
    return next;
  };
  // Web Locks (secure contexts only) keep two tabs from refreshing at once.
  return navigator.locks ? navigator.locks.request("cb-refresh", run) : run();
}

/** An access token good for at least `margin` more seconds. */
export async function accessToken(margin = 30) {
  const s = session();
  if (!s) throw new ApiError(401, "signed_out", REVOKED_MESSAGE);
  if (s.expires_at - Date.now() > margin * 1000) return s.access_token;
  return (await refresh(s.access_token)).access_token;
}

/** Refreshes at 80 % of the token's life, as the other clients do; call once after signing in. */
export function keepFresh() {
  clearTimeout(timer);
  const s = session();
  if (!s) return;
  const due = Math.max(5000, s.expires_at - Date.now() - (s.lifetime || 900000) * 0.2);
  timer = setTimeout(async () => {
    try { await refresh(s.access_token); } catch (e) { if (e.status === 401) return; }
    keepFresh();
  }, due);
}

// --- requests ------------------------------------------------------------------

/**
 * A request to /api/v1 with the session's token. Resolves to the parsed JSON
 * (or null for an empty answer, or the Response with `raw`); rejects with an
 * ApiError carrying a human message.
 */
export async function api(method, path, { json, body, headers = {}, raw = false, anonymous = false } = {}, retried = false) {
  const init = { method, headers: { ...headers } };
  if (json !== undefined) { init.body = JSON.stringify(json); init.headers["content-type"] = "application/json"; }
  else if (body !== undefined) init.body = body;
  let token = "";
  if (!anonymous) { token = await accessToken(); init.headers.authorization = `Bearer ${token}`; }
  let res;
  try { res = await fetch(`/api/v1${path}`, init); } catch { emit("network", false); throw networkError(); }
  emit("network", true);
  if (res.ok) {
    if (raw) return res;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }
  const error = await errorFrom(res.status, await res.text(), res.headers.get("retry-after"));
  if (res.status === 401 && !anonymous) {
    if (error.code === "token_expired" && !retried) {
      await refresh(token);
      return api(method, path, { json, body, headers, raw }, true);
    }
    if (DEAD.has(error.code)) { dropSession(REVOKED_MESSAGE); error.message = REVOKED_MESSAGE; }
  }
  throw error;
}

export async function login(username, password) {
  const known = deviceTokens()[username];
  const tokens = await api("POST", "/auth/login", { anonymous: true, json: { username, password, device_name: deviceName(), ...(known ? { device_token: known } : {}) } });
  return saveTokens(tokens, username);
}

/** Signs in with a one-time pairing code; on any failure nothing is stored. */
export async function pair(code) {
  const tokens = await api("POST", "/auth/pair", { anonymous: true, json: { code, device_name: deviceName() } });
  // This browser becomes the new device: the session it had must not linger on the server.
  const old = session();
  if (old) fetch("/api/v1/auth/logout", { method: "POST", headers: { authorization: `Bearer ${old.access_token}` } }).catch(() => {});
  const s = saveTokens({ ...tokens, device_token: undefined }, "");
  if (tokens.device_token) localStorage.setItem(SESSION, JSON.stringify({ ...s, pending_device_token: tokens.device_token }));
  return s;
}

/** Signs this device out on the server (best effort) and forgets the tokens. */
export async function logout() {
  const s = session();
  if (s) {
    try { await fetch("/api/v1/auth/logout", { method: "POST", headers: { authorization: `Bearer ${s.access_token}` } }); } catch { /* offline: the tokens still go */ }
  }
  dropSession("");
}

/**
 * PUT/POST a body with upload progress (fetch has none): XMLHttpRequest.
 * Returns { done: Promise<parsed JSON>, abort() }. A cancelled upload rejects
 * with code "aborted".
 */
export function upload(method, path, body, headers, onProgress) {
  const xhr = new XMLHttpRequest();
  let aborted = false;
  const send = (token) => new Promise((resolve, reject) => {
    xhr.open(method, `/api/v1${path}`);
    xhr.setRequestHeader("authorization", `Bearer ${token}`);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size);
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(networkError());
    xhr.onabort = () => reject(new ApiError(0, "aborted", "Upload cancelled."));
    xhr.send(body);
  });
  const done = (async () => {
    // A long upload must not start on a token about to expire.
    let token = await accessToken(120);
    if (aborted) throw new ApiError(0, "aborted", "Upload cancelled.");
    let res = await send(token).catch((e) => { if (e.code === "network") emit("network", false); throw e; });
    let error = res.status >= 400 && await errorFrom(res.status, res.responseText, res.getResponseHeader("retry-after"));
    if (error && error.code === "token_expired") {
      token = (await refresh(token)).access_token;
      res = await send(token);
      error = res.status >= 400 && await errorFrom(res.status, res.responseText, res.getResponseHeader("retry-after"));
    }
    emit("network", true);
    if (error) {
      if (res.status === 401 && DEAD.has(error.code)) { dropSession(REVOKED_MESSAGE); error.message = REVOKED_MESSAGE; }
      throw error;
    }
    return res.responseText ? JSON.parse(res.responseText) : null;
  })();
  return { done, abort() { aborted = true; xhr.abort(); } };
}

/** Percent-encoded UTF-8 for X-Filename (header values must be ASCII). */
export const encodeFilename = (name) => encodeURIComponent(name || "file");
