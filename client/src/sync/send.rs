//! Sending the outbox queue.
//!
//! Delivery is at-least-once on the wire and exactly-once in effect: an
//! item is removed from the queue only after the server answered 201, and
//! an item whose earlier attempt may have reached the server (it was tried
//! before and failed, or it was found on disk at start after a crash) is
//! first compared with the server's newest clip: if that clip is ours and
//! holds the same content (same text, or a file with the same BLAKE3 hash),
//! the item was delivered and is dropped instead of sent twice. Sending it
//! again could only re-add content that is already the newest clip, so the
//! check cannot lose anything either.

use std::sync::Arc;

use super::content::text_key;
use super::queue::{Item, ItemKind};
use super::state::Shared;
use crate::error::{ClientError, Result};

/// Largest text clip the server takes; larger text travels as a file.
const MAX_TEXT_CLIP: usize = 1 << 20;

/// Sends every queued item, oldest first. Returns on the first connection
/// error (the item stays queued); items the server refuses for good (too
/// large, quota) are dropped with a reported error so they don't block
/// the queue.
pub(super) async fn flush(shared: &Arc<Shared>) -> Result<()> {
    loop {
        let items = shared.queue.items().map_err(|e| ClientError::io(shared.queue.dir(), e))?;
        let queued = items.len();
        shared.status(|s| s.queued = queued);
        let Some(item) = items.into_iter().next() else {
            return Ok(());
        };
        let fresh = shared.queue.take_fresh(&item);
        let bytes = match tokio::fs::read(&item.path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                shared.report(ClientError::io(&item.path, e));
                let _ = shared.queue.remove(&item);
                continue;
            }
        };
        if !fresh && delivered(shared, &item, &bytes).await? {
            remove(shared, &item)?;
            continue;
        }
        match send(shared, &item, bytes).await {
            Ok(clip) => {
                shared.mark_seen(&clip);
                remove(shared, &item)?;
                shared.status(|s| s.sent += 1);
            }
            Err(e) if permanent(&e) => {
                shared.report(format!("a clip was not sent and is dropped: {e}"));
                remove(shared, &item)?;
            }
            Err(e) => return Err(e),
        }
    }
}

fn remove(shared: &Shared, item: &Item) -> Result<()> {
    shared.queue.remove(item).map_err(|e| ClientError::io(&item.path, e))
}

/// Errors that sending again will not fix.
fn permanent(error: &ClientError) -> bool {
    match error {
        ClientError::Api { status, .. } => (400..500).contains(status) && *status != 408,
        ClientError::TooLarge { .. }
        | ClientError::Storage(_)
        | ClientError::NotFound(_)
        | ClientError::Gone(_)
        | ClientError::Invalid(_)
        | ClientError::Io { .. } => true,
        // Encryption is on and this device holds no key: the clip must not
        // go out unencrypted, and holding it would block the queue (and the
        // connection, which sends the queue first) until an unlock.
        ClientError::E2eLocked => true,
        _ => false,
    }
}

async fn send(shared: &Shared, item: &Item, bytes: Vec<u8>) -> Result<cloudbuffer_protocol::Clip> {
    // An encrypted text field is 4/3 of its text: less text fits a text clip.
    let max_text = match shared.client.account_key()? {
        Some(_) => crate::e2e::MAX_ENCRYPTED_TEXT,
        None => MAX_TEXT_CLIP,
    };
    match item.kind {
        ItemKind::Text if bytes.len() <= max_text => {
            let text = String::from_utf8(bytes)
                .map_err(|_| ClientError::Invalid("queued text is not UTF-8".into()))?;
            shared.client.copy_text(&text).await
        }
        ItemKind::Text => shared.client.copy_bytes(&clip_name("txt"), bytes).await,
        ItemKind::Png => shared.client.copy_bytes(&clip_name("png"), bytes).await,
    }
}

/// `clipboard-20260102-150405.png`: names of clips that came from a clipboard.
fn clip_name(ext: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{}{:04}{:02}{:02}-{:02}{:02}{:02}.{ext}",
        super::CLIPBOARD_IMAGE_PREFIX,
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// True if the server's newest clip is this item, sent by us before. An
/// encrypted one is compared by its decrypted content (its ciphertext, made
/// with a random salt, matches nothing local).
async fn delivered(shared: &Shared, item: &Item, bytes: &[u8]) -> Result<bool> {
    let clips = shared.client.clips().await?;
    let Some(newest) = clips.into_iter().next().filter(|c| shared.is_ours(c)) else {
        return Ok(false);
    };
    let Ok(newest) = shared.client.reveal_clip(&newest) else {
        // Encrypted, and the key is gone from this device: cannot be ours to compare.
        return Ok(false);
    };
    Ok(match (&item.kind, &newest.file) {
        (_, Some(file)) if file.encrypted => {
            file.size == bytes.len() as u64 && shared.client.clip_bytes(&newest.id, file.size).await? == bytes
        }
        (ItemKind::Text, None) if newest.size == bytes.len() as u64 => {
            let text = String::from_utf8_lossy(bytes);
            let theirs = match &newest.preview {
                Some(preview) if preview.len() == bytes.len() => preview.clone(),
                _ => shared.client.clip_text(&newest.id).await?,
            };
            text_key(&theirs) == text_key(&text)
        }
        (_, Some(file)) => {
            file.size == bytes.len() as u64 && file.hash == blake3::hash(bytes).to_hex().as_str()
        }
        _ => false,
    })
}
