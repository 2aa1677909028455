//! `/api/v1/me`, `/api/v1/stats` and `/api/v1/admin/stats`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloudbuffer_protocol::{AdminStats, ErrorBody, Limits, Me, Stats};

use crate::auth::extract::AdminUser;
use crate::auth::AuthUser;
use crate::config::Config;
use crate::db::to_time;
use crate::error::ApiResult;
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
    Ok(Json(crate::stats::user_stats(&state, &auth.user.id).await?))
}

/// Server totals and every user's usage (admins only).
#[utoipa::path(get, path = "/api/v1/admin/stats", tag = "admin", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = AdminStats), (status = 403, body = ErrorBody)))]
pub async fn admin_stats(State(state): State<AppState>, _admin: AdminUser) -> ApiResult<Json<AdminStats>> {
    Ok(Json(crate::stats::admin_stats(&state).await?))
}
