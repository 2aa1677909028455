//! `/api/v1/me`, `/api/v1/stats` and `/api/v1/admin/stats`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloudbuffer_protocol::{AdminStats, ErrorBody, Limits, Me, Stats, UserUsage};

use crate::auth::extract::AdminUser;
use crate::auth::AuthUser;
use crate::config::Config;
use crate::db::{now_ms, to_time};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/admin/stats", get(admin_stats))
}

/// The limits every user has (per-user overrides would go here).
pub fn limits(config: &Config) -> Limits {
    Limits {
        max_files: config.max_files,
        max_file_bytes: config.max_file_bytes,
        quota_bytes: config.quota_bytes,
        expiry_seconds: config.expiry_seconds,
        clip_history: config.clip_history,
    }
}

/// Who is signed in, and their limits.
#[utoipa::path(get, path = "/api/v1/me", tag = "user", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, auth: AuthUser) -> Json<Me> {
    Json(Me {
        id: auth.user.id,
        username: auth.user.username,
        is_admin: auth.user.is_admin,
        created_at: to_time(auth.user.created_at),
        limits: limits(&state.config),
    })
}

/// The user's usage.
#[utoipa::path(get, path = "/api/v1/stats", tag = "user", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Stats), (status = 401, body = ErrorBody)))]
pub async fn stats(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Json<Stats>> {
    let usage =
        state.db.usage(Some(&auth.user.id), now_ms()).await?.pop().ok_or(ApiError::NotFound("user"))?;
    Ok(Json(Stats {
        files: usage.files as u64,
        max_files: state.config.max_files,
        bytes_used: usage.bytes_used as u64,
        quota_bytes: state.config.quota_bytes,
        // The clipboard buffer and share links are not built yet: none exist.
        clips: 0,
        shares_active: 0,
        downloads: usage.downloads as u64,
        bytes_downloaded: usage.bytes_downloaded as u64,
        next_expiry_at: usage.next_expiry_at.map(to_time),
    }))
}

/// Server totals and every user's usage (admins only).
#[utoipa::path(get, path = "/api/v1/admin/stats", tag = "admin", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = AdminStats), (status = 403, body = ErrorBody)))]
pub async fn admin_stats(State(state): State<AppState>, _admin: AdminUser) -> ApiResult<Json<AdminStats>> {
    let usage = state.db.usage(None, now_ms()).await?;
    let (blobs, blob_bytes) = state.db.blob_totals().await?;
    Ok(Json(AdminStats {
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
    }))
}
