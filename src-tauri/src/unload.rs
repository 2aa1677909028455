//! While the window sits in the tray, its page is unloaded: WebKit's web
//! process (about 150 MiB RSS, most of what the app costs) is ended a while
//! after the window was hidden, and the page is loaded again when the window
//! is opened (it shows once the page has rendered: `window.rs`). Sync, live events and notifications run in the app process and
//! go on meanwhile; the page asks for the current state when it loads.
//! While files upload, the page (their progress bars) is kept.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Manager, WebviewWindow};

use crate::state::AppState;

/// How long a hidden window keeps its page, so that reopening it soon after
/// closing it is instant. `CLOUDBUFFER_DESKTOP_UNLOAD_SECONDS` overrides it
/// (the tests and the benchmark use a second or two).
const KEEP_HIDDEN_PAGE: Duration = Duration::from_secs(60);

/// Counts hides and shows: an unload scheduled before the latest of them is void.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The page has been unloaded and must be loaded again when shown.
static UNLOADED: AtomicBool = AtomicBool::new(false);

fn keep_hidden_page() -> Duration {
    std::env::var("CLOUDBUFFER_DESKTOP_UNLOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(KEEP_HIDDEN_PAGE, Duration::from_secs_f64)
}

/// The window was hidden to the tray: unload its page if it stays hidden.
pub fn hidden(app: &AppHandle) {
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(keep_hidden_page()).await;
        if GENERATION.load(Ordering::SeqCst) != generation {
            return; // shown (or hidden again) since
        }
        if !app.state::<AppState>().uploading.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            hidden(&app); // try again later
            return;
        }
        if let Some(window) = app.get_webview_window("main") {
            if !window.is_visible().unwrap_or(true) && !UNLOADED.swap(true, Ordering::SeqCst) {
                end_web_process(&window);
            }
        }
    });
}

/// The window is about to be shown: a pending unload is called off, and an
/// unloaded page is loaded again. True when it is being loaded again (the
/// window should wait for it to render).
pub fn restore_page(window: &WebviewWindow) -> bool {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    if !UNLOADED.swap(false, Ordering::SeqCst) {
        return false;
    }
    match window.reload() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("cloudbuffer-desktop: cannot reload the window: {e}");
            false
        }
    }
}

#[cfg(target_os = "linux")]
fn end_web_process(window: &WebviewWindow) {
    let ended = window.with_webview(|webview| {
        use webkit2gtk::WebViewExt;
        webview.inner().terminate_web_process();
    });
    if let Err(e) = ended {
        eprintln!("cloudbuffer-desktop: cannot unload the hidden window: {e}");
        UNLOADED.store(false, Ordering::SeqCst);
    }
}

// Elsewhere the system webview manages its own memory: keep the page.
#[cfg(not(target_os = "linux"))]
fn end_web_process(_window: &WebviewWindow) {
    UNLOADED.store(false, Ordering::SeqCst);
}
