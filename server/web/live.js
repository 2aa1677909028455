// The live events WebSocket: connect, renew the token in-band, reconnect with
// backoff, and tell the app when this device was signed out.
import { accessToken, apiEvents, refresh, session } from "./api.js";

/**
 * start({ onEvent, onOpen, onState, onRevoked }) keeps one connection open
 * until stop(). onOpen runs on every (re)connect so the app can catch up on
 * what it missed; onState gets "live" | "connecting" | "offline".
 */
let socket = null, handlers = null, retryTimer = 0, attempt = 0, stopped = true;

export function start(h) {
  handlers = h;
  stopped = false;
  attempt = 0;
  connect();
}

export function stop() {
  stopped = true;
  clearTimeout(retryTimer);
  if (socket) { socket.onclose = socket.onmessage = socket.onerror = null; socket.close(1000); socket = null; }
}

/** Reconnects at once (the network came back, the page became visible). */
export function nudge() {
  if (stopped || (socket && socket.readyState <= WebSocket.OPEN)) return;
  clearTimeout(retryTimer);
  attempt = 0;
  connect();
}

// A refreshed token moves the connection's expiry along without a reconnect.
apiEvents.addEventListener("tokens", (e) => {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "auth", access_token: e.detail }));
});

async function connect() {
  if (stopped) return;
  handlers.onState("connecting");
  let token;
  try {
    token = await accessToken(60);
  } catch (e) {
    if (e.status === 401) return; // signed out: api.js has told the app
    return retry();
  }
  if (stopped) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/api/v1/events?access_token=${encodeURIComponent(token)}`);
  socket = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    attempt = 0;
    handlers.onState("live");
    handlers.onOpen();
  };
  ws.onmessage = (m) => {
    let event;
    try { event = JSON.parse(m.data); } catch { return; }
    handlers.onEvent(event);
  };
  ws.onclose = async (c) => {
    if (socket !== ws) return;
    socket = null;
    if (stopped) return;
    if (c.code === 4001) return handlers.onRevoked(); // signed out or revoked: never reconnect
    if (c.code === 4002) { // token expired before an in-band renewal reached it
      try { await refresh(token); } catch { /* retry() will find out */ }
      return connect();
    }
    // 4029: too many live connections for this account; the contract asks for 30-60 s.
    if (c.code === 4029) return retry(30000 + Math.random() * 30000);
    // A refused upgrade (401 before the handshake) looks like 1006 here; the
    // app's catch-up request on the next try finds out if the device is gone.
    if (!opened && session()) handlers.onState("offline");
    retry();
  };
}

function retry(delay) {
  if (stopped) return;
  handlers.onState("offline");
  attempt++;
  // 1 s, 2 s, 4 s … 30 s, with jitter so a restarted server is not hit by every phone at once.
  const wait = delay ?? Math.min(30000, 1000 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(async () => {
    // A cheap authenticated request first: a revoked device gets its 401
    // here (the WebSocket handshake cannot tell us why it was refused).
    try { await handlers.probe(); } catch (e) { if (e.status === 401) return; }
    connect();
  }, wait);
}
