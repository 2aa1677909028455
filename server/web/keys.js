// This browser's end-to-end encryption key (docs/encryption.md), and what
// the account says about E2E.
//
// The account key arrives only in a pairing link's fragment
// (/app/#pair=CODE&k=<43 base64url characters>), which no server sees. It
// is kept in IndexedDB as a non-extractable WebCrypto HKDF key: the page can
// derive item keys with it, but no script (not even this one) can read its
// bytes back, so a script injected later could use it while it runs but not
// carry it away. It is deleted when this device signs out (or is signed
// out). Where IndexedDB is unavailable (some private modes), the key lives
// in this tab's memory only, and the page says so.
//
// A device encrypts what it sends exactly when it holds the key; when the
// account has E2E on and this browser has no key, it sends nothing (the
// server would otherwise get plaintext) and shows encrypted items locked.
import { api } from "./api.js";
import { b64urlDecode } from "./e2e.js";

const DB = "cloudbuffer", STORE = "keys", ID = "account";
let current = null; // the account key (CryptoKey), or null
let accountE2e = false; // GET /e2e said enabled
let stored = true; // false: IndexedDB refused, the key is in memory only

/** The key for e2e.js ({account: CryptoKey}), or null. */
export const key = () => (current ? { account: current } : null);
export const has = () => current !== null;
export const persistent = () => stored;

/** Whether the account has E2E on (as last asked). */
export const accountEnabled = () => accountE2e || current !== null;
/** Sending here would put plaintext on an E2E account: refuse. */
export const mustNotSend = () => accountE2e && current === null;

export const LOCKED_SEND = "End-to-end encryption is on for this account, and this browser has no key, so it sends nothing. Pair it from a device that has the key (on your computer: Add a phone, or cloudbuffer pair).";

/** The raw key of a pairing link's `k` value; throws when it is not 32 bytes of base64url. */
export function parseKey(text) {
  const bytes = b64urlDecode(text || "");
  if (bytes.length !== 32) throw new Error("not a 32-byte key");
  return bytes;
}

function db() {
  return new Promise((resolve, reject) => {
    if (!("indexedDB" in window)) return reject(new Error("no IndexedDB"));
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const handle = await db();
  try {
    return await new Promise((resolve, reject) => {
      const tx = handle.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  } finally {
    handle.close();
  }
}

/** Reads the stored key (each time the app shows: another tab may have paired or signed out). */
export async function load() {
  if (!stored && current) return; // in memory only: nothing to read
  try {
    const found = await run("readonly", (s) => s.get(ID));
    current = found instanceof CryptoKey ? found : null;
  } catch {
    current = null;
  }
}

/** Keeps `raw` (32 bytes) as the account key; the array is zeroed. */
export async function save(raw) {
  const imported = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveBits"]);
  raw.fill(0);
  try {
    await run("readwrite", (s) => s.put(imported, ID));
    stored = true;
  } catch {
    stored = false;
  }
  current = imported;
}

/** Forgets the key here and in storage (sign-out). */
export async function forget() {
  current = null;
  stored = true;
  try { await run("readwrite", (s) => s.delete(ID)); } catch { /* nothing stored */ }
}

/** Asks the server whether the account has E2E on (an older server without /e2e: off). */
export async function checkAccount() {
  try {
    const state = await api("GET", "/e2e");
    accountE2e = !!(state && state.enabled);
  } catch (e) {
    if (e.status === 401 || e.code === "network") throw e;
    accountE2e = false;
  }
  return accountE2e;
}
