//! Showing the main window, which waits until its page has rendered. A
//! WebKitGTK view drawn before that blocks the main thread for up to 500 ms,
//! waiting for the web process, which may itself be waiting for the page's
//! files: Tauri serves those on that same thread. On a desktop-like display
//! with a session bus, one start in three took 0.5 s longer. So the window
//! starts hidden, and after the tray has unloaded its page it stays hidden
//! until the page has loaded again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Manager, WebviewWindow};

/// A show is waiting for the page to render (at start-up, or while it reloads).
static WAITING: AtomicBool = AtomicBool::new(true);

/// How long a show waits for the page: a page that never renders (a bug)
/// still gets its window.
const PATIENCE: Duration = Duration::from_secs(5);

/// At start-up: the window shows when the page has rendered.
pub fn starting(app: &AppHandle) {
    show_anyway_later(app);
}

/// Shows and focuses the window; if its page was unloaded in the tray, once
/// the page is back.
pub fn show(app: &AppHandle) {
    let Some(window) = app.get_webview_window("main") else { return };
    if crate::unload::restore_page(&window) {
        WAITING.store(true, Ordering::SeqCst);
        show_anyway_later(app);
    } else {
        present(&window);
    }
}

/// The page has rendered its first screen (the `ui_rendered` command).
pub fn page_rendered(app: &AppHandle) {
    if WAITING.swap(false, Ordering::SeqCst) {
        if let Some(window) = app.get_webview_window("main") {
            present(&window);
        }
    }
}

fn show_anyway_later(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(PATIENCE).await;
        page_rendered(&app);
    });
}

fn present(window: &WebviewWindow) {
    let _ = window.unminimize();
    let _ = window.show();
    let _ = window.set_focus();
}
