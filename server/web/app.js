// Cloud Buffer web app: which screen shows, sign-in, pairing, and wiring the
// modules together. No framework and no build step: the browser loads these
// ES modules as they are.
//
// Stable hooks for tests (WebDriver) and people reading the DOM:
//   screens     #boot-screen #login-screen #pair-screen #app-screen (one is not [hidden])
//   sign in     #login-username #login-password #login-submit #login-error
//               #signed-out-message ("This device was signed out…") #share-waiting
//   pairing     #pair-title #pair-message #pair-login (link back to the password form);
//               a link may carry the account key: /app/#pair=CODE&k=<base64url 32 bytes>
//   E2E         #e2e-note #e2e-note-text #e2e-note-dismiss (a damaged key in the link; an
//               account with E2E on and no key here); items get [data-encrypted] and
//               [data-locked] ("true"/"false"); a locked one's tap opens #locked-dialog
//               (#locked-title #locked-text #locked-how #locked-close); #share-key-note
//               (an encrypted item's link: #k=… in #share-url, no QR)
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
import * as keys from "./keys.js";
import { $, lockIcon } from "./util.js";

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
Object.assign(views.actions, { copyClip: send.useClip, download: send.download, say, fail, explainLocked });
Object.assign(send.notify, { say, fail });

// --- screens --------------------------------------------------------------------------

function show(screen) {
  for (const id of ["boot-screen", "login-screen", "pair-screen", "app-screen"]) $(`#${id}`).hidden = id !== screen;
}

async function showLogin(message = "") {
  live.stop();
  // No session, no key: it goes with the device (signed out here, elsewhere, or revoked).
  await keys.forget();
  $("#e2e-note").hidden = true;
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
  await keys.load();
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
  try { await keys.checkAccount(); } catch { /* offline or signed out: said elsewhere */ }
  e2eNote();
  await handleShares();
}

// --- end-to-end encryption ------------------------------------------------------------

let keyNote = ""; // a problem with the pairing link's key, said once

/** The E2E banner: a damaged key from the link, a key kept in memory only, or an E2E account without a key here. */
function e2eNote() {
  const text = keyNote
    || (keys.has() && !keys.persistent() ? "This browser could not store the encryption key: it is forgotten when this tab closes. Pair again to keep it." : "")
    || (keys.mustNotSend() ? "End-to-end encryption is on, and this browser has no key: encrypted items stay locked and it sends nothing. Pair it from a device that has the key." : "");
  keyNote = "";
  $("#e2e-note-text").textContent = text;
  $("#e2e-note").hidden = !text;
}
$("#e2e-note-dismiss").addEventListener("click", () => { $("#e2e-note").hidden = true; });

/** A tap on a locked item: why it is locked, and how to unlock it here. */
function explainLocked(look) {
  const dialog = $("#locked-dialog");
  $("#locked-icon").replaceChildren(lockIcon(22));
  if (keys.has() && look.failed) {
    $("#locked-title").textContent = "This item does not open";
    $("#locked-text").textContent = "It is end-to-end encrypted, but not with the key this browser has: it was made with another key, or changed on the server.";
    $("#locked-how").textContent = "If encryption was turned on again with a new key, pair this browser again from a device that has the new one.";
  } else {
    $("#locked-title").textContent = "Encrypted on another device";
    $("#locked-text").textContent = "This item is end-to-end encrypted, and this browser has no key to open it. The key never passes through the server, so signing in with a password does not bring it.";
    $("#locked-how").textContent = "To read encrypted items here, pair this browser from a device that has the key: on your computer choose Add a phone in the desktop app (or run cloudbuffer pair), then scan the code with this phone or open the link here.";
  }
  dialog.showModal();
  $("#locked-close").focus();
}
$("#locked-close").addEventListener("click", () => $("#locked-dialog").close());

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

async function pairWith(code, rawKey, badKey) {
  show("pair-screen");
  try {
    await auth.pair(code);
    // The key is kept only once the code worked; a link without one leaves this browser without.
    if (rawKey) await keys.save(rawKey);
    else await keys.forget();
    if (badKey) keyNote = "The pairing link’s encryption key was damaged, so this browser has no key: encrypted items stay locked. Pair again (from a device that has the key) to read them.";
    await showApp();
    say(rawKey ? "This device is now signed in, with the encryption key" : "This device is now signed in");
  } catch (e) {
    rawKey?.fill(0);
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

/**
 * A pairing code in the address (#pair=…), and the account key that may
 * come with it (&k=…), taken out of it at once: { code, key, badKey }.
 */
function pairingLink() {
  // In the fragment so no server log sees it; gone from the address bar (and history) now.
  const params = new URLSearchParams(location.hash.slice(1));
  const code = params.get("pair");
  if (!code && !params.has("k")) return { code: null };
  history.replaceState(null, "", location.pathname + location.search);
  let key = null, badKey = false;
  if (params.has("k")) {
    try { key = keys.parseKey(params.get("k")); } catch { badKey = true; }
  }
  return { code, key, badKey };
}
// A pairing link opened in a tab that already shows the app changes only the fragment.
window.addEventListener("hashchange", () => {
  const { code, key, badKey } = pairingLink();
  if (code) { live.stop(); pairWith(code, key, badKey); }
});

// Another tab paired (and stored a key) or signed out: follow it when this one is looked at again.
document.addEventListener("visibilitychange", async () => {
  if (document.hidden || $("#app-screen").hidden) return;
  const had = keys.has();
  await keys.load();
  if (had !== keys.has()) { await views.rerender(); e2eNote(); }
});

function boot() {
  if (!navigator.onLine) setOffline(true);
  const { code, key, badKey } = pairingLink();
  if (code) return pairWith(code, key, badKey);
  if (auth.session()) return showApp();
  // Shared items wait in the browser until someone signs in; a problem shows now.
  shareProblem();
  return showLogin("");
}
boot();
