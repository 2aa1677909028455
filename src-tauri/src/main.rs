//! Cloud Buffer for the desktop: a Tauri 2 shell around the client crate.
//! The UI (plain HTML/CSS/JS in `ui/`, embedded at build time) calls the
//! commands in [`commands`] and listens to the events documented there;
//! it never talks HTTP itself.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod account;
mod commands;
mod error;
mod live;
mod notify;
mod state;
mod status;
mod tray;
mod unload;
mod window;

use cloudbuffer_client::{Client, SessionStore};
use tauri::{DragDropEvent, Emitter, Manager, WindowEvent};

use crate::state::AppState;

fn main() {
    timing_mark("main");
    // A list of clips needs no GPU compositing: without it WebKitGTK's web
    // process uses about 100 MB less memory (measured under X11). WebKitWebDriver's
    // screenshots need compositing: the desktop test takes X screenshots instead.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    let store = match SessionStore::default_location() {
        Ok(store) => store,
        Err(e) => {
            eprintln!("cloudbuffer-desktop: {e}");
            std::process::exit(2);
        }
    };
    let builder = tauri::Builder::default().plugin(tauri_plugin_dialog::init());
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(tauri_plugin_notification::init());
    builder
        .manage(AppState::new(store))
        .manage(status::Published::default())
        .invoke_handler(tauri::generate_handler![
            commands::session_info,
            commands::sign_in,
            commands::sign_out,
            commands::stats,
            commands::set_auto_sync,
            commands::set_notifications,
            commands::ui_ready,
            commands::ui_rendered,
            commands::clips::list_clips,
            commands::clips::use_clip,
            commands::clips::send_clipboard_now,
            commands::clips::copy_to_clipboard,
            commands::clips::delete_clip,
            commands::files::list_files,
            commands::files::delete_file,
            commands::files::pick_files,
            commands::files::download_file,
            commands::share::create_share,
            commands::share::revoke_share,
            commands::devices::list_devices,
            commands::devices::revoke_device,
            commands::devices::create_pairing,
            commands::e2e::e2e_status,
            commands::e2e::e2e_enable,
            commands::e2e::e2e_unlock,
            commands::e2e::e2e_lock,
            commands::e2e::e2e_change_passphrase,
        ])
        .setup(|app| {
            timing_mark("setup");
            // The tray icon comes once the UI has painted (commands::ui_ready);
            // the window, made hidden, once the UI has rendered (ui_rendered)
            // or after a few seconds whatever happens.
            restore(app.handle());
            window::starting(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| match event {
            WindowEvent::CloseRequested { api, .. }
                if window.app_handle().try_state::<tray::TrayItems>().is_some_and(|t| t.shown) =>
            {
                // Keep syncing in the tray.
                api.prevent_close();
                let _ = window.hide();
                unload::hidden(window.app_handle());
            }
            WindowEvent::DragDrop(drop) => {
                let app = window.app_handle();
                match drop {
                    // The overlay names what is about to be uploaded.
                    DragDropEvent::Enter { paths, .. } => {
                        let names: Vec<String> = paths.iter().map(|p| drop_name(p)).collect();
                        let _ = app.emit("drag", names);
                    }
                    DragDropEvent::Leave => {
                        let _ = app.emit("drag", Vec::<String>::new());
                    }
                    DragDropEvent::Drop { paths, .. } => {
                        let _ = app.emit("drag", Vec::<String>::new());
                        commands::files::upload_paths(app, paths.clone());
                    }
                    _ => {}
                }
            }
            _ => {}
        })
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            // No display, no WebKit: one line, not a panic.
            eprintln!("cloudbuffer-desktop: cannot start: {e}");
            std::process::exit(1);
        });
}

/// With `CLOUDBUFFER_DESKTOP_TIMING` set, prints `mark NAME <unix ms>` on
/// stderr: bench/desktop.sh's steps of the start-up (see commands::ui_ready).
fn timing_mark(name: &str) {
    if std::env::var_os("CLOUDBUFFER_DESKTOP_TIMING").is_some() {
        eprintln!("mark {name} {}", unix_ms());
    }
}

/// Wall-clock time in Unix milliseconds, as the start-up timing lines print it.
fn unix_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis()
}

/// A dragged path's last part, as the overlay shows it.
fn drop_name(path: &std::path::Path) -> String {
    path.file_name().unwrap_or(path.as_os_str()).to_string_lossy().into_owned()
}

/// Signs back in with the saved session, if there is one, while the window
/// starts; `session_info` waits for it.
fn restore(app: &tauri::AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // Marked restored however this ends, a panic included: the UI waits for it.
        struct Done(tauri::AppHandle);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.state::<AppState>().set_restored();
            }
        }
        let _done = Done(app.clone());
        let store = app.state::<AppState>().store.clone();
        let client = match store.load() {
            Ok(Some(_)) => Client::from_store(store, None),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        match client {
            Ok(client) => {
                if let Err(e) = account::activate(&app, client).await {
                    eprintln!("cloudbuffer-desktop: {}", e.message);
                }
            }
            Err(e) => eprintln!("cloudbuffer-desktop: saved session unusable: {e}"),
        }
    });
}
