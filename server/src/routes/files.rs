//! `/api/v1/files`: upload (multipart or raw), list, info, content, delete.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cloudbuffer_protocol::{ErrorBody, FileInfo};

use crate::auth::{AuthFile, AuthUser};
use crate::db::now_ms;
use crate::encrypted::{self, Naming};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::files::download;
use crate::files::{self, file_info};
use crate::state::AppState;

/// The routes of this module. Uploads stream and enforce their own limit,
/// so the default body limit is lifted for them.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/files", post(upload_multipart).layer(DefaultBodyLimit::disable()).get(list_files))
        .route(
            // One parameter name for the path: PUT takes it as the file name.
            "/api/v1/files/{id}",
            get(get_file).delete(delete_file).put(upload_raw).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/files/{id}/content", get(file_content))
}

/// Upload a file as multipart/form-data (field `file`; its filename names the file).
#[utoipa::path(post, path = "/api/v1/files", tag = "files", security(("bearer" = []), ("basic" = [])),
    params(("X-Encrypted" = Option<String>, Header, description = "`1`: an end-to-end encrypted item, its filename a name field"),
        ("X-Encrypted-Content-Type" = Option<String>, Header, description = "an encrypted item's content-type field")),
    request_body(content_type = "multipart/form-data", description = "a part named `file`"),
    responses((status = 201, body = FileInfo), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 507, description = "quota exceeded", body = ErrorBody)))]
pub async fn upload_multipart(
    State(state): State<AppState>,
    auth: AuthUser,
    request: Request,
) -> ApiResult<Response> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::UnsupportedMediaType(
            "send multipart/form-data with a `file` part, or PUT the raw bytes to /api/v1/files/{name}"
                .into(),
        ));
    }
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let content_type = content_type.to_string();
    let encrypted = encrypted::upload(request.headers())?;
    let body = request.into_body().into_data_stream();
    match files::multipart::upload(&state, &auth.user.id, &content_type, encrypted.as_ref(), body).await {
        Ok(row) => Ok((StatusCode::CREATED, Json(file_info(&row))).into_response()),
        // The rest of a refused body is not read: close rather than drain it.
        Err(e) => {
            let mut response = e.into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        }
    }
}

/// Upload the raw request body as a file named by the last path segment
/// (so `curl -T photo.jpg …/api/v1/files/` works).
// OpenAPI allows one parameter name per path, as axum does: `{id}`, which an
// upload takes as the new file's name.
#[utoipa::path(put, path = "/api/v1/files/{id}", tag = "files", security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "for an upload: the new file's name (percent-encoded UTF-8)"),
        ("X-Encrypted" = Option<String>, Header, description = "`1`: an end-to-end encrypted item, `{id}` a name field"),
        ("X-Encrypted-Content-Type" = Option<String>, Header, description = "an encrypted item's content-type field")),
    request_body(content_type = "application/octet-stream", description = "the file's bytes"),
    responses((status = 201, body = FileInfo), (status = 400, description = "bad encrypted item or field", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 507, description = "quota exceeded", body = ErrorBody)))]
pub async fn upload_raw(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<FileInfo>)> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let naming = Naming::new(Some(&name), encrypted::upload(&headers)?.as_ref())?;
    let row = files::upload_file(&state, &auth.user.id, &naming, declared, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(file_info(&row))))
}

/// The user's files, newest first.
#[utoipa::path(get, path = "/api/v1/files", tag = "files", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Vec<FileInfo>), (status = 401, body = ErrorBody)))]
pub async fn list_files(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<FileInfo>>> {
    state.settle_counts().await;
    let rows = state.db.list_files(&auth.user.id, now_ms()).await?;
    Ok(Json(rows.iter().map(file_info).collect()))
}

/// One file's metadata.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "file id")),
    responses((status = 200, body = FileInfo), (status = 404, body = ErrorBody),
        (status = 410, description = "expired, not yet purged", body = ErrorBody)))]
pub async fn get_file(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<FileInfo>> {
    state.settle_counts().await;
    Ok(Json(file_info(&files::owned_file(&state, &auth.user.id, &id).await?)))
}

/// The file's bytes, with ETag, Content-Disposition and Range support.
#[utoipa::path(get, path = "/api/v1/files/{id}/content", tag = "files", security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "file id")),
    responses((status = 200, description = "the bytes"), (status = 206, description = "the requested range"),
        (status = 304, description = "If-None-Match matched"), (status = 404, body = ErrorBody),
        (status = 410, body = ErrorBody), (status = 416, body = ErrorBody)))]
pub async fn file_content(
    State(state): State<AppState>,
    AuthFile { file, .. }: AuthFile,
    conditions: download::Conditions,
) -> ApiResult<Response> {
    let row = files::live_file(file)?;
    download::serve_file(&state, &row, &conditions).await
}

/// Delete a file (owner only).
#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files", security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "file id")),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn delete_file(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    files::delete_file(&state, &auth.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
