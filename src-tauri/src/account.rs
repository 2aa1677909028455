//! Signing in and out, and what runs while signed in: the live-events
//! task and, when auto-sync is on, the clipboard sync engine.

use cloudbuffer_client::sync::{CancellationToken, Connection, SyncEngine, SyncHandle, SyncStatus};
use cloudbuffer_client::Client;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::error::{UiError, UiResult};
use crate::state::{Account, AppState, Settings};
use crate::status::SyncView;

/// Who is signed in where, for the header and the settings.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    /// Server URL.
    pub server: String,
    /// User name.
    pub username: String,
    /// The preferences.
    pub settings: Settings,
    /// The latest connection and sync state (the page missed their events).
    pub status: crate::status::StatusView,
}

/// Makes `client` (signed in) the app's account and starts its tasks.
pub async fn activate(app: &AppHandle, client: Client) -> UiResult<SessionInfo> {
    let state = app.state::<AppState>();
    let session = client.session().await.ok_or_else(UiError::signed_out)?;
    deactivate(app).await;
    let live = CancellationToken::new();
    let (task_app, task_client, task_live) = (app.clone(), client.clone(), live.clone());
    tauri::async_runtime::spawn(async move {
        let ended = crate::live::run(task_app.clone(), task_client, session.device_id, task_live).await;
        if ended == crate::live::Ended::SessionEnded {
            session_ended(&task_app).await;
        }
    });
    let settings = state.settings();
    let sync = if settings.auto_sync { start_sync(app, &client) } else { None };
    if sync.is_none() {
        crate::status::sync(app, SyncView::paused());
    }
    *state.account.lock().await =
        Some(Account { client: client.clone(), username: session.username.clone(), sync, live });
    crate::tray::refresh(app);
    let status = crate::status::current(app);
    Ok(SessionInfo { server: client.server().to_string(), username: session.username, settings, status })
}

/// Stops the account's tasks and forgets it here (not on the server).
pub async fn deactivate(app: &AppHandle) -> Option<Client> {
    let state = app.state::<AppState>();
    let account = state.account.lock().await.take()?;
    account.live.cancel();
    if let Some(sync) = account.sync {
        let _ = sync.stop().await;
    }
    // After the engine has stopped, so that its last report is cleared too.
    crate::status::clear(app);
    Some(account.client)
}

/// The server ended the session: back to the sign-in screen.
pub async fn session_ended(app: &AppHandle) {
    deactivate(app).await;
    let _ = app.state::<AppState>().store.clear();
    let message = UiError::from(cloudbuffer_client::ClientError::SessionExpired).message;
    let _ = app.emit("signed-out", message);
    crate::tray::refresh(app);
}

/// Turns clipboard sync on or off (saved).
pub async fn set_sync(app: &AppHandle, on: bool) -> UiResult<Settings> {
    let state = app.state::<AppState>();
    let settings = state.update_settings(|s| s.auto_sync = on)?;
    let mut guard = state.account.lock().await;
    if let Some(account) = guard.as_mut() {
        match (on, account.sync.is_some()) {
            (true, false) => account.sync = start_sync(app, &account.client),
            (false, true) => {
                if let Some(sync) = account.sync.take() {
                    let _ = sync.stop().await;
                }
                crate::status::sync(app, SyncView::paused());
            }
            _ => {}
        }
    }
    drop(guard);
    let _ = app.emit("settings", &settings);
    crate::tray::refresh(app);
    Ok(settings)
}

/// Starts the engine on the OS clipboard and forwards its status to the UI.
fn start_sync(app: &AppHandle, client: &Client) -> Option<SyncHandle> {
    let state = app.state::<AppState>();
    let started = state.clipboard().and_then(|clipboard| {
        SyncEngine::builder_shared(client.clone(), clipboard)
            // Not the CLI's folder: a `cloudbuffer sync` on the same machine
            // keeps its own outbox queue and state there.
            .state_dir(state.store.dir().join("desktop"))
            .build()
            .map_err(UiError::from)
    });
    let engine = match started {
        Ok(engine) => engine,
        Err(e) => {
            let view = SyncView { last_error: Some(e.message), ..SyncView::of(&stopped()) };
            crate::status::sync(app, view);
            return None;
        }
    };
    // Called from async code on Tauri's runtime, where the engine spawns.
    let handle = engine.spawn();
    let mut status = handle.status();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let view = SyncView::of(&status.borrow_and_update());
            crate::status::sync(&app, view);
            if status.changed().await.is_err() {
                return;
            }
        }
    });
    Some(handle)
}

fn stopped() -> SyncStatus {
    SyncStatus {
        connection: Connection::Stopped,
        last_error: None,
        queued: 0,
        sent: 0,
        received: 0,
        concealed_skipped: 0,
        connects: 0,
    }
}
