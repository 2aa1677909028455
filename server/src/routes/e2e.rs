//! `/api/v1/e2e`: the account's wrapped end-to-end encryption key. The
//! server keeps it opaque; only devices that know the passphrase can
//! unwrap it (docs/encryption.md).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloudbuffer_protocol::{E2eKey, ErrorBody, PutE2eKey};

use crate::auth::AuthUser;
use crate::db::{now_ms, to_time, E2eKeyRow};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

/// The largest wrapped key accepted, serialized: a real one is ~250 bytes.
const MAX_WRAPPED_KEY_BYTES: usize = 4096;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/e2e", get(get_key).put(put_key))
}

fn wire(row: Option<E2eKeyRow>) -> ApiResult<E2eKey> {
    let Some(row) = row else {
        return Ok(E2eKey { enabled: false, wrapped_key: None, version: 0, updated_at: None });
    };
    let wrapped = serde_json::from_str(&row.wrapped_key)
        .map_err(|e| ApiError::Internal(format!("stored wrapped key is not JSON: {e}")))?;
    Ok(E2eKey {
        enabled: true,
        wrapped_key: Some(wrapped),
        version: row.version as u64,
        updated_at: Some(to_time(row.updated_at)),
    })
}

/// The account's wrapped key, or `enabled: false`.
#[utoipa::path(get, path = "/api/v1/e2e", tag = "e2e", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = E2eKey), (status = 401, body = ErrorBody)))]
pub async fn get_key(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Json<E2eKey>> {
    Ok(Json(wire(state.db.e2e_key(&auth.user.id).await?)?))
}

/// Turn E2E on (`version: 0`) or replace the wrapped key (`version`: the
/// current one), e.g. after a passphrase change.
#[utoipa::path(put, path = "/api/v1/e2e", tag = "e2e", security(("bearer" = []), ("basic" = [])),
    request_body = PutE2eKey,
    responses((status = 200, body = E2eKey), (status = 401, body = ErrorBody),
        (status = 409, description = "already on, or the version moved on", body = ErrorBody),
        (status = 422, description = "not a JSON object, or over 4 KiB", body = ErrorBody)))]
pub async fn put_key(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(request): ApiJson<PutE2eKey>,
) -> ApiResult<Json<E2eKey>> {
    let text = serde_json::to_string(&request.wrapped_key).map_err(|e| ApiError::Internal(e.to_string()))?;
    if !request.wrapped_key.is_object() || text.len() > MAX_WRAPPED_KEY_BYTES {
        return Err(ApiError::unprocessable(
            "invalid_wrapped_key",
            format!("wrapped_key must be a JSON object of at most {MAX_WRAPPED_KEY_BYTES} bytes"),
        ));
    }
    let expected = i64::try_from(request.version).unwrap_or(i64::MAX);
    match state.db.put_e2e_key(&auth.user.id, &text, expected, now_ms()).await? {
        Ok(row) => Ok(Json(wire(Some(row))?)),
        Err(0) => Err(ApiError::Conflict {
            code: "e2e_version_mismatch",
            message: "end-to-end encryption is not on for this account: send version 0 to turn it on".into(),
        }),
        Err(current) if expected == 0 => Err(ApiError::Conflict {
            code: "e2e_already_enabled",
            message: format!(
                "end-to-end encryption is already on (key version {current}): unlock it with its passphrase"
            ),
        }),
        Err(current) => Err(ApiError::Conflict {
            code: "e2e_version_mismatch",
            message: format!(
                "the key was replaced meanwhile (now version {current}); fetch it and try again"
            ),
        }),
    }
}
