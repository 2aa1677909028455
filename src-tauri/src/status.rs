//! The connection and sync state the UI shows. Each change is sent as an
//! event (`connection`, `sync-status`) and kept, because a page that loads
//! later (at start-up, or again after the tray unloaded it) missed the
//! events: `session_info` hands it the latest. Every view carries a `seq`
//! so that the page keeps the newest whichever way it arrived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use cloudbuffer_client::sync::{Connection, SyncStatus};

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

/// The `sync-status` event.
#[derive(Debug, Clone, Serialize)]
pub struct SyncView {
    /// `connecting`, `online`, `offline`, `stopped` or `paused`.
    pub state: &'static str,
    /// Seconds to the next attempt when offline.
    pub retry_in: u64,
    /// Clips waiting to be sent.
    pub queued: usize,
    /// Clips sent by this device since sync started.
    pub sent: u64,
    /// Clips received since sync started.
    pub received: u64,
    /// The last problem, for people.
    pub last_error: Option<String>,
}

impl SyncView {
    pub(crate) fn paused() -> SyncView {
        SyncView { state: "paused", retry_in: 0, queued: 0, sent: 0, received: 0, last_error: None }
    }

    pub(crate) fn of(status: &SyncStatus) -> SyncView {
        let (state, retry_in) = match &status.connection {
            Connection::Connecting => ("connecting", 0),
            Connection::Connected => ("online", 0),
            Connection::Offline { retry_in } => ("offline", retry_in.as_secs().max(1)),
            Connection::Stopped => ("stopped", 0),
        };
        SyncView {
            state,
            retry_in,
            queued: status.queued,
            sent: status.sent,
            received: status.received,
            last_error: status.last_error.as_deref().map(for_desktop),
        }
    }
}

/// The sync engine's sentences tell CLI users to run `cloudbuffer e2e
/// unlock`; here the way to unlock is Settings.
fn for_desktop(message: &str) -> String {
    message.replace("run `cloudbuffer e2e unlock`", "unlock it in Settings → End-to-end encryption")
}

/// A view and its place in the order of changes.
#[derive(Debug, Clone, Serialize)]
pub struct Sequenced<T> {
    /// Higher is newer.
    pub seq: u64,
    /// The view itself.
    #[serde(flatten)]
    pub view: T,
}

/// The latest views, for a page that loads now.
#[derive(Debug, Clone, Serialize, Default)]
pub struct StatusView {
    /// The live connection, if it has been tried yet.
    pub connection: Option<Sequenced<ConnectionView>>,
    /// The sync engine, if it has reported yet.
    pub sync: Option<Sequenced<SyncView>>,
}

/// Managed by Tauri: what was last published.
#[derive(Default)]
pub struct Published {
    seq: AtomicU64,
    /// The connection view and when it was sent (its `retry_in` counts from then).
    connection: Mutex<Option<(Sequenced<ConnectionView>, Instant)>>,
    sync: Mutex<Option<Sequenced<SyncView>>>,
}

impl Published {
    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// Publishes a change of the live connection.
pub fn connection(app: &AppHandle, view: ConnectionView) {
    let published = app.state::<Published>();
    let view = Sequenced { seq: published.next(), view };
    let _ = app.emit("connection", &view);
    *published.connection.lock().unwrap_or_else(|e| e.into_inner()) = Some((view, Instant::now()));
}

/// Publishes a change of the sync engine.
pub fn sync(app: &AppHandle, view: SyncView) {
    let published = app.state::<Published>();
    let view = Sequenced { seq: published.next(), view };
    let _ = app.emit("sync-status", &view);
    *published.sync.lock().unwrap_or_else(|e| e.into_inner()) = Some(view);
}

/// Forgets the views (signed out: the next account starts afresh).
pub fn clear(app: &AppHandle) {
    let published = app.state::<Published>();
    *published.connection.lock().unwrap_or_else(|e| e.into_inner()) = None;
    *published.sync.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The latest views, with the time to the next connection attempt counted
/// from now.
pub fn current(app: &AppHandle) -> StatusView {
    let published = app.state::<Published>();
    let connection = published.connection.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let sync = published.sync.lock().unwrap_or_else(|e| e.into_inner()).clone();
    StatusView {
        connection: connection.map(|(mut c, sent)| {
            c.view.retry_in = c.view.retry_in.saturating_sub(sent.elapsed().as_secs());
            c
        }),
        sync,
    }
}
