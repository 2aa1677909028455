//! The background task that purges expired files and their blobs.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::now_ms;
use crate::state::AppState;
use crate::{files, metrics};

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
        total += purged.len();
        if purged.len() < BATCH as usize {
            break;
        }
    }
    // Blobs left unreferenced by a crash or by the admin command line.
    files::release_blobs(state, state.db.dead_blobs().await?).await;
    Ok(total)
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
