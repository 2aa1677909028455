//! Usage figures for `/api/v1/stats`, live `stats` events and admins.

use cloudbuffer_protocol::{AdminStats, Stats, UserUsage};

use crate::db::{now_ms, to_time};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// One user's usage.
pub async fn user_stats(state: &AppState, user_id: &str) -> ApiResult<Stats> {
    let now = now_ms();
    state.settle_counts().await;
    let usage = state.db.usage(Some(user_id), now).await?.pop().ok_or(ApiError::NotFound("user"))?;
    let clips = state.db.count_clips(user_id, now).await?;
    let shares_active = state.db.count_active_shares(user_id, now).await?;
    Ok(Stats {
        files: usage.files as u64,
        max_files: state.config.max_files,
        bytes_used: usage.bytes_used as u64,
        quota_bytes: state.config.quota_bytes,
        clips: clips as u64,
        shares_active: shares_active as u64,
        downloads: usage.downloads as u64,
        bytes_downloaded: usage.bytes_downloaded as u64,
        next_expiry_at: usage.next_expiry_at.map(to_time),
    })
}

/// Server totals and every user's usage.
pub async fn admin_stats(state: &AppState) -> ApiResult<AdminStats> {
    state.settle_counts().await;
    let usage = state.db.usage(None, now_ms()).await?;
    let (blobs, blob_bytes) = state.db.blob_totals().await?;
    Ok(AdminStats {
        users: usage.len() as u64,
        files: usage.iter().map(|u| u.files as u64).sum(),
        bytes_used: usage.iter().map(|u| u.bytes_used as u64).sum(),
        blobs: blobs as u64,
        blob_bytes: blob_bytes as u64,
        per_user: usage
            .into_iter()
            .map(|u| UserUsage {
                username: u.username,
                files: u.files as u64,
                bytes_used: u.bytes_used as u64,
                downloads: u.downloads as u64,
            })
            .collect(),
    })
}
