//! `/api/v1/buffer`: the clipboard, seed-compatible (raw body plus
//! `X-Data-Type`) for curl, and its clip history.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cloudbuffer_protocol::{Clip, ErrorBody};

use crate::auth::{AuthNewestClip, AuthUser};
use crate::buffer;
use crate::db::{now_ms, ClipRow};
use crate::encrypted::{self, Naming};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::files::download;
use crate::files::names::name_from_headers;
use crate::state::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/buffer",
            get(get_buffer)
                .put(put_buffer)
                .post(put_buffer)
                .delete(clear_buffer)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/buffer/clips", get(list_clips))
        .route("/api/v1/buffer/clips/{id}", get(get_clip).delete(delete_clip))
        .route("/api/v1/buffer/clips/{id}/content", get(clip_content))
}

/// Put content on the clipboard: the body is the content, `X-Data-Type`
/// says `text` or `file`; a file's name comes in `X-Filename`
/// (percent-encoded UTF-8) or `Content-Disposition`. POST works too.
#[utoipa::path(method(put, post), path = "/api/v1/buffer", tag = "buffer", security(("bearer" = []), ("basic" = [])),
    params(("X-Data-Type" = String, Header, description = "`text` or `file`"),
        ("X-Filename" = Option<String>, Header, description = "a file clip's name, percent-encoded UTF-8"),
        ("X-Encrypted" = Option<String>, Header, description = "`1`: end-to-end encrypted (an item, or a text field)"),
        ("X-Encrypted-Content-Type" = Option<String>, Header, description = "an encrypted file's content-type field"),
        ("X-Encrypted-Preview" = Option<String>, Header, description = "an encrypted text clip's preview field")),
    request_body(content_type = "application/octet-stream", description = "the clip's content"),
    responses((status = 201, body = Clip),
        (status = 400, description = "missing/unknown X-Data-Type, file without a name, text not UTF-8, bad encrypted item or field", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)))]
pub async fn put_buffer(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Clip>)> {
    let device = auth.device_id.as_deref();
    let user = &auth.user.id;
    let data_type = data_type(&headers)?;
    let encrypted = encrypted::upload(&headers)?;
    let clip = match data_type {
        DataType::Text if encrypted.is_some() => {
            // Checked before the body is read, like every other header.
            let preview = encrypted::preview(&headers)?;
            let text = buffer::read_encrypted_text(&state, user, body.into_data_stream()).await?;
            buffer::add_encrypted_text(&state, user, device, &text, preview.as_deref()).await?
        }
        DataType::Text => {
            let text = buffer::read_text(&state, user, body.into_data_stream()).await?;
            buffer::add_text(&state, user, device, &text).await?
        }
        DataType::File => {
            let name = name_from_headers(&headers).ok_or_else(|| {
                ApiError::bad_request("filename_required", "a file clip needs a name: send X-Filename")
            })?;
            let naming = Naming::new(Some(&name), encrypted.as_ref())?;
            let declared = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            buffer::add_file(&state, user, device, &naming, declared, body.into_data_stream()).await?
        }
    };
    Ok((StatusCode::CREATED, Json(clip)))
}

enum DataType {
    Text,
    File,
}

fn data_type(headers: &HeaderMap) -> ApiResult<DataType> {
    let Some(value) = headers.get("x-data-type") else {
        return Err(ApiError::bad_request(
            "data_type_required",
            "send X-Data-Type: text or X-Data-Type: file",
        ));
    };
    match value.to_str().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Ok("text") => Ok(DataType::Text),
        Ok("file") => Ok(DataType::File),
        _ => Err(ApiError::bad_request("unknown_data_type", "X-Data-Type must be `text` or `file`")),
    }
}

