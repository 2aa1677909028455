// The shell: Tauri glue, sign-in, navigation, connection state, toasts.
// Every request goes through a Tauri command; the UI never talks HTTP.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;
const $ = (selector) => document.querySelector(selector);
// Unix ms of each step of the start, for CLOUDBUFFER_DESKTOP_TIMING (see ui_ready).
const startMarks = [["navigation", performance.timeOrigin]];
const mark = (name) => startMarks.push([name, performance.timeOrigin + performance.now()]);
mark("script");

const app = {
  session: null,
  view: "clipboard",
  connection: { online: true },
  sync: { state: "connecting" },
};

/** Calls a command; on failure shows the message and returns undefined. */
async function call(command, args, { quiet = false } = {}) {
  try {
    return await invoke(command, args);
  } catch (error) {
    const message = error && error.message ? error.message : String(error);
    if (error && error.code === "signed_out") showSignIn(message);
    else if (!quiet) toast(message, true);
    return undefined;
  }
}

function toast(message, bad = false) {
  const node = el("div", { class: bad ? "toast bad" : "toast", text: message, role: bad ? "alert" : "status" });
  $("#toasts").append(node);
  setTimeout(() => node.remove(), bad ? 7000 : 3500);
}

// ---- Sign in -------------------------------------------------------------

function showSignIn(message) {
  app.session = null;
  $("#app").hidden = true;
  $("#signin").hidden = false;
  const error = $("#signin-error");
  error.hidden = !message;
  error.textContent = message || "";
  (($("#username").value && $("#password")) || $("#username")).focus();
}

async function signIn(create) {
  const server = $("#server").value.trim(), username = $("#username").value.trim(), password = $("#password").value;
  const error = $("#signin-error");
  if (!server || !username || !password) {
    error.hidden = false;
    error.textContent = "Please fill in the server, your user name and your password.";
    return;
  }
  for (const b of document.querySelectorAll("#signin-form button")) b.disabled = true;
  try {
    const session = await invoke("sign_in", { server, username, password, create });
    $("#password").value = "";
    showApp(session);
  } catch (e) {
    error.hidden = false;
    error.textContent = e && e.message ? e.message : String(e);
  } finally {
    for (const b of document.querySelectorAll("#signin-form button")) b.disabled = false;
  }
}

function showApp(session) {
  app.session = session;
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#who-user").textContent = session.username;
  $("#who-server").textContent = session.server;
  $("#set-user").textContent = session.username;
  $("#set-server").textContent = session.server;
  applySettings(session.settings);
  // The state so far: its events may have been sent before this page loaded.
  applyConnection(session.status.connection);
  applySync(session.status.sync);
  show(app.view);
}

// Connection and sync views come as events and in session_info; each has a
// `seq` (higher is newer), so an older one never replaces a newer one.
function applyConnection(view) {
  if (!view || view.seq < (app.connection.seq || 0)) return;
  app.connection = { ...view, until: Date.now() + view.retry_in * 1000 };
  renderStatus();
}

function applySync(view) {
  if (!view || view.seq < (app.sync.seq || 0)) return;
  app.sync = view;
  renderStatus();
}

/** The `drag` event: the names of the files over the window, or none. */
function showDropOverlay(names) {
  const overlay = $("#drop-overlay");
  overlay.hidden = !(names.length && app.session);
  if (overlay.hidden) return;
  $("#drop-what").textContent = names.length === 1 ? `“${names[0]}”` : `${names.length} files`;
}

function applySettings(settings) {
  if (app.session) app.session.settings = settings;
  $("#auto-sync").checked = settings.auto_sync;
  $("#set-sync").checked = settings.auto_sync;
  $("#set-notify").checked = settings.notifications;
}

// ---- Navigation ----------------------------------------------------------

function show(view) {
  app.view = view;
  for (const button of document.querySelectorAll(".nav")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  views[view].load();
}

// ---- Connection ----------------------------------------------------------

function renderStatus() {
  const pill = $("#status"), banner = $("#offline");
  const { connection, sync } = app;
  if (!connection.online) {
    pill.className = "pill offline";
    pill.textContent = "Offline";
    banner.hidden = false;
    const left = Math.max(0, Math.ceil((connection.until - Date.now()) / 1000));
    const when = left > 0 ? `Retrying in ${left} s` : "Reconnecting…";
    banner.textContent = `Offline: ${connection.message || "the server cannot be reached."} ${when}; your changes are kept until then.`;
  } else {
    banner.hidden = true;
    pill.className = sync.state === "paused" ? "pill paused" : "pill online";
    pill.textContent = sync.state === "paused" ? "Online · sync paused" : "Online · syncing";
  }
  const line = $("#sync-line");
  if (sync.state === "paused") line.textContent = "Auto-sync is off: this computer's clipboard is not shared.";
  else if (sync.last_error && sync.state !== "online") line.textContent = `Sync: ${sync.last_error}`;
  else line.textContent = `Auto-sync is on · ${sync.sent || 0} sent · ${sync.received || 0} received${sync.queued ? ` · ${sync.queued} waiting` : ""}`;
}

// ---- Start ---------------------------------------------------------------

window.addEventListener("DOMContentLoaded", async () => {
  mark("dom");
  $("#signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn(false); });
  $("#create-account").addEventListener("click", () => signIn(true));
  for (const button of document.querySelectorAll(".nav")) button.addEventListener("click", () => show(button.dataset.view));
  document.addEventListener("keydown", (e) => {
    const index = ["1", "2", "3", "4"].indexOf(e.key);
    if (e.altKey && index >= 0 && app.session) { e.preventDefault(); show(["clipboard", "files", "stats", "settings"][index]); }
  });
  $("#sign-out").addEventListener("click", async () => {
    await call("sign_out");
    showSignIn("");
  });
  const setSync = async (on) => { const s = await call("set_auto_sync", { on }); if (s) applySettings(s); };
  $("#auto-sync").addEventListener("change", (e) => setSync(e.target.checked));
  $("#set-sync").addEventListener("change", (e) => setSync(e.target.checked));
  $("#set-notify").addEventListener("change", async (e) => {
    const s = await call("set_notifications", { on: e.target.checked });
    if (s) applySettings(s);
  });

  setInterval(() => { if (!app.connection.online) renderStatus(); }, 1000);
  // Each listen is a round trip to the app: made all at once, they cost one
  // before the first paint instead of seven.
  await Promise.all([
    listen("connection", (e) => applyConnection(e.payload)),
    listen("sync-status", (e) => applySync(e.payload)),
    listen("settings", (e) => applySettings(e.payload)),
    listen("signed-out", (e) => showSignIn(e.payload)),
    listen("server-event", (e) => { if (app.session) views.onEvent(e.payload); }),
    listen("transfer", (e) => views.files.transfer(e.payload)),
    listen("drag", (e) => showDropOverlay(e.payload)),
  ]);
  mark("listen");

  const session = await call("session_info");
  mark("session");
  if (session) showApp(session);
  else showSignIn("");
  renderStatus();
  mark("render");
  invoke("ui_rendered"); // shows the window (it starts hidden: see the command)
  // The second frame's callback runs once the first frame has been drawn.
  requestAnimationFrame(() => {
    mark("frame1");
    requestAnimationFrame(() => { mark("frame2"); invoke("ui_ready", { marks: startMarks }); });
  });
});
