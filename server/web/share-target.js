// The page's half of the Android share target. sw.js keeps what was shared
// in Cache Storage and redirects to /app/?share-target=1; here it is read
// back and sent with the signed-in account, then forgotten.
import { sendText, uploadFiles } from "./send.js";

export const CACHE = "cb-share-target"; // the same name as in sw.js

/** "1": something was shared; "unavailable": the server got the post (no service worker); "" otherwise. */
export function shareState() {
  return new URLSearchParams(location.search).get("share-target") || "";
}

/** Drops ?share-target=… from the address bar, so a reload does not repeat anything. */
export function forgetShareState() {
  if (shareState()) history.replaceState(null, "", location.pathname + location.hash);
}

/** Whether shared items wait in the browser (they survive until someone signs in). */
export async function pending() {
  if (!("caches" in window)) return false;
  try { return (await (await caches.open(CACHE)).keys()).length > 0; } catch { return false; }
}

/**
 * Sends everything waiting. Each item is dropped once the server answered,
 * success or refusal (a 413 will not get better by trying again), but kept
 * when the server could not be reached or this device is signed out.
 * notify: { say(text), fail(error) }.
 */
export async function sendPending(notify) {
  if (!("caches" in window)) return;
  const cache = await caches.open(CACHE);
  const requests = (await cache.keys()).sort((a, b) => a.url.localeCompare(b.url, "en", { numeric: true }));
  if (requests.length === 0) return;
  let sent = 0;
  const settle = async (request, error) => {
    // Kept, too, when this browser may not send to an end-to-end encrypted account (no key yet).
    if (error && (error.code === "network" || error.code === "e2e_locked" || error.status === 401)) throw error;
    await cache.delete(request);
  };
  try {
    for (const request of requests) {
      const res = await cache.match(request);
      if (!res) continue;
      const kind = res.headers.get("x-shared-kind");
      if (kind === "text") {
        const text = await res.text();
        try {
          await sendText(text);
          sent++;
          await settle(request);
        } catch (e) { if (!e.reported) notify.fail(e); await settle(request, e); }
      } else {
        const name = decodeURIComponent(res.headers.get("x-shared-name") || "shared-file");
        const blob = await res.blob();
        const file = new File([blob], name, { type: res.headers.get("content-type") || "application/octet-stream" });
        // uploadFiles reports its own errors.
        const [result] = await uploadFiles([file]);
        if (result === true) sent++;
        await settle(request, result === true ? null : result);
      }
    }
  } catch { return; /* kept for the next try */ }
  if (sent) notify.say(sent === 1 ? "Shared item sent to all your devices" : `${sent} shared items sent to all your devices`);
}
