//! The clipboard sync engine: mirrors the local clipboard and the user's
//! shared buffer in both directions.
//!
//! - [`Clipboard`]: what the engine needs from a clipboard, with an
//!   in-memory [`MemoryClipboard`] and the OS one, [`ArboardClipboard`].
//! - [`SyncEngine`]: built with [`SyncEngine::builder`], driven by
//!   [`SyncEngine::run`] or [`SyncEngine::spawn`] (a [`SyncHandle`] with a
//!   [`SyncStatus`] stream for a desktop app to show).
//!
//! How it works (one file per job):
//! - `local`: notices local changes (change events where the backend has
//!   them, else a poll every `poll_interval`, comparing content hashes) and
//!   queues each new text or image on disk (`queue`);
//! - `remote`: one WebSocket to the server's live events, reconnected with
//!   exponential backoff and jitter; on (re)connect it first sends the
//!   queue, then catches up from the clip history; each `clip.created` of
//!   another device is put on the local clipboard (`apply`);
//! - `content`: what "the same content" means (normalized text, decoded
//!   pixels), the basis of echo suppression.

mod apply;
mod arboard_backend;
mod clipboard;
pub mod content;
mod local;
pub mod queue;
mod remote;
mod send;
mod state;
#[cfg(all(unix, not(any(target_os = "macos", target_os = "android", target_os = "emscripten"))))]
mod x11;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
pub use tokio_util::sync::CancellationToken;

pub use arboard_backend::ArboardClipboard;
pub use clipboard::{Clipboard, ClipboardError, Image, MemoryClipboard};
pub(crate) use remote::random_fraction;
pub use remote::Backoff;

use crate::api::Client;
use crate::error::{ClientError, Result};

/// File clips made from a clipboard (images, text over 1 MiB) are named
/// `clipboard-<UTC time>.<ext>`; they go to the clipboard, not the inbox.
pub const CLIPBOARD_IMAGE_PREFIX: &str = "clipboard-";

/// Settings of a [`SyncEngine`].
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Where the outbox queue (`outbox-queue/`) and the sync state
    /// (`sync-state.json`) are kept.
    pub state_dir: PathBuf,
    /// How often a clipboard without change events is read [250 ms].
    pub poll_interval: Duration,
    /// Use the clipboard's change events when it has them [true].
    pub use_events: bool,
    /// First reconnection delay, doubled up to `backoff_max` [0.5 s].
    pub backoff_min: Duration,
    /// Longest reconnection delay [30 s].
    pub backoff_max: Duration,
    /// A WebSocket silent this long (no event, no ping) is reconnected [75 s].
    pub idle_timeout: Duration,
    /// Image clips over this size are not put on the clipboard [32 MiB].
    pub max_image_bytes: u64,
    /// Files appearing here are uploaded once they stop changing.
    pub outbox: Option<PathBuf>,
    /// Incoming file clips of other devices are saved here.
    pub inbox: Option<PathBuf>,
    /// How long an outbox file must stay unchanged before it is sent [1 s].
    pub settle: Duration,
}

impl SyncConfig {
    /// Defaults, keeping state in `state_dir`.
    pub fn new(state_dir: impl Into<PathBuf>) -> SyncConfig {
        SyncConfig {
            state_dir: state_dir.into(),
            poll_interval: Duration::from_millis(250),
            use_events: true,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            max_image_bytes: 32 << 20,
            outbox: None,
            inbox: None,
            settle: Duration::from_secs(1),
        }
    }
}

/// The connection to the server, as a desktop app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Connecting for the first time.
    Connecting,
    /// Live: local changes are sent at once, remote ones applied.
    Connected,
    /// Unreachable; local changes are queued. Next attempt after `retry_in`.
    Offline {
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// The engine ended.
    Stopped,
}

/// What the engine is doing, published on every change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStatus {
    /// The connection.
    pub connection: Connection,
    /// The last thing that went wrong, in words for people.
    pub last_error: Option<String>,
    /// Clips waiting in the outbox queue.
    pub queued: usize,
    /// Clips this engine sent.
    pub sent: u64,
    /// Clips of other devices put on the local clipboard or in the inbox.
    pub received: u64,
    /// Local changes not sent because they were marked secret.
    pub concealed_skipped: u64,
    /// Successful (re)connections.
    pub connects: u64,
}

/// Builds a [`SyncEngine`].
pub struct SyncBuilder {
    client: Client,
    clipboard: Arc<dyn Clipboard>,
    config: SyncConfig,
}

