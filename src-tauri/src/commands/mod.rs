//! The Tauri commands the UI calls: everything it does goes through here
//! to the client crate (the UI never speaks HTTP itself).

pub mod clips;
pub mod devices;
pub mod e2e;
pub mod files;
pub mod share;

use cloudbuffer_client::Client;
use cloudbuffer_protocol::Stats;
use tauri::{AppHandle, State};

use crate::account::{self, SessionInfo};
use crate::error::UiResult;
use crate::state::{AppState, Settings};

/// The signed-in account, if any.
#[tauri::command]
pub async fn session_info(app: AppHandle, state: State<'_, AppState>) -> UiResult<Option<SessionInfo>> {
    state.restored().await;
    let guard = state.account.lock().await;
    Ok(guard.as_ref().map(|a| SessionInfo {
        server: a.client.server().to_string(),
        username: a.username.clone(),
        settings: state.settings(),
        status: crate::status::current(&app),
    }))
}

/// Signs in (or creates the account when `create`), remembered across restarts.
#[tauri::command]
pub async fn sign_in(
    app: AppHandle,
    state: State<'_, AppState>,
    server: String,
    username: String,
    password: String,
    create: bool,
) -> UiResult<SessionInfo> {
    let client = Client::new(&server)?.with_store(state.store.clone());
    let device = format!("{} (desktop)", gethostname::gethostname().to_string_lossy());
    let username = username.trim();
    if create {
        client.register(username, &password, &device).await?;
    } else {
        client.login(username, &password, &device).await?;
    }
    account::activate(&app, client).await
}

/// Signs this device out on the server (when reachable) and here.
#[tauri::command]
pub async fn sign_out(app: AppHandle, state: State<'_, AppState>) -> UiResult<()> {
    match account::deactivate(&app).await {
        Some(client) => {
            // The local session is gone even when the server cannot be told.
            let _ = client.logout().await;
        }
        None => state.store.clear()?,
    }
    crate::tray::refresh(&app);
    Ok(())
}

/// The user's usage.
#[tauri::command]
pub async fn stats(state: State<'_, AppState>) -> UiResult<Stats> {
    Ok(state.client().await?.stats().await?)
}

/// Turns clipboard sync on or off.
#[tauri::command]
pub async fn set_auto_sync(app: AppHandle, on: bool) -> UiResult<Settings> {
    account::set_sync(&app, on).await
}

/// Turns notifications on or off.
#[tauri::command]
pub async fn set_notifications(state: State<'_, AppState>, on: bool) -> UiResult<Settings> {
    state.update_settings(|s| s.notifications = on)
}

/// The UI has rendered its first screen: a window waiting for that (at
/// start-up, or reopened from the tray) shows now (see `window.rs`).
#[tauri::command]
pub fn ui_rendered(app: AppHandle) {
    crate::window::page_rendered(&app);
}

/// The UI painted its first frame: with `CLOUDBUFFER_DESKTOP_TIMING` set,
/// prints the wall-clock time (Unix ms) so a script can measure start-up,
/// and the UI's own `marks` (Unix ms of each step of its start) on a
/// second line, `start-marks name=ms ...`, to tell where the time went.
/// The tray icon is made now rather than before the window: without a
/// StatusNotifier host its library delayed the first paint by about half a
/// second (measured with the display's GTK visuals cached, as on a desktop).
#[tauri::command]
pub fn ui_ready(app: AppHandle, marks: Option<Vec<(String, f64)>>) {
    if std::env::var_os("CLOUDBUFFER_DESKTOP_TIMING").is_some() {
        eprintln!("first-paint {}", crate::unix_ms());
        let marks: Vec<String> =
            marks.unwrap_or_default().iter().map(|(k, v)| format!("{k}={v:.0}")).collect();
        eprintln!("start-marks {}", marks.join(" "));
    }
    static TRAY: std::sync::Once = std::sync::Once::new();
    TRAY.call_once(|| {
        let handle = app.clone();
        let _ = app.run_on_main_thread(move || {
            if let Err(e) = crate::tray::create(&handle, set_sync_from_tray) {
                eprintln!("cloudbuffer-desktop: no tray icon ({e}); closing the window quits");
            }
        });
    });
}

/// The tray's "Sync clipboard" item.
fn set_sync_from_tray(app: &AppHandle, on: bool) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let _ = crate::account::set_sync(&app, on).await;
    });
}
