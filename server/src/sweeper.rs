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
    // Sign-in budgets refill within a minute; an hour untouched is full.
    state.db.purge_rate_buckets(now_ms() - 3_600_000).await?;
    // Spent and expired pairing codes answer 410 for a day, then 404.
    state.db.purge_pairings(now_ms() - 86_400_000).await?;
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

/// How often an instance sharing its store looks for leftovers of crashed
/// instances (a walk of the whole store).
const ORPHAN_SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Runs [`sweep_once`] every `sweep_interval_seconds` until cancelled. With
/// several instances on one database only the holder of the "sweeper"
/// lease sweeps; it renews the lease each round, and when it stops (or dies)
/// the lease lapses after two rounds and another instance takes over.
pub async fn run(state: AppState, cancel: CancellationToken) {
    let interval = Duration::from_secs(state.config.sweep_interval_seconds);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_orphan_sweep = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let now = now_ms();
        let lease_until = now + 2 * interval.as_millis() as i64;
        match state.db.take_lease("sweeper", &state.instance_id, now, lease_until).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "expiry sweep skipped: cannot take the sweeper lease");
                continue;
            }
        }
        match sweep_once(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "purged expired files"),
            Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
        }
        let sweep_every = ORPHAN_SWEEP_EVERY.min(state.config.orphan_grace);
        if (state.db.backend().is_shared() || state.store.is_remote())
            && last_orphan_sweep.elapsed() >= sweep_every
        {
            last_orphan_sweep = tokio::time::Instant::now();
            sweep_orphans(&state).await;
        }
    }
}

/// Removes leftovers of crashed instances from a shared store (age-based,
/// so other instances' uploads in flight stay).
async fn sweep_orphans(state: &AppState) {
    let known = match state.db.all_blob_hashes().await {
        Ok(known) => known.into_iter().collect(),
        Err(e) => return tracing::warn!(error = %e, "orphan sweep skipped"),
    };
    match state.store.sweep_orphans(known, state.config.orphan_grace).await {
        Ok((0, 0)) => {}
        Ok((temps, orphans)) => tracing::info!(temps, orphans, "removed leftovers of crashed instances"),
        Err(e) => tracing::warn!(error = %e, "orphan sweep failed"),
    }
}
