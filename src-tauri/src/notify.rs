//! Native notifications. On Linux they go straight to the desktop's
//! notification server over D-Bus (`org.freedesktop.Notifications`), with
//! the `dbus` crate Tauri already links: the notification plugin would
//! add about 40 crates (zbus and an async runtime) for the same call.
//! Elsewhere the Tauri notification plugin shows them. Failing to show
//! one (no notification server) is not worth more than a line on stderr.

use tauri::AppHandle;

/// Shows a notification without blocking the caller.
pub fn show(app: &AppHandle, title: &str, body: &str) {
    let body: String = body.chars().take(120).collect();
    if let Err(e) = send(app, title.to_string(), body) {
        eprintln!("cloudbuffer-desktop: notification not shown: {e}");
    }
}

#[cfg(target_os = "linux")]
fn send(_app: &AppHandle, title: String, body: String) -> Result<(), String> {
    std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || {
            let result = dbus::blocking::Connection::new_session().and_then(|bus| {
                let proxy = bus.with_proxy(
                    "org.freedesktop.Notifications",
                    "/org/freedesktop/Notifications",
                    std::time::Duration::from_secs(5),
                );
                let (actions, hints) = (Vec::<&str>::new(), dbus::arg::PropMap::new());
                // app name, replaces id, icon, summary, body, actions, hints, timeout (default)
                let args = ("Cloud Buffer", 0u32, "", title.as_str(), body.as_str(), actions, hints, -1i32);
                proxy
                    .method_call::<(u32,), _, _, _>("org.freedesktop.Notifications", "Notify", args)
                    .map(|_| ())
            });
            if let Err(e) = result {
                eprintln!("cloudbuffer-desktop: notification not shown: {e}");
            }
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
fn send(app: &AppHandle, title: String, body: String) -> Result<(), String> {
    use tauri_plugin_notification::NotificationExt;
    app.notification().builder().title(title).body(body).show().map_err(|e| e.to_string())
}
