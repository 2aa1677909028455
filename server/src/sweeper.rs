//! The background task that purges expired files and their blobs.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use std::collections::HashMap;

use cloudbuffer_protocol::Event;

use crate::db::{now_ms, PurgedFile};
use crate::state::AppState;
use crate::{events, files, metrics};

/// Files purged per transaction, so a large backlog never holds the write
/// lock for long.
const BATCH: i64 = 500;

/// Purges everything expired by now; returns how many files went.
pub async fn sweep_once(state: &AppState) -> Result<usize, sqlx::Error> {
    let mut total = 0;
    loop {
        let (purged, dead_blobs) = state.db.purge_expired(now_ms(), BATCH).await?;
        for file in &purged {
            metrics::count_removal(file.reason);
        }
        files::release_blobs(state, dead_blobs).await;
        announce(state, &purged).await;
        total += purged.len();
        if purged.len() < BATCH as usize {
            break;
        }
    }
    // Text clips expire on their own; file clips went with their files.
    let clips = state.db.purge_expired_clips(now_ms()).await?;
    let mut by_user: HashMap<String, Vec<Event>> = HashMap::new();
    for (user_id, id) in clips {
        by_user.entry(user_id).or_default().push(Event::ClipDeleted { id });
    }
    for (user_id, events) in by_user {
        events::notify(state, &user_id, events).await;
    }
    state.db.purge_old_shares(now_ms()).await?;
    // Blobs left unreferenced by a crash or by the admin command line.
    files::release_blobs(state, state.db.dead_blobs().await?).await;
    Ok(total)
}

/// Tells each user's devices about their purged files, one batch per user.
async fn announce(state: &AppState, purged: &[PurgedFile]) {
    let mut by_user: HashMap<&str, Vec<PurgedFile>> = HashMap::new();
    for file in purged {
        by_user.entry(&file.user_id).or_default().push(file.clone());
    }
    for (user_id, files) in by_user {
        events::notify(state, user_id, files::removal_events(&files)).await;
    }
}

/// Runs [`sweep_once`] every `sweep_interval_seconds` until cancelled.
pub async fn run(state: AppState, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(Duration::from_secs(state.config.sweep_interval_seconds));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match sweep_once(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "purged expired files"),
            Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
        }
    }
}
