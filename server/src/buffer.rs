//! The clipboard buffer: adding text and file clips, reading and deleting
//! them, with the history cap and live events. Plain functions over
//! [`AppState`]; `routes::buffer` adapts them to HTTP.

use bytes::{Bytes, BytesMut};
use cloudbuffer_protocol::{Clip, ClipKind, Event};
use futures_util::Stream;

use crate::db::{now_ms, to_time, ClipRow, NewClip};
use crate::encrypted::{self, Naming};
use crate::error::{ApiError, ApiResult};
use crate::files::{self, file_info, human_bytes};
use crate::state::AppState;
use crate::{events, ids};

/// Largest text clip. Text lives in the database, so it is kept modest;
/// anything bigger can travel as a file clip.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// The wire form of a clip.
pub fn clip_info(row: &ClipRow) -> Clip {
    Clip {
        id: row.id.clone(),
        kind: if row.kind == "file" { ClipKind::File } else { ClipKind::Text },
        size: row.size as u64,
        created_at: to_time(row.created_at),
        expires_at: to_time(row.expires_at),
        origin_device_id: row.origin_device_id.clone(),
        preview: row.preview.clone(),
        file: row.file.as_ref().map(file_info),
        encrypted: row.encrypted,
    }
}

/// Reads a text clip body, refusing more than [`MAX_TEXT_BYTES`] or
/// anything that is not UTF-8. It counts as one of the user's uploads in
/// flight, since it is held in memory until stored.
pub async fn read_text<S, E>(state: &AppState, user_id: &str, body: S) -> ApiResult<String>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let text = read_body(state, user_id, body).await?;
    String::from_utf8(text).map_err(|_| {
        ApiError::bad_request("invalid_text", "a text clip must be UTF-8; send binary data as a file")
    })
}

/// Reads an encrypted text clip body: a `text` field (base64url) of at
/// most [`MAX_TEXT_BYTES`], else 400 `invalid_encrypted_field`.
pub async fn read_encrypted_text<S, E>(state: &AppState, user_id: &str, body: S) -> ApiResult<String>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let field = read_body(state, user_id, body).await?;
    encrypted::check_field("text", &field, MAX_TEXT_BYTES)?;
    // base64url is ASCII: this cannot fail after the check.
    String::from_utf8(field).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A text clip's body, at most [`MAX_TEXT_BYTES`].
async fn read_body<S, E>(state: &AppState, user_id: &str, body: S) -> ApiResult<Vec<u8>>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let config = &state.config;
    let _ticket = state.uploads.begin(user_id, config.max_uploads_per_user, u64::MAX, None)?;
    let idle = std::time::Duration::from_secs(config.idle_timeout_seconds);
    let mut body = std::pin::pin!(body);
    let mut text = BytesMut::new();
    while let Some(chunk) = files::next_chunk(&mut body, idle).await? {
        if text.len() + chunk.len() > MAX_TEXT_BYTES {
            return Err(ApiError::TooLarge {
                code: "clip_too_large",
                message: format!(
                    "text clips are at most {}; send it as a file (X-Data-Type: file)",
                    human_bytes(MAX_TEXT_BYTES as u64)
                ),
            });
        }
        text.extend_from_slice(&chunk);
    }
    Ok(text.to_vec())
}

/// Adds a text clip and announces it.
pub async fn add_text(state: &AppState, user_id: &str, device: Option<&str>, text: &str) -> ApiResult<Clip> {
    add_text_clip(state, user_id, device, text, None).await
}

/// Adds an end-to-end encrypted text clip (`text`: a `text` field) with the
/// preview field its client sent, if any, and announces it.
pub async fn add_encrypted_text(
    state: &AppState,
    user_id: &str,
    device: Option<&str>,
    text: &str,
    preview: Option<&str>,
) -> ApiResult<Clip> {
    add_text_clip(state, user_id, device, text, Some(preview)).await
}

/// `encrypted`: None for plaintext, else the preview field (if any).
async fn add_text_clip(
    state: &AppState,
    user_id: &str,
    device: Option<&str>,
    text: &str,
    encrypted: Option<Option<&str>>,
) -> ApiResult<Clip> {
    let now = now_ms();
    let id = ids::new_id();
    let clip = NewClip {
        id: &id,
        user_id,
        text: Some(text),
        preview_field: encrypted.flatten(),
        encrypted: encrypted.is_some(),
        file: None,
        origin_device_id: device,
        created_at: now,
        expires_at: now + state.config.expiry_seconds as i64 * 1000,
    };
    let trimmed = state.db.insert_clip(&clip, state.config.clip_history, now).await?;
    finish_add(state, user_id, clip.row(), trimmed, Vec::new()).await
}

/// Stores a file and adds it as a clip, announcing both.
pub async fn add_file<S, E>(
    state: &AppState,
    user_id: &str,
    device: Option<&str>,
    naming: &Naming,
    declared_len: Option<u64>,
    body: S,
) -> ApiResult<Clip>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let stored = files::store_upload(state, user_id, naming, declared_len, body).await?;
    let id = ids::new_id();
    let now = now_ms();
    let clip = NewClip {
        id: &id,
        user_id,
        text: None,
        preview_field: None,
        encrypted: stored.file.encrypted,
        file: Some(&stored.file),
        origin_device_id: device,
        created_at: now,
        // A file clip lives exactly as long as its file.
        expires_at: stored.file.expires_at,
    };
    let trimmed = state.db.insert_clip(&clip, state.config.clip_history, now).await?;
    let mut before = vec![Event::FileCreated { file: file_info(&stored.file) }];
    before.extend(files::removal_events(&stored.removed));
    finish_add(state, user_id, clip.row(), trimmed, before).await
}

/// Not read back from the database: a concurrent clip of the same user may
/// already have trimmed this one from the history, and it was stored all
/// the same (201, then its clip.deleted).
async fn finish_add(
    state: &AppState,
    user_id: &str,
    row: ClipRow,
    trimmed: Vec<String>,
    mut events: Vec<Event>,
) -> ApiResult<Clip> {
    let clip = clip_info(&row);
    events.push(Event::ClipCreated { clip: clip.clone() });
    events.extend(trimmed.into_iter().map(|id| Event::ClipDeleted { id }));
    events::notify(state, user_id, events).await;
    Ok(clip)
}

/// One of the user's clips: 404 if not theirs, 410 once expired.
pub async fn owned_clip(state: &AppState, user_id: &str, id: &str) -> ApiResult<ClipRow> {
    let row = state.db.clip_by_id(Some(user_id), id).await?.ok_or(ApiError::NotFound("clip"))?;
    if row.expires_at <= now_ms() {
        return Err(ApiError::Gone("clip"));
    }
    Ok(row)
}

/// Deletes one clip (a file clip's file stays under Files).
pub async fn delete_clip(state: &AppState, user_id: &str, id: &str) -> ApiResult<()> {
    owned_clip(state, user_id, id).await?;
    if !state.db.delete_clip(user_id, id).await? {
        return Err(ApiError::NotFound("clip"));
    }
    events::notify(state, user_id, vec![Event::ClipDeleted { id: id.to_string() }]).await;
    Ok(())
}

/// Clears the user's history.
pub async fn clear(state: &AppState, user_id: &str) -> ApiResult<()> {
    let ids = state.db.clear_clips(user_id).await?;
    events::notify(state, user_id, ids.into_iter().map(|id| Event::ClipDeleted { id }).collect()).await;
    Ok(())
}
