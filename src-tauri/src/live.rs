//! Live events: one WebSocket to the server's `/api/v1/events`, kept open
//! with exponential backoff while signed in. Every event is passed to the
//! UI (`server-event`) so its lists stay current; the connection state is
//! published as `connection` (the offline banner); clips and files from
//! other devices raise a notification when the user wants them.

use std::time::Duration;

use cloudbuffer_client::sync::{Backoff, CancellationToken};
use cloudbuffer_client::{Client, ClientError};
use cloudbuffer_protocol::{ClipKind, Event, FileInfo};
use futures_util::StreamExt;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};

use crate::state::AppState;

/// The `connection` event.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    /// True while the live connection is up.
    pub online: bool,
    /// Seconds until the next attempt when offline.
    pub retry_in: u64,
    /// Why it is offline, for people.
    pub message: Option<String>,
}

/// A WebSocket silent this long is considered dead (the server pings every few seconds).
const IDLE: Duration = Duration::from_secs(75);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Runs until `cancel` fires or the session ends (then the app signs out).
pub async fn run(app: AppHandle, client: Client, device_id: String, cancel: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let message = match connect(&client).await {
            Ok(socket) => {
                backoff.reset();
                crate::status::connection(&app, ConnectionView { online: true, retry_in: 0, message: None });
                // Anything may have changed while we were away.
                let _ = app.emit("server-event", serde_json::json!({"type": "resync"}));
                match listen(&app, socket, &device_id, &cancel).await {
                    None => return,
                    Some(message) => message,
                }
            }
            Err(ClientError::SessionExpired | ClientError::NotLoggedIn) => {
                crate::account::session_ended(&app).await;
                return;
            }
            Err(e) => crate::error::UiError::from(e).message,
        };
        let delay = backoff.next_delay();
        let retry_in = delay.as_secs().max(1);
        let view = ConnectionView { online: false, retry_in, message: Some(message) };
        crate::status::connection(&app, view);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

async fn connect(client: &Client) -> Result<Socket, ClientError> {
    let bad = |detail: String| ClientError::BadResponse { url: client.server().into(), detail };
    let token = client.access_token().await?;
    let mut request = client.events_url().into_client_request().map_err(|e| bad(e.to_string()))?;
    let value = format!("Bearer {token}").parse().map_err(|_| bad("unusable token".into()))?;
    request.headers_mut().insert("authorization", value);
    let unreachable = |reason: String| ClientError::Unreachable { url: client.server().into(), reason };
    match tokio::time::timeout(Duration::from_secs(15), tokio_tungstenite::connect_async(request)).await {
        Err(_) => Err(unreachable("timed out".into())),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) if response.status() == 401 => {
            // Refresh (or learn that the session ended) with an ordinary request.
            client.me().await?;
            Err(bad("live events refused the token".into()))
        }
        Ok(Err(tungstenite::Error::Io(e))) => Err(unreachable(match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            _ => e.to_string(),
        })),
        Ok(Err(e)) => Err(ClientError::Interrupted(format!("live events: {e}"))),
    }
}

/// The server sends a file clip's `file.created`, then the deletions the
/// upload caused (evictions, purges), then its `clip.created`: a new file is
/// announced only when no clip of it follows this soon.
const FILE_CLIP_WAIT: Duration = Duration::from_millis(300);

/// Reads events until the connection ends (`Some(why)`) or `cancel` (`None`).
async fn listen(
    app: &AppHandle,
    mut socket: Socket,
    device_id: &str,
    cancel: &CancellationToken,
) -> Option<String> {
    // A file.created not announced yet: it may be a file clip's.
    let mut pending: Option<FileInfo> = None;
    loop {
        let wait = if pending.is_some() { FILE_CLIP_WAIT } else { IDLE };
        let message = tokio::select! {
            _ = cancel.cancelled() => {
                let _ = socket.close(None).await;
                return None;
            }
            next = tokio::time::timeout(wait, socket.next()) => match next {
                Err(_) if pending.is_some() => {
                    announce_file(app, pending.take());
                    continue;
                }
                Err(_) => return Some("The server stopped answering.".into()),
                Ok(None) => {
                    announce_file(app, pending.take());
                    return Some("The server closed the connection.".into());
                }
                Ok(Some(Err(e))) => {
                    announce_file(app, pending.take());
                    return Some(format!("The connection broke ({e})."));
                }
                Ok(Some(Ok(message))) => message,
            },
        };
        let Message::Text(text) = message else { continue };
        let Ok(event) = serde_json::from_str::<Event>(&text) else { continue };
        let clip_of_pending = matches!((&event, &pending),
            (Event::ClipCreated { clip }, Some(file)) if clip.file.as_ref().is_some_and(|f| f.id == file.id));
        let between =
            matches!(event, Event::ClipDeleted { .. } | Event::FileDeleted { .. } | Event::Stats { .. });
        if clip_of_pending {
            pending = None;
        } else if !between {
            announce_file(app, pending.take());
        }
        match &event {
            Event::FileCreated { file } => pending = Some(file.clone()),
            Event::ClipCreated { clip } if clip.origin_device_id.as_deref() != Some(device_id) => {
                let (title, body) = match (&clip.kind, &clip.file) {
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

/// A new file that is not a clip, unless this app is uploading it.
fn announce_file(app: &AppHandle, file: Option<FileInfo>) {
    let Some(file) = file else { return };
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
