//! `/api/v1/auth/*` and `/api/v1/devices`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cloudbuffer_protocol::{
    Credentials, Device, ErrorBody, Event, PairRequest, Pairing, RefreshRequest, Tokens,
};

use crate::auth::{pairing, service, AuthUser, ClientIp};
use crate::db::to_time;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::public_url::BaseUrl;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/pair", post(pair))
        .route("/api/v1/pairings", post(create_pairing))
        .route("/api/v1/devices", get(list_devices))
        .route("/api/v1/devices/{id}", delete(revoke_device))
}

/// Create an account; the first account on a server becomes its admin.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = Credentials,
    responses((status = 201, body = Tokens), (status = 403, description = "registration closed", body = ErrorBody),
        (status = 409, description = "username taken", body = ErrorBody),
        (status = 422, description = "invalid username or weak password", body = ErrorBody),
        (status = 429, description = "too many attempts", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(creds): ApiJson<Credentials>,
) -> ApiResult<(StatusCode, Json<Tokens>)> {
    Ok((StatusCode::CREATED, Json(service::register(&state, creds, ip).await?)))
}

/// Sign a new device in with a user name and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = Tokens), (status = 401, description = "invalid credentials", body = ErrorBody),
        (status = 429, description = "too many attempts", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(creds): ApiJson<Credentials>,
) -> ApiResult<Json<Tokens>> {
    Ok(Json(service::login(&state, creds, ip).await?))
}

/// Trade a refresh token (usable once) for new tokens.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Tokens),
        (status = 401, description = "unknown, expired or reused refresh token", body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> ApiResult<Json<Tokens>> {
    Ok(Json(service::refresh(&state, &request.refresh_token).await?))
}

/// Sign this device out (its refresh token stops working).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "signed out"), (status = 401, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, auth: AuthUser) -> ApiResult<StatusCode> {
    if let Some(device) = &auth.device_id {
        state.db.delete_device(&auth.user.id, device).await?;
        signed_out(&state, &auth.user.id, device).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Closes a signed-out device's live connections and tells the others.
async fn signed_out(state: &AppState, user_id: &str, device_id: &str) {
    crate::events::sign_out(state, user_id, device_id).await;
    crate::events::notify(state, user_id, vec![Event::DeviceRemoved { id: device_id.to_string() }]).await;
}

/// A one-time pairing URL (valid 5 minutes) that signs a phone in to this
/// account as a new device, with its QR code.
#[utoipa::path(post, path = "/api/v1/pairings", tag = "auth", security(("bearer" = []), ("basic" = [])),
    responses((status = 201, body = Pairing), (status = 401, body = ErrorBody),
        (status = 429, description = "too many unused codes", body = ErrorBody)))]
pub async fn create_pairing(
    State(state): State<AppState>,
    auth: AuthUser,
    BaseUrl(base): BaseUrl,
) -> ApiResult<(StatusCode, Json<Pairing>)> {
    Ok((StatusCode::CREATED, Json(pairing::create(&state, &auth.user.id, &base).await?)))
}

/// Redeem a pairing code: sign in as a new device of the code's account.
#[utoipa::path(post, path = "/api/v1/auth/pair", tag = "auth", request_body = PairRequest,
    responses((status = 200, body = Tokens), (status = 404, description = "unknown code", body = ErrorBody),
        (status = 410, description = "used or expired code", body = ErrorBody),
        (status = 429, description = "too many attempts", body = ErrorBody)))]
pub async fn pair(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<PairRequest>,
) -> ApiResult<Json<Tokens>> {
    Ok(Json(pairing::redeem(&state, request, ip).await?))
}

/// The user's signed-in devices.
#[utoipa::path(get, path = "/api/v1/devices", tag = "auth", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Vec<Device>), (status = 401, body = ErrorBody)))]
pub async fn list_devices(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<Device>>> {
    let devices = state.db.list_devices(&auth.user.id).await?;
    Ok(Json(
        devices
            .into_iter()
            .map(|d| Device {
                current: auth.device_id.as_deref() == Some(d.id.as_str()),
                id: d.id,
                name: d.name,
                created_at: to_time(d.created_at),
                last_seen_at: to_time(d.last_seen_at),
            })
            .collect(),
    ))
}

/// Sign one of the user's devices out.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "auth", security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "device id")),
    responses((status = 204, description = "signed out"), (status = 404, body = ErrorBody)))]
pub async fn revoke_device(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if state.db.delete_device(&auth.user.id, &id).await? {
        signed_out(&state, &auth.user.id, &id).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("device"))
    }
}
