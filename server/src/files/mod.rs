//! Files: streaming uploads into the blob store, limits, deletion.
//! Plain functions over [`AppState`]; the HTTP handlers only adapt to them.

pub mod download;
pub mod inflight;
pub mod multipart;
pub mod names;

use std::time::Duration;

use bytes::Bytes;
use cloudbuffer_protocol::{DeleteReason, Event, FileInfo};
use futures_util::{Stream, StreamExt};

use crate::db::{now_ms, to_time, FileRow, PurgedFile, RemoveReason, StoreOutcome};
use crate::encrypted::{MagicCheck, Naming};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::WrittenBlob;
use crate::{events, ids, metrics};

/// The wire form of a stored file.
pub fn file_info(row: &FileRow) -> FileInfo {
    FileInfo {
        id: row.id.clone(),
        name: row.name.clone(),
        size: row.size as u64,
        hash: row.hash.clone(),
        content_type: row.content_type.clone(),
        created_at: to_time(row.created_at),
        expires_at: to_time(row.expires_at),
        downloads: row.downloads as u64,
        encrypted: row.encrypted,
    }
}

pub use cloudbuffer_protocol::units::human_bytes;

fn too_large(limit: u64) -> ApiError {
    ApiError::TooLarge {
        code: "file_too_large",
        message: format!("file exceeds the {} limit", human_bytes(limit)),
    }
}

use inflight::over_quota;

/// The next chunk of a request body: 400 if the client broke off, 408 if
/// it sent nothing for `idle`.
pub async fn next_chunk<S, E>(body: &mut std::pin::Pin<&mut S>, idle: Duration) -> ApiResult<Option<Bytes>>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    match tokio::time::timeout(idle, body.next()).await {
        Err(_) => Err(ApiError::RequestTimeout(idle.as_secs())),
        Ok(None) => Ok(None),
        Ok(Some(Ok(chunk))) => Ok(Some(chunk)),
        Ok(Some(Err(e))) => {
            Err(ApiError::bad_request("upload_interrupted", format!("the upload was cut off: {e}")))
        }
    }
}

/// A stored file and the files its arrival removed.
#[derive(Debug)]
pub struct Stored {
    /// The new file.
    pub file: FileRow,
    /// Files evicted or purged as expired to make room.
    pub removed: Vec<PurgedFile>,
}

/// The events announcing removed files and the clips that went with them.
pub fn removal_events(removed: &[PurgedFile]) -> Vec<Event> {
    let mut events = Vec::new();
    for file in removed {
        events.extend(file.clip_ids.iter().map(|id| Event::ClipDeleted { id: id.clone() }));
        let reason = match file.reason {
            RemoveReason::Deleted => DeleteReason::Deleted,
            RemoveReason::Expired => DeleteReason::Expired,
            RemoveReason::Evicted => DeleteReason::Evicted,
        };
        events.push(Event::FileDeleted { id: file.id.clone(), reason });
    }
    events
}

/// Stores an upload as a file and tells the user's devices.
pub async fn upload_file<S, E>(
    state: &AppState,
    user_id: &str,
    naming: &Naming,
    declared_len: Option<u64>,
    body: S,
) -> ApiResult<FileRow>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let stored = store_upload(state, user_id, naming, declared_len, body).await?;
    let mut events = vec![Event::FileCreated { file: file_info(&stored.file) }];
    events.extend(removal_events(&stored.removed));
    events::notify(state, user_id, events).await;
    Ok(stored.file)
}

/// Streams `body` into the store and records it as a file of `user_id`.
/// Nothing becomes visible unless the whole body arrived, fit the limits
/// (an encrypted one: started with the item magic) and is durable on
/// disk. Publishes nothing: callers announce.
pub async fn store_upload<S, E>(
    state: &AppState,
    user_id: &str,
    naming: &Naming,
    declared_len: Option<u64>,
    body: S,
) -> ApiResult<Stored>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let limit = state.config.max_file_bytes;
    if declared_len.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let config = &state.config;
    let mut ticket =
        state.uploads.begin(user_id, config.max_uploads_per_user, config.quota_bytes, declared_len)?;
    let idle = Duration::from_secs(config.idle_timeout_seconds);
    let mut magic = naming.is_encrypted().then(MagicCheck::default);
    let mut writer = state.store.writer()?;
    let mut body = std::pin::pin!(body);
    let mut received = 0u64;
    loop {
        let chunk = match next_chunk(&mut body, idle).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        };
        received += chunk.len() as u64;
        let accepted = if received > limit {
            Err(too_large(limit))
        } else if let Some(magic) = &mut magic {
            magic.feed(&chunk).and_then(|()| ticket.receive(chunk.len() as u64))
        } else {
            ticket.receive(chunk.len() as u64)
        };
        if let Err(e) = accepted {
            writer.abort().await;
            return Err(e);
        }
        if let Err(e) = writer.write(chunk).await {
            writer.abort().await;
            return Err(e.into());
        }
    }
    if let Some(Err(e)) = magic.as_ref().map(MagicCheck::finish) {
        writer.abort().await;
        return Err(e);
    }
    let blob = writer.finish().await?;
    metrics::UPLOAD_BYTES.add(blob.size);
    let now = now_ms();
    // An encrypted item's fields are opaque and already safe: as sent.
    let (name, content_type) = match naming {
        Naming::Plain(raw) => {
            let name = names::sanitize_file_name(raw);
            (name.clone(), names::content_type_for(&name, &blob.head))
        }
        Naming::Encrypted { name, content_type } => (name.clone(), content_type.clone()),
    };
    let row = FileRow {
        id: ids::new_id(),
        user_id: user_id.to_string(),
        content_type,
        name,
        size: blob.size as i64,
        hash: blob.hash.clone(),
        created_at: now,
        expires_at: now + state.config.expiry_seconds as i64 * 1000,
        downloads: 0,
        encrypted: naming.is_encrypted(),
    };
    if let Err(e) = state.store.stage(&blob).await {
        discard(state, &blob).await;
        return Err(e.into());
    }
    let removed = commit(state, &blob, &row).await?;
    tracing::info!(file = %row.id, size = row.size, hash = %row.hash, "file stored");
    Ok(Stored { file: row, removed })
}

