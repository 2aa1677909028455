//! The app's state: where the session lives, the signed-in account (its
//! client, the running sync engine and live-events task) and the settings.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use cloudbuffer_client::sync::{ArboardClipboard, CancellationToken, Clipboard, SyncHandle};
use cloudbuffer_client::{Client, SessionStore};
use serde::{Deserialize, Serialize};

use crate::error::{UiError, UiResult};

/// Preferences kept in `desktop-settings.json` beside the session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Settings {
    /// Mirror the clipboard with the server.
    pub auto_sync: bool,
    /// Show a notification when a clip or file arrives from another device.
    pub notifications: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { auto_sync: true, notifications: true }
    }
}

/// The signed-in account.
pub struct Account {
    /// The API client (it saves refreshed tokens to the store).
    pub client: Client,
    /// User name, for the header.
    pub username: String,
    /// The running sync engine, when auto-sync is on.
    pub sync: Option<SyncHandle>,
    /// Stops the live-events task.
    pub live: CancellationToken,
}

/// Managed by Tauri; shared by every command.
pub struct AppState {
    /// Where the session and the settings are saved.
    pub store: SessionStore,
    settings: Mutex<Settings>,
    /// `None` until signed in.
    pub account: tokio::sync::Mutex<Option<Account>>,
    clipboard: OnceLock<Result<Arc<dyn Clipboard>, String>>,
    /// Names of files this app is uploading (so their arrival is not announced).
    pub uploading: Mutex<HashSet<String>>,
    /// True once the saved session (if any) is restored: the UI asks who is
    /// signed in only then, while the window starts meanwhile.
    restored: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// State over `store`, with the settings saved there.
    pub fn new(store: SessionStore) -> AppState {
        let settings = std::fs::read(store.dir().join("desktop-settings.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        AppState {
            store,
            settings: Mutex::new(settings),
            account: tokio::sync::Mutex::new(None),
            clipboard: OnceLock::new(),
            uploading: Mutex::new(HashSet::new()),
            restored: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes and saves the settings.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) -> UiResult<Settings> {
        let mut settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut settings);
        let dir = self.store.dir();
        std::fs::create_dir_all(dir)
            .and_then(|()| {
                std::fs::write(dir.join("desktop-settings.json"), serde_json::to_vec_pretty(&*settings)?)
            })
            .map_err(|e| UiError::new(format!("Cannot save the settings in {}: {e}.", dir.display())))?;
        Ok(settings.clone())
    }

    /// Marks the saved session restored (or found missing or unusable).
    pub fn set_restored(&self) {
        self.restored.send_replace(true);
    }

    /// Waits until the saved session is restored.
    pub async fn restored(&self) {
        let _ = self.restored.subscribe().wait_for(|done| *done).await;
    }

    /// The signed-in client.
    pub async fn client(&self) -> UiResult<Client> {
        self.account.lock().await.as_ref().map(|a| a.client.clone()).ok_or_else(UiError::signed_out)
    }

    /// The OS clipboard, opened once and kept for the app's life (on X11
    /// the content we put there lives only as long as we do).
    pub fn clipboard(&self) -> UiResult<Arc<dyn Clipboard>> {
        self.clipboard
            .get_or_init(|| {
                ArboardClipboard::new()
                    .map(|c| Arc::new(c) as Arc<dyn Clipboard>)
                    .map_err(|e| format!("The clipboard is not available: {e}."))
            })
            .clone()
            .map_err(UiError::new)
    }
}
