//! The web app for phones and browsers: `/app/` and its files (see
//! [`crate::web`]), `/` sending browsers there, and the share target's
//! fallback when no service worker took the post.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::web::{Asset, INDEX};

/// What every answer under `/app` may do: its own scripts, styles, images
/// and connections, nothing inline, in no frame.
pub const APP_CSP: &str = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; \
base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/app", get(|| async { redirect(StatusCode::PERMANENT_REDIRECT, "/app/") }))
        .route("/app/", get(index))
        .route("/app/share-target", post(share_target_fallback))
        .route("/app/{name}", get(file))
}

/// Browsers (asking for HTML) go to the app; API clients get the usual 404.
async fn root(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        redirect(StatusCode::SEE_OTHER, "/app/")
    } else {
        ApiError::NotFound("route").into_response()
    }
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.web.get(INDEX).await {
        Some(asset) => respond(asset, "no-cache", &headers),
        None => ApiError::NotFound("route").into_response(),
    }
}

/// Which build of the assets a page asked for.
#[derive(Debug, Deserialize)]
struct Version {
    v: Option<String>,
}

async fn file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(version): Query<Version>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = state.web.get(&name).await else {
        return ApiError::NotFound("file").into_response();
    };
    // Only a request naming this build's version may be cached for good:
    // the service worker and the manifest must always be checked again.
    let current = version.v.as_deref() == Some(state.web.version());
    let cache = if current && state.web.is_immutable() && name != "sw.js" {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    respond(asset, cache, &headers)
}

/// The share target's post reached the server, so no service worker is
/// there to take it (the app was never opened in this browser, or this
/// is not a secure context): the page explains. The body is not read.
async fn share_target_fallback() -> Response {
    let mut response = redirect(StatusCode::SEE_OTHER, "/app/?share-target=unavailable");
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn respond(asset: Asset, cache: &'static str, request: &HeaderMap) -> Response {
    let accepts_gzip = request
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accepted| accepted.split(',').any(|coding| coding.trim().starts_with("gzip")));
    let (body, encoding) = match asset.gzipped {
        Some(gzipped) if accepts_gzip => (gzipped, Some(HeaderValue::from_static("gzip"))),
        _ => (asset.body, None),
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(APP_CSP)),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
        ],
        body,
    )
        .into_response();
    if let Some(encoding) = encoding {
        response.headers_mut().insert(header::CONTENT_ENCODING, encoding);
    }
    response
}

fn redirect(status: StatusCode, to: &'static str) -> Response {
    (
        status,
        [
            (header::LOCATION, HeaderValue::from_static(to)),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(APP_CSP)),
        ],
    )
        .into_response()
}