/// Records the row and places the blob at its address in one write
/// transaction: on every instance, blob removal takes the same lock, so a
/// blob is never unlinked under a row that was just added for it.
async fn commit(state: &AppState, blob: &WrittenBlob, row: &FileRow) -> ApiResult<Vec<PurgedFile>> {
    let outcome =
        state.db.insert_file(row, state.config.max_files, state.config.quota_bytes, row.created_at).await;
    let (tx, removed, dead_blobs) = match outcome {
        Ok(StoreOutcome::Stored { tx, removed, dead_blobs }) => (tx, removed, dead_blobs),
        Ok(StoreOutcome::OverQuota { would_use }) => {
            tracing::info!(user = %row.user_id, would_use, "upload refused: over quota");
            discard(state, blob).await;
            return Err(over_quota(state.config.quota_bytes));
        }
        Err(e) => {
            discard(state, blob).await;
            return Err(e.into());
        }
    };
    if let Err(e) = state.store.place(blob).await {
        let _ = tx.rollback().await;
        discard(state, blob).await;
        return Err(e.into());
    }
    if let Err(e) = tx.commit().await {
        // The blob may have been placed for this upload alone and no row
        // knows it now: the release check removes it if so.
        state.store.settle(blob).await;
        release_blobs(state, vec![blob.hash.clone()]).await;
        return Err(e.into());
    }
    state.store.settle(blob).await;
    metrics::FILES_STORED.add(1);
    for file in &removed {
        metrics::count_removal(file.reason);
        tracing::info!(file = %file.id, reason = ?file.reason, "file removed to make room");
    }
    release_blobs(state, dead_blobs).await;
    Ok(removed)
}

/// Drops an upload that will not be recorded, with the blob it may have
/// staged at its address unless a row references that.
async fn discard(state: &AppState, blob: &WrittenBlob) {
    state.store.settle(blob).await;
    if state.store.stages_at_address() {
        release_blobs(state, vec![blob.hash.clone()]).await;
    }
}

/// Unlinks blobs that lost their last reference, unless one came back:
/// the row goes and the file is unlinked inside one write transaction.
pub async fn release_blobs(state: &AppState, hashes: Vec<String>) {
    for hash in hashes {
        // Deleted content does not linger in memory, even if another file
        // with the same bytes brings it back on its next download.
        state.small_blobs.remove(&hash);
        match state.db.drop_dead_blob(&hash).await {
            Ok(Some(tx)) => {
                if let Err(e) = state.store.unlink(&hash).await {
                    // The row stays (rolled back) and the next sweep retries.
                    tracing::error!(%hash, error = %e, "cannot remove blob");
                    let _ = tx.rollback().await;
                } else if let Err(e) = tx.commit().await {
                    // File gone, row kept: the next sweep drops the row.
                    tracing::error!(%hash, error = %e, "cannot drop blob row");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(%hash, error = %e, "cannot drop blob row"),
        }
    }
}

/// One of the user's files: 404 if it is not theirs, 410 once expired.
pub async fn owned_file(state: &AppState, user_id: &str, id: &str) -> ApiResult<FileRow> {
    live_file(state.db.file_of(user_id, id).await?)
}

/// A file row looked up for its owner (see [`owned_file`]) as an answer:
/// 404 if there is none, 410 once expired.
pub fn live_file(row: Option<FileRow>) -> ApiResult<FileRow> {
    let row = row.ok_or(ApiError::NotFound("file"))?;
    if row.expires_at <= now_ms() {
        return Err(ApiError::Gone("file"));
    }
    Ok(row)
}

/// Deletes one of the user's files.
pub async fn delete_file(state: &AppState, user_id: &str, id: &str) -> ApiResult<()> {
    owned_file(state, user_id, id).await?;
    let (file, dead) = state.db.delete_file(user_id, id).await?.ok_or(ApiError::NotFound("file"))?;
    metrics::count_removal(RemoveReason::Deleted);
    release_blobs(state, dead).await;
    events::notify(state, user_id, removal_events(&[file])).await;
    Ok(())
}

/// Deletes all of a user's files (before the account goes).
pub async fn delete_all_files(state: &AppState, user_id: &str) -> ApiResult<()> {
    let dead = state.db.delete_all_files(user_id).await?;
    release_blobs(state, dead).await;
    Ok(())
}