/// The newest clip's content (`X-Data-Type`, `X-Clip-Id`); 204 when empty.
#[utoipa::path(get, path = "/api/v1/buffer", tag = "buffer", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, description = "the newest clip's content"), (status = 204, description = "empty")))]
pub async fn get_buffer(
    State(state): State<AppState>,
    AuthNewestClip { newest_clip, .. }: AuthNewestClip,
    conditions: download::Conditions,
) -> ApiResult<Response> {
    match newest_clip {
        Some((row, text)) => clip_content_response(&state, &row, text, &conditions, TextAs::Text).await,
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Clear the history.
#[utoipa::path(delete, path = "/api/v1/buffer", tag = "buffer", security(("bearer" = []), ("basic" = [])),
    responses((status = 204, description = "cleared")))]
pub async fn clear_buffer(State(state): State<AppState>, auth: AuthUser) -> ApiResult<StatusCode> {
    buffer::clear(&state, &auth.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The history, newest first.
#[utoipa::path(get, path = "/api/v1/buffer/clips", tag = "buffer", security(("bearer" = []), ("basic" = [])),
    responses((status = 200, body = Vec<Clip>)))]
pub async fn list_clips(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Json<Vec<Clip>>> {
    state.settle_counts().await;
    let rows = state.db.list_clips(&auth.user.id, now_ms()).await?;
    Ok(Json(rows.iter().map(buffer::clip_info).collect()))
}

/// One clip.
#[utoipa::path(get, path = "/api/v1/buffer/clips/{id}", tag = "buffer", security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "clip id")),
    responses((status = 200, body = Clip), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn get_clip(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Clip>> {
    state.settle_counts().await;
    Ok(Json(buffer::clip_info(&buffer::owned_clip(&state, &auth.user.id, &id).await?)))
}

/// One clip's content.
#[utoipa::path(get, path = "/api/v1/buffer/clips/{id}/content", tag = "buffer", security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "clip id")),
    responses((status = 200, description = "the content"), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn clip_content(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<String>,
    conditions: download::Conditions,
) -> ApiResult<Response> {
    let row = buffer::owned_clip(&state, &auth.user.id, &id).await?;
    clip_content_response(&state, &row, None, &conditions, TextAs::Download).await
}

/// Delete one clip (a file clip's file stays under Files).
#[utoipa::path(delete, path = "/api/v1/buffer/clips/{id}", tag = "buffer", security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "clip id")),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_clip(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    buffer::delete_clip(&state, &auth.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How an encrypted text clip's field is served: `GET /buffer` sends it
/// as text (seed-compatible), every other download route as the opaque
/// bytes it is (`application/octet-stream`), as for encrypted files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextAs {
    /// `text/plain; charset=utf-8`.
    Text,
    /// `application/octet-stream` when encrypted.
    Download,
}

/// A clip's content as a response: text as `text/plain`, files as their
/// download (ranges, ETag, counted), both with `X-Data-Type` and `X-Clip-Id`
/// (and `X-Encrypted: 1` for an encrypted clip). `text`: a text clip's
/// content if already read, else it is looked up.
pub async fn clip_content_response(
    state: &AppState,
    row: &ClipRow,
    text: Option<String>,
    conditions: &download::Conditions,
    text_as: TextAs,
) -> ApiResult<Response> {
    let mut response = match &row.file {
        Some(file) => download::serve_file(state, file, conditions).await?,
        None => {
            let text = match text {
                Some(text) => text,
                None => state.db.clip_text(&row.id).await?.unwrap_or_default(),
            };
            let content_type = if row.encrypted && text_as == TextAs::Download {
                "application/octet-stream"
            } else {
                "text/plain; charset=utf-8"
            };
            let mut response = Response::new(Body::from(text));
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
    };
    let data_type = if row.file.is_some() { "file" } else { "text" };
    response.headers_mut().insert("x-data-type", HeaderValue::from_static(data_type));
    if let Ok(id) = HeaderValue::from_str(&row.id) {
        response.headers_mut().insert("x-clip-id", id);
    }
    if row.encrypted {
        encrypted::mark(response.headers_mut());
    }
    Ok(response)
}
