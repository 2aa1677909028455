//! Native notifications (freedesktop notifications on Linux). Failing to
//! show one (no notification daemon) is not an error worth a dialog.

use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

/// Shows a notification; problems go to stderr.
pub fn show(app: &AppHandle, title: &str, body: &str) {
    let body: String = body.chars().take(120).collect();
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        eprintln!("cloudbuffer-desktop: notification not shown: {e}");
    }
}
