//! What the engine's tasks share: the client, the clipboard, the queue,
//! the echo-suppression state and the "newest clip seen" marker (kept in
//! `sync-state.json` so a restarted engine does not apply old clips again).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cloudbuffer_protocol::Clip;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};

use super::clipboard::Clipboard;
use super::content::ContentKey;
use super::queue::Queue;
use super::{SyncConfig, SyncStatus};
use crate::api::Client;
use crate::error::{ClientError, Result};

/// The watcher's view of the local clipboard.
pub(super) struct LocalState {
    /// The content last seen on (or put on) the local clipboard. A local
    /// read equal to it is not a change: this is the echo suppression.
    pub last: Option<ContentKey>,
    /// Polling: when to read the image again while there is no text.
    pub image_next: Instant,
    /// Polling: the current image re-read interval (grows while unchanged).
    pub image_every: Duration,
}

/// The newest clip this device applied or sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(super) struct Marker {
    pub clip_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub(super) struct Shared {
    pub client: Client,
    pub clipboard: Arc<dyn Clipboard>,
    pub config: SyncConfig,
    pub device_id: String,
    pub queue: Queue,
    pub local: Mutex<LocalState>,
    marker: Mutex<Option<Marker>>,
    marker_path: PathBuf,
    pub status: watch::Sender<SyncStatus>,
    /// Rung when the queue has something to send.
    pub wake: Notify,
}

pub(super) const IMAGE_EVERY_MIN: Duration = Duration::from_secs(1);
pub(super) const IMAGE_EVERY_MAX: Duration = Duration::from_secs(4);

impl Shared {
    pub async fn open(
        client: Client,
        clipboard: Arc<dyn Clipboard>,
        config: SyncConfig,
        status: watch::Sender<SyncStatus>,
    ) -> Result<Shared> {
        let device_id = client.session().await.ok_or(ClientError::NotLoggedIn)?.device_id;
        let dir = config.state_dir.join("outbox-queue");
        let queue = Queue::open(&dir).map_err(|e| ClientError::io(&dir, e))?;
        let marker_path = config.state_dir.join("sync-state.json");
        let marker = std::fs::read(&marker_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        status.send_modify(|s| s.queued = queue.len());
        Ok(Shared {
            client,
            clipboard,
            config,
            device_id,
            queue,
            local: Mutex::new(LocalState {
                last: None,
                image_next: Instant::now(),
                image_every: IMAGE_EVERY_MIN,
            }),
            marker: Mutex::new(marker),
            marker_path,
            status,
            wake: Notify::new(),
        })
    }

    pub fn local(&self) -> MutexGuard<'_, LocalState> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True if `clip` came from this device.
    pub fn is_ours(&self, clip: &Clip) -> bool {
        clip.origin_device_id.as_deref() == Some(self.device_id.as_str())
    }

    /// True if `clip` is newer than the newest clip applied or sent here.
    pub fn is_newer(&self, clip: &Clip) -> bool {
        match &*self.marker.lock().unwrap_or_else(|e| e.into_inner()) {
            None => true,
            Some(marker) => clip.id != marker.clip_id && clip.created_at >= marker.created_at,
        }
    }

    /// Records `clip` as seen (if it is newer) and saves the marker.
    pub fn mark_seen(&self, clip: &Clip) {
        if !self.is_newer(clip) {
            return;
        }
        let marker = Marker { clip_id: clip.id.clone(), created_at: clip.created_at };
        if let Ok(json) = serde_json::to_vec(&marker) {
            let temp = self.marker_path.with_extension("json.tmp");
            if std::fs::write(&temp, json).is_ok() {
                let _ = std::fs::rename(&temp, &self.marker_path);
            }
        }
        *self.marker.lock().unwrap_or_else(|e| e.into_inner()) = Some(marker);
    }

    /// Publishes a status change.
    pub fn status(&self, change: impl FnOnce(&mut SyncStatus)) {
        self.status.send_modify(change);
    }

    /// Shows an error in the status.
    pub fn report(&self, error: impl std::fmt::Display) {
        let message = error.to_string();
        self.status(|s| s.last_error = Some(message));
    }

    /// Runs clipboard work on a blocking thread.
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Shared) -> T + Send + 'static,
    ) -> T {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || work(&shared)).await.expect("clipboard work panicked")
    }
}
