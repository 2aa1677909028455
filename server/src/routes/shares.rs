//! `/api/v1/shares` for owners, and the public `/s/{token}/raw` and QR codes.

use axum::extract::{Form, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use cloudbuffer_protocol::{CreateShare, ErrorBody, Share};
use serde::Deserialize;

use crate::auth::{AuthUser, ClientIp};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::files::download::Conditions;
use crate::public_url::BaseUrl;
use crate::state::AppState;
use crate::{qr, shares};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/shares", get(list_shares).post(create_share))
        .route("/api/v1/shares/{token}", delete(revoke_share))
        .route("/s/{token}/raw", get(raw).post(raw_with_form))
        .route("/s/{token}/preview", get(preview))
        .route("/s/{token}/qr.svg", get(qr_svg))
        .route("/s/{token}/qr.png", get(qr_png))
}

/// Share a file or a clip as a link (with optional expiry, password and download limit).
#[utoipa::path(post, path = "/api/v1/shares", tag = "shares", security(("bearer" = []), ("basic" = [])),
    request_body = CreateShare,
    responses((status = 201, body = Share), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody),
        (status = 422, description = "bad expires_in, max_downloads, password or target", body = ErrorBody)))]
pub async fn create_share(
    State(state): State<AppState>,
    auth: AuthUser,
    BaseUrl(base): BaseUrl,
    ApiJson(request): ApiJson<CreateShare>,
) -> ApiResult<(StatusCode, Json<Share>)> {
    Ok((StatusCode::CREATED, Json(shares::create(&state, &auth.user.id, request, &base).await?)))
}

/// The user's share links, newest first, in every state.
#[utoipa::path(get, path = "/api/v1/shares", tag = "shares", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Vec<Share>)))]
pub async fn list_shares(
    State(state): State<AppState>,
    auth: AuthUser,
    BaseUrl(base): BaseUrl,
) -> ApiResult<Json<Vec<Share>>> {
    Ok(Json(shares::list(&state, &auth.user.id, &base).await?))
}

/// Revoke a share link.
#[utoipa::path(delete, path = "/api/v1/shares/{token}", tag = "shares", security(("bearer" = []), ("basic" = [])),
    params(("token" = String, Path, description = "share token")),
    responses((status = 204, description = "revoked"), (status = 404, body = ErrorBody)))]
pub async fn revoke_share(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<StatusCode> {
    shares::revoke(&state, &auth.user.id, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The shared bytes (no account needed). Password in `X-Share-Password`.
#[utoipa::path(get, path = "/s/{token}/raw", tag = "shares",
    params(("token" = String, Path, description = "share token"),
        ("X-Share-Password" = Option<String>, Header, description = "the password of a protected link")),
    responses((status = 200, description = "the bytes"), (status = 206, description = "a range"),
        (status = 401, description = "password missing or wrong", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "expired, revoked or used up", body = ErrorBody),
        (status = 429, description = "too many password attempts", body = ErrorBody)))]
pub async fn raw(
    method: Method,
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(token): ApiPath<String>,
    SharePassword(password): SharePassword,
    conditions: Conditions,
) -> ApiResult<Response> {
    serve_raw(&state, &token, password.as_deref(), ip, &conditions, method == Method::HEAD).await
}

/// The `X-Share-Password` header, if sent (bytes that are not UTF-8
/// replaced: such a password is simply wrong).
#[derive(Debug)]
pub struct SharePassword(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SharePassword {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get("x-share-password");
        Ok(SharePassword(value.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())))
    }
}

/// The password form of the share page posts here.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    /// The password typed in.
    #[serde(default)]
    pub password: String,
}

/// The shared bytes, for the share page's password form (`password` field).
#[utoipa::path(post, path = "/s/{token}/raw", tag = "shares",
    params(("token" = String, Path, description = "share token")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`password=…`"),
    responses((status = 200, description = "the bytes"), (status = 401, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn raw_with_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(token): ApiPath<String>,
    conditions: Conditions,
    form: Result<Form<PasswordForm>, axum::extract::rejection::FormRejection>,
) -> ApiResult<Response> {
    let Form(form) = form.map_err(|e| match e {
        axum::extract::rejection::FormRejection::InvalidFormContentType(_) => ApiError::UnsupportedMediaType(
            "send the password as application/x-www-form-urlencoded, or in the X-Share-Password header"
                .into(),
        ),
        e => ApiError::bad_request("invalid_form", e.body_text()),
    })?;
    serve_raw(&state, &token, Some(&form.password), ip, &conditions, false).await
}

async fn serve_raw(
    state: &AppState,
    token: &str,
    password: Option<&str>,
    ip: std::net::IpAddr,
    conditions: &Conditions,
    head: bool,
) -> ApiResult<Response> {
    let resolved = shares::resolve(state, token).await?;
    shares::require_active(&resolved)?;
    shares::check_password(state, &resolved, password, ip).await?;
    shares::download(state, &resolved, conditions, head).await
}

/// An image link's preview for the share page (inline, not counted).
#[utoipa::path(get, path = "/s/{token}/preview", tag = "shares",
    params(("token" = String, Path, description = "share token")),
    responses((status = 200, description = "the image"),
        (status = 404, description = "unknown, or not an open image link", body = ErrorBody),
        (status = 410, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    conditions: Conditions,
) -> ApiResult<Response> {
    let resolved = shares::resolve(&state, &token).await?;
    shares::preview(&state, &resolved, &conditions).await
}

/// A QR code of the share's URL, as SVG.
#[utoipa::path(get, path = "/s/{token}/qr.svg", tag = "shares",
    params(("token" = String, Path, description = "share token")),
    responses((status = 200, description = "image/svg+xml"), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn qr_svg(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let url = share_url(&state, &base, &token).await?;
    let svg = qr::svg(&url).map_err(ApiError::Internal)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, max-age=300")], svg)
        .into_response())
}

/// A QR code of the share's URL, as PNG.
#[utoipa::path(get, path = "/s/{token}/qr.png", tag = "shares",
    params(("token" = String, Path, description = "share token")),
    responses((status = 200, description = "image/png"), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn qr_png(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let url = share_url(&state, &base, &token).await?;
    let png = qr::png(&url).map_err(ApiError::Internal)?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=300")], png)
        .into_response())
}

/// The absolute URL of a usable share (404 unknown, 410 dead).
async fn share_url(state: &AppState, base: &str, token: &str) -> ApiResult<String> {
    let resolved = shares::resolve(state, token).await?;
    shares::require_active(&resolved)?;
    Ok(format!("{base}/s/{}", resolved.row.token))
}
