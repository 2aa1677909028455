//! Live events: one WebSocket to the server's `/api/v1/events` (the client
//! library's [`LiveSocket`], which re-authenticates it before its token
//! expires), kept open with exponential backoff while signed in. Every event is passed to the
//! UI (`server-event`) so its lists stay current; the connection state is
//! published as `connection` (the offline banner); clips and files from
//! other devices raise a notification when the user wants them.

use std::time::Duration;

use cloudbuffer_client::live::{reconnect_delay, too_many_delay, LiveEnd, LiveOptions, LiveSocket};
use cloudbuffer_client::sync::{Backoff, CancellationToken};
use cloudbuffer_client::{Client, ClientError};
use cloudbuffer_protocol::{ClipKind, Event, FileInfo};
use tauri::{AppHandle, Emitter, Manager};

use crate::state::AppState;
use crate::status::ConnectionView;

/// A WebSocket silent this long is considered dead (the server pings every few seconds).
const IDLE: Duration = Duration::from_secs(75);

/// How [`run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Cancelled: the app signed out or switched accounts.
    Cancelled,
    /// The server ended the session: the app should sign out.
    SessionEnded,
}

/// Runs until `cancel` fires or the session ends (the caller then signs
/// out). The socket itself ([`LiveSocket`]) keeps its token fresh; a routine
/// 4002/4000 reconnects at once, unseen by the user.
pub async fn run(app: AppHandle, client: Client, device_id: String, cancel: CancellationToken) -> Ended {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut options = LiveOptions::default();
    loop {
        let (delay, message) = match LiveSocket::connect(&client, IDLE, &options).await {
            Ok(socket) => {
                backoff.reset();
                crate::status::connection(&app, ConnectionView { online: true, retry_in: 0, message: None });
                // Anything may have changed while we were away.
                let _ = app.emit("server-event", serde_json::json!({"type": "resync"}));
                let Some((end, age)) = listen(&app, &client, socket, &device_id, &cancel).await else {
                    return Ended::Cancelled;
                };
                let delay = reconnect_delay(&end, age, &mut backoff);
                match end {
                    LiveEnd::Failed(ClientError::SessionExpired | ClientError::NotLoggedIn) => {
                        return Ended::SessionEnded;
                    }
                    LiveEnd::Failed(ClientError::LiveAuthUnsupported) => {
                        options.no_auth_messages = true;
                        continue;
                    }
                    _ if delay.is_zero() => continue,
                    LiveEnd::Failed(ClientError::Interrupted(_))
                    | LiveEnd::TokenExpired
                    | LiveEnd::Behind => (delay, "The connection to the server broke.".to_string()),
                    LiveEnd::Failed(e) => (delay, crate::error::UiError::from(e).message),
                }
            }
            Err(ClientError::SessionExpired | ClientError::NotLoggedIn) => {
                return Ended::SessionEnded;
            }
            Err(e) => {
                let delay = if matches!(e, ClientError::TooManyLive) {
                    too_many_delay()
                } else {
                    backoff.next_delay()
                };
                (delay, crate::error::UiError::from(e).message)
            }
        };
        let retry_in = delay.as_secs().max(1);
        let view = ConnectionView { online: false, retry_in, message: Some(message) };
        crate::status::connection(&app, view);
        tokio::select! {
            _ = cancel.cancelled() => return Ended::Cancelled,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// The server sends a file clip's `file.created`, then the deletions the
/// upload caused (evictions, purges), then its `clip.created`: a new file is
/// announced only when no clip of it follows this soon.
const FILE_CLIP_WAIT: Duration = Duration::from_millis(300);

/// Reads events until the connection ends (how, and after how long) or
/// `cancel` (`None`).
async fn listen(
    app: &AppHandle,
    client: &Client,
    mut socket: LiveSocket,
    device_id: &str,
    cancel: &CancellationToken,
) -> Option<(LiveEnd, Duration)> {
    // A file.created not announced yet: it may be a file clip's.
    let mut pending: Option<FileInfo> = None;
    loop {
        // LiveSocket::next is cancel-safe, so it may be cut short here.
        let wait = if pending.is_some() { FILE_CLIP_WAIT } else { Duration::from_secs(3600) };
        let event = tokio::select! {
            _ = cancel.cancelled() => {
                socket.close().await;
                return None;
            }
            next = tokio::time::timeout(wait, socket.next()) => match next {
                Err(_) => {
                    announce_file(app, client, pending.take());
                    continue;
                }
                Ok(Err(end)) => {
                    announce_file(app, client, pending.take());
                    return Some((end, socket.age()));
                }
                Ok(Ok(event)) => event,
            },
        };
        let clip_of_pending = matches!((&event, &pending),
            (Event::ClipCreated { clip }, Some(file)) if clip.file.as_ref().is_some_and(|f| f.id == file.id));
        let between =
            matches!(event, Event::ClipDeleted { .. } | Event::FileDeleted { .. } | Event::Stats { .. });
        if clip_of_pending {
            pending = None;
        } else if !between {
            announce_file(app, client, pending.take());
        }
        match &event {
            Event::FileCreated { file } => pending = Some(file.clone()),
            Event::ClipCreated { clip } if clip.origin_device_id.as_deref() != Some(device_id) => {
                // Decrypted, or said to be locked: never a ciphertext in a notification.
                let (clip, shown) = match client.reveal_clip(clip) {
                    Ok(clip) => (clip, true),
                    Err(_) => (clip.clone(), false),
                };
                let (title, body) = match (&clip.kind, &clip.file) {
                    _ if !shown => ("New clip", LOCKED.to_string()),
                    (ClipKind::File, Some(file)) => ("New file on the clipboard", file.name.clone()),
                    _ => ("New clip", clip.preview.clone().unwrap_or_default()),
                };
                notify(app, title, &body);
            }
            _ => {}
        }
        let _ = app.emit("server-event", &event);
    }
}

/// What a notification says of an encrypted item this computer cannot open.
const LOCKED: &str = "Encrypted (locked on this computer)";

/// A new file that is not a clip, unless this app is uploading it.
fn announce_file(app: &AppHandle, client: &Client, file: Option<FileInfo>) {
    let Some(file) = file else { return };
    // Uploads are remembered by their plaintext name.
    let Ok(file) = client.reveal_file(&file) else {
        return notify(app, "New file", LOCKED);
    };
    let state = app.state::<AppState>();
    let ours = state.uploading.lock().unwrap_or_else(|e| e.into_inner()).contains(&file.name);
    if !ours && !file.name.starts_with(cloudbuffer_client::sync::CLIPBOARD_IMAGE_PREFIX) {
        notify(app, "New file", &file.name);
    }
}

/// A notification, when the user wants them.
fn notify(app: &AppHandle, title: &str, body: &str) {
    if app.state::<AppState>().settings().notifications {
        crate::notify::show(app, title, body);
    }
}
