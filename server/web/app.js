// Cloud Buffer web app: which screen shows, sign-in, pairing, and wiring the
// modules together. No framework and no build step: the browser loads these
// ES modules as they are.
//
// Stable hooks for tests (WebDriver) and people reading the DOM:
//   screens     #boot-screen #login-screen #pair-screen #app-screen (one is not [hidden])
//   sign in     #login-username #login-password #login-submit #login-error
//               #signed-out-message ("This device was signed out…") #share-waiting
//   pairing     #pair-title #pair-message #pair-login (link back to the password form)
//   header      #user-name #live-status ("Live" | "Connecting…" | "Offline") #sign-out
//   send        #send-text #send-button #pick-file #take-photo
//               #file-input #photo-input (file inputs: WebDriver sends keys here)
//   upload      #upload (not [hidden] while uploading) #upload-name #upload-progress
//               (<progress>, value 0..1) #upload-detail #upload-cancel
//   lists       #clip-list li[data-id][data-kind]  > button.main (tap: copy / download),
//               button "Share", button "Delete";  #clips-empty
//               #file-list li[data-id] > .title, .expiry, buttons "Download", "Share",
//               "Delete" (class .delete; the first click arms it, the second deletes)
//   usage       #stats (<dl>: dt/dd pairs)
//   share       #share-dialog #share-url #share-copy #share-qr #share-error #share-close
//   messages    #status (polite: "Copied to the clipboard", "Sent …") #alert (errors)
//               #offline-banner; sections get .stale while offline
//   share target #share-target-message (#share-target-text, #share-target-dismiss): a share that
//               could not be taken ("Open Cloud Buffer once, then share again")
import * as auth from "./api.js";
import * as live from "./live.js";
import * as views from "./views.js";
import * as send from "./send.js";
import * as shared from "./share-target.js";
import { $ } from "./util.js";

const VERSION = new URL(import.meta.url).searchParams.get("v") || "dev";

// --- messages -------------------------------------------------------------------------

let statusTimer = 0, alertTimer = 0;
function say(text) {
  clearTimeout(statusTimer);
  $("#status").textContent = text;
  statusTimer = setTimeout(() => { $("#status").textContent = ""; }, 4000);
}
// Only sentences from api.js (or our own) are shown: never a stack or raw body.
function fail(error) {
  clearTimeout(alertTimer);
  $("#alert").textContent = error && error.message ? error.message : "Something went wrong.";
  alertTimer = setTimeout(() => { $("#alert").textContent = ""; }, 9000);
}
Object.assign(views.actions, { copyClip: send.useClip, download: send.download, say, fail });
Object.assign(send.notify, { say, fail });

// --- screens --------------------------------------------------------------------------

function show(screen) {
  for (const id of ["boot-screen", "login-screen", "pair-screen", "app-screen"]) $(`#${id}`).hidden = id !== screen;
}

async function showLogin(message = "") {
  live.stop();
  $("#status").textContent = "";
  views.clear();
  $("#signed-out-message").textContent = message;
  $("#signed-out-message").hidden = !message;
  $("#share-waiting").hidden = !(await shared.pending());
  show("login-screen");
  clearTimeout(liveFallback);
  $(message && $("#login-username").value ? "#login-password" : "#login-username").focus();
}

let liveFallback = 0;
async function showApp() {
  show("app-screen");
  $("#user-name").textContent = auth.session().username || "";
  auth.keepFresh();
  // The lists load once the socket is open (so no event falls between the two);
  // if it does not open soon, load them anyway.
  live.start({ onEvent: views.onEvent, onOpen: load, onState: setLiveState, onRevoked: revoked, probe: () => auth.api("GET", "/stats") });
  liveFallback = setTimeout(load, 1500);
  try {
    const me = await auth.api("GET", "/me");
    auth.setUsername(me.username);
    $("#user-name").textContent = me.username;
    views.setLimits(me.limits);
  } catch (e) { if (e.status !== 401 && e.code !== "network") fail(e); }
  await handleShares();
}

async function load() {
  clearTimeout(liveFallback);
  // Unreachable is what the offline banner says; 401 is the sign-in screen's job.
  try { await views.reload(); setOffline(false); } catch (e) { if (e.status !== 401 && e.code !== "network") fail(e); }
}

function setLiveState(state) {
  const pill = $("#live-status");
  pill.textContent = { live: "Live", connecting: "Connecting…", offline: "Offline" }[state];
  pill.className = `pill ${state}`;
}

function setOffline(offline) {
  $("#offline-banner").hidden = !offline;
  views.setStale(offline);
}

const revoked = () => auth.forget(auth.REVOKED_MESSAGE);

// --- sign in, sign out, pairing ----------------------------------------------------------

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("#login-username").value.trim(), password = $("#login-password").value;
  $("#login-error").textContent = "";
  if (!username || !password) { $("#login-error").textContent = "Enter your user name and password."; return; }
  $("#login-submit").disabled = true;
  try {
    await auth.login(username, password);
    $("#login-password").value = "";
    $("#signed-out-message").hidden = true;
    await showApp();
  } catch (e) {
    $("#login-error").textContent = e.message;
  } finally {
    $("#login-submit").disabled = false;
  }
});

$("#sign-out").addEventListener("click", async () => {
  live.stop();
  await auth.logout();
});

