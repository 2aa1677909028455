//! Putting other devices' clips on the local clipboard (and file clips in
//! the inbox).

use std::sync::Arc;

use cloudbuffer_protocol::{Clip, ClipKind};

use super::clipboard::Image;
use super::content::{decode_png, image_key, text_key};
use super::state::Shared;
use crate::error::{ClientError, Result};

/// Text over the server's 1 MiB text-clip limit travels as a
/// `clipboard-….txt` file clip; up to this size it goes on the clipboard.
const MAX_BIG_TEXT: u64 = 16 << 20;

/// Content to put on the clipboard.
enum Remote {
    Text(String),
    Image(Image),
}

/// A `clip.created` event or the newest clip found when catching up.
/// Clips of this device and clips older than the newest one seen are
/// skipped. Errors about this clip only (gone, undecodable) are reported
/// and swallowed; connection errors are returned, so the clip is tried
/// again after reconnecting.
pub(super) async fn on_clip(shared: &Arc<Shared>, clip: Clip) -> Result<()> {
    if shared.is_ours(&clip) || !shared.is_newer(&clip) {
        shared.mark_seen(&clip);
        return Ok(());
    }
    match apply(shared, &clip).await {
        Ok(()) => {
            shared.mark_seen(&clip);
            Ok(())
        }
        Err(e @ (ClientError::Unreachable { .. } | ClientError::Interrupted(_))) => Err(e),
        Err(e @ (ClientError::SessionExpired | ClientError::NotLoggedIn)) => Err(e),
        Err(e) => {
            shared.mark_seen(&clip);
            shared.report(format!("could not take clip {}: {e}", clip.id));
            Ok(())
        }
    }
}

fn is_png(clip: &Clip) -> bool {
    clip.file.as_ref().is_some_and(|f| {
        f.content_type.starts_with("image/png") || f.name.to_ascii_lowercase().ends_with(".png")
    })
}

async fn apply(shared: &Arc<Shared>, clip: &Clip) -> Result<()> {
    // Names, types, previews and sizes as they were before encryption (an
    // encrypted clip without the key here is reported, never applied).
    let clip = &shared.client.reveal_clip(clip)?;
    let mut received = false;
    match clip.kind {
        ClipKind::Text => {
            let text = match &clip.preview {
                Some(preview) if preview.len() as u64 == clip.size => preview.clone(),
                _ => shared.client.clip_text(&clip.id).await?,
            };
            received |= put(shared, Remote::Text(text)).await?;
        }
        ClipKind::File => {
            let file = clip.file.as_ref().ok_or_else(|| ClientError::BadResponse {
                url: shared.client.server().into(),
                detail: format!("file clip {} without its file", clip.id),
            })?;
            if let Some(inbox) = &shared.config.inbox {
                if !file.name.starts_with(super::CLIPBOARD_IMAGE_PREFIX) {
                    crate::watch::save_to_inbox(&shared.client, inbox, file).await?;
                    received = true;
                }
            }
            let big_text =
                file.name.starts_with(super::CLIPBOARD_IMAGE_PREFIX) && file.name.ends_with(".txt");
            if big_text && clip.size <= MAX_BIG_TEXT {
                let bytes = shared.client.clip_bytes(&clip.id, MAX_BIG_TEXT).await?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| ClientError::Invalid("text clip is not UTF-8".into()))?;
                received |= put(shared, Remote::Text(text)).await?;
            } else if is_png(clip) && clip.size <= shared.config.max_image_bytes {
                let png = shared.client.clip_bytes(&clip.id, shared.config.max_image_bytes).await?;
                let max_pixels = (shared.config.max_image_bytes / 4).max(1 << 20) as usize;
                let image = tokio::task::spawn_blocking(move || decode_png(&png, max_pixels))
                    .await
                    .map_err(|e| ClientError::Invalid(e.to_string()))?
                    .map_err(ClientError::Invalid)?;
                received |= put(shared, Remote::Image(image)).await?;
            }
        }
    }
    if received {
        shared.status(|s| s.received += 1);
    }
    Ok(())
}

/// Writes to the clipboard and records the content as seen, so the
/// watcher does not send it back. Refuses (false) when the user changed
/// the clipboard since the watcher last looked, or local clips wait to be
/// sent: then the local content is newer and wins.
async fn put(shared: &Arc<Shared>, content: Remote) -> Result<bool> {
    let outcome = shared
        .blocking(move |s| {
            let mut local = s.local();
            if !s.queue.is_empty() {
                return Ok(false);
            }
            if let Some(text) = s.clipboard.read_text()?.filter(|t| !t.is_empty()) {
                if local.last != Some(text_key(&text)) {
                    return Ok(false);
                }
            }
            match content {
                Remote::Text(text) => {
                    s.clipboard.write_text(&text)?;
                    local.last = Some(text_key(&text));
                }
                Remote::Image(image) => {
                    s.clipboard.write_image(&image)?;
                    local.last = Some(image_key(&image));
                }
            }
            Ok(true)
        })
        .await;
    outcome.map_err(|e: super::ClipboardError| ClientError::Invalid(e.to_string()))
}
