//! `/healthz`, `/metrics` and `/api/v1/openapi.json`.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::metrics::{self, Gauges};
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(prometheus))
        .route("/api/v1/openapi.json", get(openapi))
}

/// 200 when the database answers and the store accepts writes, else 503;
/// either way the body says which part is which.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let db = state.db.ping().await;
    let store = state.store.check().await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let parts = serde_json::json!({
        "database": {"backend": state.db.backend().name(), "status": word(db.is_ok())},
        "store": {"backend": state.store.name(), "status": word(store.is_ok())},
    });
    match (db, store) {
        (Ok(()), Ok(())) => {
            let mut body = parts;
            body["status"] = "ok".into();
            (StatusCode::OK, Json(body))
        }
        (db, store) => {
            tracing::error!(database = ?db.err(), store = ?store.err(), "health check failed");
            let mut body = parts;
            body["error"] =
                serde_json::json!({"code": "unhealthy", "message": "database or store unavailable"});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
pub async fn prometheus(State(state): State<AppState>) -> impl IntoResponse {
    let gauges = match state.db.totals().await {
        Ok((users, files, blobs, blob_bytes)) => Gauges {
            backend: state.db.backend().name(),
            users: users as u64,
            files: files as u64,
            blobs: blobs as u64,
            blob_bytes: blob_bytes as u64,
        },
        Err(e) => {
            tracing::error!(error = %e, "metrics: cannot read totals");
            Gauges { backend: state.db.backend().name(), ..Gauges::default() }
        }
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics::render(&gauges))
}

/// This API's OpenAPI 3 description, generated from the handlers.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI document")))]
pub async fn openapi() -> impl IntoResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let doc =
        DOC.get_or_init(|| super::ApiDoc::openapi().to_json().expect("the OpenAPI document serializes"));
    ([(header::CONTENT_TYPE, "application/json")], doc.as_str())
}
