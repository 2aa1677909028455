//! The tray icon: open the window, pause or resume clipboard sync, quit.
//! Closing the window only hides it; the app keeps syncing from the tray.

use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::state::AppState;

/// The menu's sync item, kept to reflect the setting.
pub struct TrayItems {
    sync: CheckMenuItem<Wry>,
    /// A tray shows our icon: closing the window only hides it.
    pub shown: bool,
}

/// Creates the tray icon, or says why there is none. Without a tray to
/// show it (no StatusNotifier host, no XEmbed tray, no tray library), the
/// app still works; closing the window then quits instead of hiding it
/// where nobody could get it back.
/// `on_sync(app, on)` runs when the user flips "Sync clipboard" (the tray
/// only shows the setting; whoever owns sync applies it).
pub fn create(app: &AppHandle, on_sync: fn(&AppHandle, bool)) -> Result<(), String> {
    // On Linux the tray library (libayatana-appindicator3) is loaded at run
    // time, and its loader panics when it is not installed: keep the app.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(app, on_sync)));
    std::panic::set_hook(hook);
    match made {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("the tray library, libayatana-appindicator3, is not installed".into()),
    }
}

fn build(app: &AppHandle, on_sync: fn(&AppHandle, bool)) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Cloud Buffer", true, None::<&str>)?;
    let auto_sync = app.state::<AppState>().settings().auto_sync;
    let sync = CheckMenuItem::with_id(app, "sync", "Sync clipboard", true, auto_sync, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&open, &sync, &separator, &quit])?;
    TrayIconBuilder::with_id("main")
        .icon(tauri::include_image!("icons/tray.png"))
        .tooltip("Cloud Buffer")
        .menu(&menu)
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "open" => crate::window::show(app),
            "sync" => on_sync(app, !app.state::<AppState>().settings().auto_sync),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::window::show(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(TrayItems { sync, shown: tray_host() });
    Ok(())
}

/// True when something can show a tray icon: on Linux a StatusNotifier
/// watcher on the session bus (KDE, GNOME with AppIndicator support…) or
/// an XEmbed system tray on the X display.
fn tray_host() -> bool {
    #[cfg(target_os = "linux")]
    {
        status_notifier_host() || xembed_tray()
    }
    #[cfg(not(target_os = "linux"))]
    true
}

#[cfg(target_os = "linux")]
fn status_notifier_host() -> bool {
    let Ok(bus) = dbus::blocking::Connection::new_session() else { return false };
    let proxy = bus.with_proxy(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        std::time::Duration::from_millis(500),
    );
    let owned: Result<(bool,), _> =
        proxy.method_call("org.freedesktop.DBus", "NameHasOwner", ("org.kde.StatusNotifierWatcher",));
    owned.is_ok_and(|(owned,)| owned)
}

#[cfg(target_os = "linux")]
fn xembed_tray() -> bool {
    use x11rb::protocol::xproto::ConnectionExt as _;
    let Ok((x, screen)) = x11rb::connect(None) else { return false };
    let name = format!("_NET_SYSTEM_TRAY_S{screen}");
    let Ok(Ok(atom)) = x.intern_atom(true, name.as_bytes()).map(|c| c.reply()) else { return false };
    if atom.atom == 0 {
        return false;
    }
    matches!(x.get_selection_owner(atom.atom).map(|c| c.reply()), Ok(Ok(owner)) if owner.owner != 0)
}

/// Brings the menu in line with the settings.
pub fn refresh(app: &AppHandle) {
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.sync.set_checked(app.state::<AppState>().settings().auto_sync);
    }
}
