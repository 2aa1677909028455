//! Watching the local clipboard.
//!
//! With change events (the in-memory clipboard; X11 through XFixes) the
//! clipboard is read only when it changed. Without, it is polled every
//! `poll_interval`: the text is read and its hash compared with the last
//! one seen; images are read only while there is no text, and then at a
//! slower rate that keeps growing (1 s doubling to 4 s) while the image
//! stays the same, so a big screenshot sitting on the clipboard is not
//! decoded four times a second.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::content::{encode_png, image_key, text_key, ContentKey};
use super::queue::ItemKind;
use super::state::{Shared, IMAGE_EVERY_MAX, IMAGE_EVERY_MIN};
use super::ClipboardError;

/// What one look at the clipboard found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// Nothing new.
    Same,
    /// New content, queued for sending.
    Queued,
    /// New content marked secret: not sent.
    Concealed,
}

/// Takes the content present at start as already seen (it is not sent).
pub(super) async fn baseline(shared: &Arc<Shared>) {
    if let Err(e) = shared.blocking(|s| look(s, true, true)).await {
        shared.report(e);
    }
}

/// Watches until cancelled.
pub(super) async fn watch(shared: Arc<Shared>, cancel: CancellationToken) {
    let mut changes = if shared.config.use_events { shared.clipboard.changes() } else { None };
    let polling = changes.is_none();
    // A new subscription takes the clipboard's current change as seen: one
    // made between the baseline and here would wait for the next change.
    // So the first look comes before any wait.
    let mut first = true;
    loop {
        if !first {
            match &mut changes {
                Some(rx) => tokio::select! {
                    _ = cancel.cancelled() => return,
                    changed = rx.changed() => if changed.is_err() {
                        // The backend lost its event source: poll from now on.
                        changes = None;
                    },
                },
                None => tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(shared.config.poll_interval) => {}
                },
            }
        }
        first = false;
        let polling = polling || changes.is_none();
        match shared.blocking(move |s| look(s, polling, false)).await {
            Ok(Seen::Queued) => {
                let queued = shared.queue.len();
                shared.status(|s| s.queued = queued);
                shared.wake.notify_one();
            }
            Ok(Seen::Concealed) => shared.status(|s| s.concealed_skipped += 1),
            Ok(Seen::Same) => {}
            Err(e) => shared.report(e),
        }
    }
}

/// Reads the clipboard once and queues new content. Holds the local lock
/// throughout, so it never interleaves with putting a remote clip on the
/// clipboard (see `apply`).
pub(super) fn look(shared: &Shared, polling: bool, baseline: bool) -> Result<Seen, String> {
    let mut local = shared.local();
    let clipboard = &shared.clipboard;
    // A failed text read falls through to the image (some owners answer
    // every target with their one type, say an image); if that fails too,
    // the text's error is the one reported.
    let (text, text_error) = match clipboard.read_text() {
        Ok(text) => (text, None),
        Err(e) => (None, Some(e)),
    };
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        let key = text_key(&text);
        if local.last == Some(key) {
            return Ok(Seen::Same);
        }
        local.last = Some(key);
        local.image_every = IMAGE_EVERY_MIN;
        if baseline {
            return Ok(Seen::Same);
        }
        if clipboard.is_concealed() {
            return Ok(Seen::Concealed);
        }
        push(shared, ItemKind::Text, text.as_bytes())?;
        return Ok(Seen::Queued);
    }
    // No text. Read the image when the text just went away, on events, or
    // when the slower image poll is due.
    let now = Instant::now();
    let text_went_away = matches!(local.last, Some(ContentKey::Text(_)));
    if polling && !baseline && !text_went_away && now < local.image_next {
        return Ok(Seen::Same);
    }
    let image =
        clipboard.read_image().map_err(|e: ClipboardError| text_error.clone().unwrap_or(e).to_string())?;
    let Some(image) = image.filter(|i| !i.rgba.is_empty()) else {
        if let Some(e) = text_error {
            return Err(e.to_string());
        }
        local.last = None;
        local.image_every = IMAGE_EVERY_MIN;
        local.image_next = now + local.image_every;
        return Ok(Seen::Same);
    };
    let key = image_key(&image);
    if local.last == Some(key) {
        local.image_every = (local.image_every * 2).min(IMAGE_EVERY_MAX);
        local.image_next = now + local.image_every;
        return Ok(Seen::Same);
    }
    local.last = Some(key);
    local.image_every = IMAGE_EVERY_MIN;
    local.image_next = now + local.image_every;
    if baseline {
        return Ok(Seen::Same);
    }
    if clipboard.is_concealed() {
        return Ok(Seen::Concealed);
    }
    let png = encode_png(&image)?;
    push(shared, ItemKind::Png, &png)?;
    Ok(Seen::Queued)
}

fn push(shared: &Shared, kind: ItemKind, bytes: &[u8]) -> Result<(), String> {
    shared
        .queue
        .push(kind, bytes)
        .map(|_| ())
        .map_err(|e| format!("cannot queue a clip in {}: {e}", shared.queue.dir().display()))
}
