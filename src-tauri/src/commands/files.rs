//! The files view: uploads (picker and drag and drop) with per-file
//! progress, the list, downloads through a save dialog, deleting.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudbuffer_client::transfer::file_name;
use cloudbuffer_protocol::FileInfo;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, State};
use tauri_plugin_dialog::DialogExt;

use crate::error::{UiError, UiResult};
use crate::state::AppState;

/// Test seam: when set, the file picker answers these paths (`:`-separated)
/// instead of opening a dialog that WebDriver cannot reach.
pub const PICK_ENV: &str = "CLOUDBUFFER_DESKTOP_PICK";
/// Test seam: when set, downloads are saved in this folder without a dialog.
pub const SAVE_DIR_ENV: &str = "CLOUDBUFFER_DESKTOP_SAVE_DIR";

/// The `transfer` event: one per progress step of an upload or download.
#[derive(Debug, Clone, Serialize)]
pub struct TransferView {
    /// Unique per transfer.
    pub id: u64,
    /// `upload` or `download`.
    pub direction: &'static str,
    /// The file's name.
    pub name: String,
    /// Bytes done.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    /// Why it failed.
    pub error: Option<String>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A file as the UI lists it: an encrypted one's name, type and size
/// decrypted when this computer holds the key.
#[derive(Debug, Clone, Serialize)]
pub struct FileView {
    /// The file.
    #[serde(flatten)]
    pub file: FileInfo,
    /// Why an encrypted file is shown without its name
    /// ([`crate::commands::clips::sealed`]); `None` when it is readable.
    pub locked: Option<&'static str>,
}

/// The user's files, newest first.
#[tauri::command]
pub async fn list_files(state: State<'_, AppState>) -> UiResult<Vec<FileView>> {
    let client = state.client().await?;
    Ok(client
        .files()
        .await?
        .into_iter()
        .map(|file| match client.reveal_file(&file) {
            Ok(file) => FileView { file, locked: None },
            Err(e) => FileView { file, locked: Some(crate::commands::clips::sealed(&e)) },
        })
        .collect())
}

/// Deletes a file.
#[tauri::command]
pub async fn delete_file(state: State<'_, AppState>, id: String) -> UiResult<()> {
    Ok(state.client().await?.delete_file(&id).await?)
}

/// Opens the file picker and uploads what was chosen; returns how many.
#[tauri::command]
pub async fn pick_files(app: AppHandle) -> UiResult<usize> {
    let paths: Vec<PathBuf> = match std::env::var_os(PICK_ENV) {
        Some(list) => std::env::split_paths(&list).collect(),
        None => {
            let dialog = app.dialog().file().set_title("Upload files");
            tokio::task::spawn_blocking(move || dialog.blocking_pick_files())
                .await
                .map_err(|e| UiError::new(e.to_string()))?
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.into_path().ok())
                .collect()
        }
    };
    let count = paths.len();
    upload_paths(&app, paths);
    Ok(count)
}

/// Uploads each of `paths` on its own task, reporting `transfer` events.
/// Anything that is not a file (a dropped folder) fails at once, saying why.
pub fn upload_paths(app: &AppHandle, paths: Vec<PathBuf>) {
    let (files, others): (Vec<PathBuf>, Vec<PathBuf>) = paths.into_iter().partition(|p| p.is_file());
    for path in others {
        let name = file_name(&path).unwrap_or_else(|_| path.to_string_lossy().into_owned());
        let why = if path.is_dir() {
            "a folder: only files can be uploaded"
        } else {
            "not a file that can be read"
        };
        Reporter::new(app, "upload", &name).finish(Some(UiError::new(why)));
    }
    for path in files {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let name = file_name(&path).unwrap_or_default();
            let reporter = Reporter::new(&app, "upload", &name);
            let result = async {
                let client = app.state::<AppState>().client().await?;
                remember_upload(&app, &name, true);
                let uploaded = client.upload_file(&path, reporter.progress()).await;
                // The server's file.created event may come a little after.
                let later = app.clone();
                let forget = name.clone();
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    remember_upload(&later, &forget, false);
                });
                uploaded.map_err(UiError::from)
            }
            .await;
            reporter.finish(result.err());
        });
    }
}

fn remember_upload(app: &AppHandle, name: &str, on: bool) {
    let state = app.state::<AppState>();
    let mut names = state.uploading.lock().unwrap_or_else(|e| e.into_inner());
    if on {
        names.insert(name.to_string());
    } else {
        names.remove(name);
    }
}

/// Asks where to save file `id` and downloads it there; `true` when saved.
#[tauri::command]
pub async fn download_file(app: AppHandle, id: String, name: String) -> UiResult<bool> {
    let client = app.state::<AppState>().client().await?;
    // The name is the uploader's: never a path, a hidden file or a device.
    let safe = cloudbuffer_client::safe_file_name(&name);
    let dest = match std::env::var_os(SAVE_DIR_ENV) {
        Some(dir) => Some(PathBuf::from(dir).join(&safe)),
        None => {
            let dialog = app.dialog().file().set_title("Save as").set_file_name(&safe);
            tokio::task::spawn_blocking(move || dialog.blocking_save_file())
                .await
                .map_err(|e| UiError::new(e.to_string()))?
                .and_then(|p| p.into_path().ok())
        }
    };
    let Some(dest) = dest else { return Ok(false) };
    let reporter = Reporter::new(&app, "download", &name);
    let result = client.download_file(&id, &dest, reporter.progress()).await.map_err(UiError::from);
    let saved = result.is_ok();
    reporter.finish(result.err());
    Ok(saved)
}

/// Emits `transfer` events, at most ten a second while running.
struct Reporter {
    app: AppHandle,
    view: Arc<Mutex<(TransferView, Instant)>>,
}

impl Reporter {
    fn new(app: &AppHandle, direction: &'static str, name: &str) -> Reporter {
        let view = TransferView {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            direction,
            name: name.to_string(),
            done: 0,
            total: 0,
            state: "running",
            error: None,
        };
        let _ = app.emit("transfer", &view);
        Reporter { app: app.clone(), view: Arc::new(Mutex::new((view, Instant::now()))) }
    }

    fn progress(&self) -> cloudbuffer_client::transfer::Progress {
        let (app, view) = (self.app.clone(), self.view.clone());
        Arc::new(move |done, total| {
            let mut guard = view.lock().unwrap_or_else(|e| e.into_inner());
            guard.0.done = done;
            guard.0.total = total;
            if guard.1.elapsed() >= Duration::from_millis(100) || done == total {
                guard.1 = Instant::now();
                let _ = app.emit("transfer", &guard.0);
            }
        })
    }

    fn finish(self, error: Option<UiError>) {
        let mut guard = self.view.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.state = if error.is_some() { "failed" } else { "done" };
        guard.0.error = error.map(|e| e.message);
        let _ = self.app.emit("transfer", &guard.0);
    }
}
