//! The cross-instance relay: instances sharing a PostgreSQL database pass
//! live events and sign-outs to each other over LISTEN/NOTIFY, so a device
//! connected to instance B hears about a clip put on instance A.
//!
//! Each instance holds one listening connection. Every event is published
//! locally first and also NOTIFYed with the instance's id, so listeners skip
//! their own. NOTIFY payloads are limited to 8000 bytes: events are batched
//! under [`NOTIFY_MAX_BYTES`], and one that alone is larger becomes a
//! "resync" for its user (their sockets close with 4000 and catch up from
//! the history). Notifications sent while the listening connection was down
//! are lost, so after a reconnect every local socket is told to resync.

use std::time::{Duration, Instant};

use cloudbuffer_protocol::Event;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::db::{now_ms, Listener, NOTIFY_MAX_BYTES};
use crate::metrics;
use crate::state::AppState;

/// The NOTIFY channel.
pub const CHANNEL: &str = "cloudbuffer_events";

/// One notification on [`CHANNEL`].
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    /// The sending instance.
    o: String,
    /// When it was sent, Unix ms (for the lag figure).
    t: i64,
    /// The user concerned.
    u: String,
    #[serde(flatten)]
    body: Body,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Body {
    /// Events to publish to the user's devices.
    Events { e: Vec<Event> },
    /// This device was signed out.
    SignedOut { d: String },
    /// Too big to relay: the user's devices should catch up by themselves.
    Resync,
}

/// Payloads for `events` of `user_id`, each at most [`NOTIFY_MAX_BYTES`].
fn payloads(instance: &str, user_id: &str, events: &[Event]) -> Vec<String> {
    let wire =
        |body| serde_json::to_string(&Wire { o: instance.into(), t: now_ms(), u: user_id.into(), body });
    let mut out = Vec::new();
    let mut batch: Vec<Event> = Vec::new();
    for event in events {
        batch.push(event.clone());
        let Ok(json) = wire(Body::Events { e: batch.clone() }) else { continue };
        if json.len() <= NOTIFY_MAX_BYTES {
            continue;
        }
        let last = batch.pop().expect("just pushed");
        if !batch.is_empty() {
            out.extend(wire(Body::Events { e: std::mem::take(&mut batch) }).ok());
        }
        match wire(Body::Events { e: vec![last.clone()] }) {
            Ok(json) if json.len() <= NOTIFY_MAX_BYTES => batch.push(last),
            _ => out.extend(wire(Body::Resync).ok()),
        }
    }
    if !batch.is_empty() {
        out.extend(wire(Body::Events { e: batch }).ok());
    }
    out
}

/// Relays `events` of `user_id` to the other instances (no-op on SQLite).
/// A failure is logged: the local devices already have them.
pub async fn send_events(state: &AppState, user_id: &str, events: &[Event]) {
    if events.is_empty() || !state.db.backend().is_shared() {
        return;
    }
    for payload in payloads(&state.instance_id, user_id, events) {
        send(state, &payload).await;
    }
}

/// Relays a sign-out (no-op on SQLite).
pub async fn send_sign_out(state: &AppState, user_id: &str, device_id: &str) {
    if !state.db.backend().is_shared() {
        return;
    }
    let body = Body::SignedOut { d: device_id.into() };
    let wire = Wire { o: state.instance_id.clone(), t: now_ms(), u: user_id.into(), body };
    if let Ok(payload) = serde_json::to_string(&wire) {
        send(state, &payload).await;
    }
}

async fn send(state: &AppState, payload: &str) {
    if let Err(e) = state.db.notify(CHANNEL, payload).await {
        metrics::RELAY_SEND_FAILURES.inc();
        tracing::warn!(error = %e, "cannot relay an event to the other instances");
    }
}

/// Starts the relay: connects its listener first, so an instance serves
/// only once it hears the others (if the database refuses, it goes on and
/// keeps trying), then listens until `cancel`. `None` on SQLite.
pub async fn start(state: AppState, cancel: CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
    if !state.db.backend().is_shared() {
        return None;
    }
    let first = match state.db.listen(CHANNEL).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!(error = %e, "event relay cannot connect yet; retrying in the background");
            None
        }
    };
    Some(tokio::spawn(run(state, cancel, first)))
}

/// Listens until `cancel`; reconnects (with back-off) when the connection
/// drops and then tells every local socket to catch up.
async fn run(state: AppState, cancel: CancellationToken, mut ready: Option<Listener>) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = ready.is_some();
    loop {
        let mut listener = match ready.take() {
            Some(listener) => listener,
            None => {
                let listener = tokio::select! {
                    _ = cancel.cancelled() => return,
                    listener = state.db.listen(CHANNEL) => listener,
                };
                match listener {
                    Ok(Some(listener)) => {
                        if connected_before {
                            metrics::RELAY_RECONNECTS.inc();
                            tracing::info!("event relay reconnected; local devices catch up");
                            state.events.resync_all();
                        }
                        connected_before = true;
                        backoff = Duration::from_millis(100);
                        listener
                    }
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in = ?backoff, "event relay cannot connect");
                        tokio::select! {
                            _ = cancel.cancelled() => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
        };
        let started = Instant::now();
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => return,
                next = listener.next() => next,
            };
            match next {
                Ok(Some(payload)) => receive(&state, &payload).await,
                Ok(None) | Err(_) => {
                    tracing::warn!(after = ?started.elapsed(), "event relay lost its connection");
                    break;
                }
            }
        }
    }
}

/// Delivers one notification to this instance's sockets.
async fn receive(state: &AppState, payload: &str) {
    let wire: Wire = match serde_json::from_str(payload) {
        Ok(wire) => wire,
        Err(e) => {
            tracing::warn!(error = %e, "event relay: unreadable notification");
            return;
        }
    };
    if wire.o == state.instance_id {
        return;
    }
    metrics::RELAY_RECEIVED.inc();
    metrics::RELAY_LAG_MS.set(u64::try_from(now_ms() - wire.t).unwrap_or(0));
    match wire.body {
        Body::Events { e } => super::notify_local(state, &wire.u, e).await,
        Body::SignedOut { d } => state.events.sign_out(&wire.u, &d),
        Body::Resync => state.events.resync(&wire.u),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(text: &str) -> Event {
        Event::ClipDeleted { id: text.to_string() }
    }

    #[test]
    fn payloads_stay_under_the_notify_limit_and_keep_every_event() {
        let events: Vec<Event> = (0..2000).map(|i| clip(&format!("clip-{i:04}"))).collect();
        let out = payloads("instance", "user", &events);
        assert!(out.len() > 1, "split into several notifications");
        let mut seen = Vec::new();
        for payload in &out {
            assert!(payload.len() <= NOTIFY_MAX_BYTES, "{} bytes", payload.len());
            let wire: Wire = serde_json::from_str(payload).unwrap();
            let Body::Events { e } = wire.body else { panic!("events expected") };
            seen.extend(e);
        }
        assert_eq!(seen, events, "all events, in order");
    }

    #[test]
    fn an_event_too_big_to_relay_becomes_a_resync() {
        let events = [clip("a"), clip(&"x".repeat(NOTIFY_MAX_BYTES)), clip("b")];
        let kinds: Vec<String> = payloads("i", "u", &events)
            .iter()
            .map(|p| match serde_json::from_str::<Wire>(p).unwrap().body {
                Body::Events { e } => format!("events:{}", e.len()),
                Body::SignedOut { .. } => "signed_out".into(),
                Body::Resync => "resync".into(),
            })
            .collect();
        assert_eq!(kinds, ["events:1", "resync", "events:1"]);
    }
}
