//! Live events: what changed, sent to the user's devices through the
//! per-instance [`crate::hub`] and, when instances share a PostgreSQL
//! database, to the other instances through the [`relay`].

pub mod relay;

use cloudbuffer_protocol::Event;

use crate::state::AppState;

/// Publishes the events (then the user's fresh usage) to the user's
/// devices on this instance and, through the relay, on every other one.
pub async fn notify(state: &AppState, user_id: &str, events: Vec<Event>) {
    relay::send_events(state, user_id, &events).await;
    notify_local(state, user_id, events).await;
}

/// Closes the event connections of a signed-out device, on every instance.
pub async fn sign_out(state: &AppState, user_id: &str, device_id: &str) {
    state.events.sign_out(user_id, device_id);
    relay::send_sign_out(state, user_id, device_id).await;
}

/// Publishes the events, then the user's fresh usage, if anyone listens
/// here.
async fn notify_local(state: &AppState, user_id: &str, events: Vec<Event>) {
    if !state.events.has_subscribers(user_id) {
        return;
    }
    for event in &events {
        state.events.publish(user_id, event);
    }
    match crate::stats::user_stats(state, user_id).await {
        Ok(stats) => state.events.publish(user_id, &Event::Stats { stats }),
        Err(e) => tracing::warn!(error = %e, "cannot compute stats for an event"),
    }
}