// api.js noticed the device is gone (or the user signed out, reason "").
auth.apiEvents.addEventListener("signedout", (e) => showLogin(e.detail));
auth.apiEvents.addEventListener("network", (e) => { if (e.detail) setOffline(false); else setOffline(true); });

// Another tab signed in or out: follow it.
window.addEventListener("storage", (e) => {
  if (e.key !== "cb.session") return;
  if (!e.newValue && !$("#app-screen").hidden) showLogin("");
  else if (e.newValue && !e.oldValue && $("#app-screen").hidden) showApp();
});

const PAIR_FAILURES = {
  pairing_used: ["This code was already used", "Each pairing code works once. On your computer choose “Add a phone” again and scan the new code."],
  pairing_expired: ["This code has expired", "Pairing codes work for 5 minutes. On your computer choose “Add a phone” again and scan the new code."],
  pairing_unknown: ["This code is not valid", "It may have been mistyped or cut short. On your computer choose “Add a phone” again and scan the new code."],
};

async function pairWith(code) {
  show("pair-screen");
  try {
    await auth.pair(code);
    await showApp();
    say("This device is now signed in");
  } catch (e) {
    // Never signed in on failure: api.pair stored nothing.
    const [title, text] = PAIR_FAILURES[e.code] || (e.status === 429
      ? ["Too many attempts", `${e.message} Then scan the code again, or sign in with your password.`]
      : ["Could not add this device", e.message]);
    $("#pair-title").textContent = title;
    $("#pair-message").textContent = text;
    $("#pair-login").hidden = false;
  }
}
$("#pair-login").addEventListener("click", (event) => { event.preventDefault(); showLogin(""); });

// --- sending -----------------------------------------------------------------------------

$("#send-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("#send-text").value;
  if (!text) { fail(new Error("Type something to send first.")); $("#send-text").focus(); return; }
  $("#send-button").disabled = true;
  try {
    const clip = await send.sendText(text);
    $("#send-text").value = "";
    if (clip) say("Sent to all your devices");
  } catch (e) { if (!e.reported) fail(e); } finally { $("#send-button").disabled = false; }
});
// Ctrl/Cmd+Enter sends; a plain Enter is a new line (text often has several).
$("#send-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("#send-form").requestSubmit(); }
});

for (const [button, input] of [["#pick-file", "#file-input"], ["#take-photo", "#photo-input"]]) {
  $(button).addEventListener("click", () => $(input).click());
  $(input).addEventListener("change", (e) => {
    const files = [...e.target.files];
    e.target.value = ""; // the same file may be picked again
    if (files.length) send.uploadFiles(files);
  });
}
$("#upload-cancel").addEventListener("click", send.cancelUploads);

// Desktop browsers: drop files anywhere on the page.
document.addEventListener("dragover", (e) => { if (!$("#app-screen").hidden && e.dataTransfer.types.includes("Files")) e.preventDefault(); });
document.addEventListener("drop", (e) => {
  if ($("#app-screen").hidden || !e.dataTransfer.files.length) return;
  e.preventDefault();
  send.uploadFiles(e.dataTransfer.files);
});

views.initShareDialog(send.copyText);

// --- share target ------------------------------------------------------------------------

const SHARE_PROBLEMS = {
  unavailable: "Sharing did not reach the app. Open Cloud Buffer once, then share again.",
  empty: "Nothing was shared: the other app sent no text and no file.",
  invalid: "What was shared could not be read. Try sharing it again.",
};

/** Says what went wrong with a share (kept on screen until dismissed); true when there is something to send. */
function shareProblem() {
  const problem = SHARE_PROBLEMS[shared.shareState()];
  if (problem) {
    $("#share-target-text").textContent = problem;
    $("#share-target-message").hidden = false;
    shared.forgetShareState();
  }
}
$("#share-target-dismiss").addEventListener("click", () => { $("#share-target-message").hidden = true; });

async function handleShares() {
  shareProblem();
  shared.forgetShareState();
  await shared.sendPending({ say, fail });
}

// --- start ---------------------------------------------------------------------------------

setInterval(views.tick, 1000);
window.addEventListener("online", () => { live.nudge(); if (auth.session()) load(); });
window.addEventListener("offline", () => setOffline(true));
document.addEventListener("visibilitychange", () => { if (!document.hidden) live.nudge(); });
$("#open-url").textContent = `${location.origin}/app/`;

// Without a secure context (plain http:// on a LAN address) there is no
// service worker: the app works, just not offline or as a share target.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(`/app/sw.js?v=${encodeURIComponent(VERSION)}`, { scope: "/app/" }).catch(() => {});
}

/** A pairing code in the address (#pair=…), taken out of it at once. */
function pairingCode() {
  // In the fragment so no server log sees it; gone from the address bar (and history) now.
  const code = new URLSearchParams(location.hash.slice(1)).get("pair");
  if (code) history.replaceState(null, "", location.pathname + location.search);
  return code;
}
// A pairing link opened in a tab that already shows the app changes only the fragment.
window.addEventListener("hashchange", () => {
  const code = pairingCode();
  if (code) { live.stop(); pairWith(code); }
});

function boot() {
  if (!navigator.onLine) setOffline(true);
  const code = pairingCode();
  if (code) return pairWith(code);
  if (auth.session()) return showApp();
  // Shared items wait in the browser until someone signs in; a problem shows now.
  shareProblem();
  return showLogin("");
}
boot();