impl SyncBuilder {
    /// Replaces all settings.
    pub fn config(mut self, config: SyncConfig) -> Self {
        self.config = config;
        self
    }
    /// See [`SyncConfig::state_dir`].
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.state_dir = dir.into();
        self
    }
    /// See [`SyncConfig::poll_interval`] (at least 10 ms).
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.config.poll_interval = every.max(Duration::from_millis(10));
        self
    }
    /// See [`SyncConfig::use_events`].
    pub fn use_events(mut self, yes: bool) -> Self {
        self.config.use_events = yes;
        self
    }
    /// See [`SyncConfig::backoff_min`] and [`SyncConfig::backoff_max`].
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.config.backoff_min = min;
        self.config.backoff_max = max.max(min);
        self
    }
    /// See [`SyncConfig::outbox`].
    pub fn outbox(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.outbox = Some(dir.into());
        self
    }
    /// See [`SyncConfig::inbox`].
    pub fn inbox(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.inbox = Some(dir.into());
        self
    }
    /// See [`SyncConfig::settle`].
    pub fn settle(mut self, after: Duration) -> Self {
        self.config.settle = after;
        self
    }

    /// The engine. Fails if the outbox and the inbox are one folder (every
    /// received file would be sent back).
    pub fn build(self) -> Result<SyncEngine> {
        if let (Some(outbox), Some(inbox)) = (&self.config.outbox, &self.config.inbox) {
            let same = match (outbox.canonicalize(), inbox.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => outbox == inbox,
            };
            if same {
                return Err(ClientError::Invalid(
                    "the outbox and the inbox must be different folders".into(),
                ));
            }
        }
        let (status, _) = watch::channel(SyncStatus {
            connection: Connection::Connecting,
            last_error: None,
            queued: 0,
            sent: 0,
            received: 0,
            concealed_skipped: 0,
            connects: 0,
        });
        Ok(SyncEngine { client: self.client, clipboard: self.clipboard, config: self.config, status })
    }
}

/// Mirrors the local clipboard and the shared buffer. See the module docs.
pub struct SyncEngine {
    client: Client,
    clipboard: Arc<dyn Clipboard>,
    config: SyncConfig,
    status: watch::Sender<SyncStatus>,
}

/// A running engine.
pub struct SyncHandle {
    status: watch::Receiver<SyncStatus>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl SyncHandle {
    /// The status stream.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Waits until `ready` holds for the status (or the engine stopped).
    pub async fn wait_for(&self, ready: impl Fn(&SyncStatus) -> bool) -> SyncStatus {
        let mut status = self.status.clone();
        let seen = status.wait_for(|s| ready(s) || s.connection == Connection::Stopped).await;
        seen.map(|s| s.clone()).unwrap_or_else(|_| self.status.borrow().clone())
    }

    /// True once the engine ended (stopped, or a fatal error).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the engine and returns how it ended.
    pub async fn stop(self) -> Result<()> {
        self.cancel.cancel();
        self.task.await.unwrap_or_else(|e| Err(ClientError::Invalid(format!("sync engine crashed: {e}"))))
    }
}

impl SyncEngine {
    /// An engine for the signed-in `client` and a clipboard, keeping its
    /// state in the client's config dir (see [`crate::SessionStore`]) unless
    /// told otherwise.
    pub fn builder(client: Client, clipboard: impl Clipboard) -> SyncBuilder {
        SyncEngine::builder_shared(client, Arc::new(clipboard))
    }

    /// Like [`SyncEngine::builder`], for a clipboard already shared.
    pub fn builder_shared(client: Client, clipboard: Arc<dyn Clipboard>) -> SyncBuilder {
        let dir = crate::SessionStore::default_location()
            .map(|store| store.dir().to_path_buf())
            .unwrap_or_else(|_| PathBuf::from("."));
        SyncBuilder { client, clipboard, config: SyncConfig::new(dir) }
    }

    /// The status stream (also available from the [`SyncHandle`]).
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// Runs on the current task until `cancel` fires (`Ok`) or the session
    /// ends (`Err(SessionExpired)`, `NotLoggedIn`); network trouble is
    /// never fatal: it is retried and shown in the status.
    pub async fn run(self, cancel: CancellationToken) -> Result<()> {
        let status = self.status.clone();
        let result = self.run_inner(cancel.clone()).await;
        status.send_modify(|s| {
            s.connection = Connection::Stopped;
            if let Err(e) = &result {
                s.last_error = Some(e.to_string());
            }
        });
        result
    }

    async fn run_inner(self, cancel: CancellationToken) -> Result<()> {
        let shared =
            Arc::new(state::Shared::open(self.client, self.clipboard, self.config, self.status).await?);
        local::baseline(&shared).await;
        let tasks = cancel.child_token();
        let mut local = tokio::spawn(local::watch(shared.clone(), tasks.clone()));
        let outbox = shared.config.outbox.clone().map(|dir| {
            let (client, settle, status) =
                (shared.client.clone(), shared.config.settle, shared.status.clone());
            let report = move |error: String| status.send_modify(|s| s.last_error = Some(error));
            tokio::spawn(crate::watch::run_outbox(client, dir, settle, tasks.clone(), report))
        });
        let mut local_done = false;
        let result = tokio::select! {
            result = remote::run(shared.clone(), cancel.clone()) => result,
            _ = &mut local => {
                local_done = true;
                match cancel.is_cancelled() {
                    true => Ok(()),
                    false => Err(ClientError::Invalid("the clipboard watcher stopped".into())),
                }
            }
        };
        tasks.cancel();
        if !local_done {
            let _ = local.await;
        }
        if let Some(outbox) = outbox {
            let _ = outbox.await;
        }
        result
    }

    /// Runs on a new task.
    pub fn spawn(self) -> SyncHandle {
        let cancel = CancellationToken::new();
        let status = self.status();
        let task = tokio::spawn(self.run(cancel.clone()));
        SyncHandle { status, cancel, task }
    }
}
