//! A private D-Bus session bus (Debian's `dbus-daemon`) standing in for a
//! desktop's: a notification server that records what it is asked to show,
//! and a StatusNotifier watcher (what KDE's panel or GNOME's AppIndicator
//! extension run) that records the tray icons registered with it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::channel::MatchingReceiver;
use dbus::message::MatchRule;
use dbus::Message;

use super::Guard;

/// A tray icon registered with the watcher: its bus name and object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayItem {
    /// The bus name that serves the item.
    pub service: String,
    /// The `org.kde.StatusNotifierItem` object.
    pub path: String,
}

#[derive(Default)]
struct Seen {
    /// Notifications shown, as (summary, body).
    notifications: Vec<(String, String)>,
    tray_items: Vec<TrayItem>,
}

/// The bus and what was shown on it so far.
pub struct SessionBus {
    /// `DBUS_SESSION_BUS_ADDRESS` for the app.
    pub address: String,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    _bus: Guard,
}

impl SessionBus {
    /// Starts `dbus-daemon --session` and serves `org.freedesktop.Notifications`
    /// and `org.kde.StatusNotifierWatcher` on it.
    pub fn start() -> SessionBus {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts (apt-get install dbus-daemon)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the bus address");
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (record, quit, bus) = (seen.clone(), stop.clone(), address.clone());
        std::thread::spawn(move || {
            let conn = connect(&bus);
            for name in ["org.freedesktop.Notifications", "org.kde.StatusNotifierWatcher"] {
                conn.request_name(name, false, true, true).expect("the name");
            }
            conn.start_receive(
                MatchRule::new_method_call(),
                Box::new(move |message, conn| {
                    let reply = answer(&message, &mut record.lock().unwrap());
                    let _ = dbus::channel::Sender::send(conn, reply);
                    true
                }),
            );
            let _ = ready_tx.send(());
            while !quit.load(Ordering::Relaxed) {
                let _ = conn.process(Duration::from_millis(100));
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).expect("the desktop services are up");
        SessionBus { address, seen, stop, _bus: Guard(child) }
    }

    /// Every notification shown so far, as (summary, body).
    pub fn notifications(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().notifications.clone()
    }

    /// The tray icons registered so far.
    pub fn tray_items(&self) -> Vec<TrayItem> {
        self.seen.lock().unwrap().tray_items.clone()
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A private connection to the bus at `address`.
pub fn connect(address: &str) -> dbus::blocking::Connection {
    let mut channel = dbus::channel::Channel::open_private(address).expect("connect to the bus");
    channel.register().expect("hello");
    dbus::blocking::Connection::from(channel)
}

/// Answers a method call to the notification server or the watcher.
fn answer(message: &Message, seen: &mut Seen) -> Message {
    let mut args = message.iter_init();
    match (message.interface().as_deref(), message.member().as_deref()) {
        (Some("org.freedesktop.Notifications"), Some("Notify")) => {
            // app name, replaces id, icon, summary, body, …
            let _: (Option<String>, Option<u32>, Option<String>) =
                (args.read().ok(), args.read().ok(), args.read().ok());
            let summary: String = args.read().unwrap_or_default();
            let body: String = args.read().unwrap_or_default();
            seen.notifications.push((summary, body));
            message.method_return().append1(1u32)
        }
        (Some("org.kde.StatusNotifierWatcher"), Some("RegisterStatusNotifierItem")) => {
            // Either an object path on the caller's connection (libappindicator)
            // or a bus name serving /StatusNotifierItem (the spec's form).
            let arg: String = args.read().unwrap_or_default();
            let sender = message.sender().map(|s| s.to_string()).unwrap_or_default();
            let item = if arg.starts_with('/') {
                TrayItem { service: sender, path: arg }
            } else {
                TrayItem { service: arg, path: "/StatusNotifierItem".into() }
            };
            seen.tray_items.push(item);
            message.method_return()
        }
        (Some("org.freedesktop.DBus.Properties"), Some("Get")) => {
            let (_interface, name): (String, String) =
                (args.read().unwrap_or_default(), args.read().unwrap_or_default());
            match watcher_properties(seen).remove(&name) {
                Some(value) => message.method_return().append1(value),
                None => message.error(
                    &"org.freedesktop.DBus.Error.UnknownProperty".into(),
                    &std::ffi::CString::new(name).unwrap_or_default(),
                ),
            }
        }
        (Some("org.freedesktop.DBus.Properties"), Some("GetAll")) => {
            message.method_return().append1(watcher_properties(seen))
        }
        _ => message.method_return(),
    }
}

/// The watcher's properties: a host is registered, so items show.
fn watcher_properties(seen: &Seen) -> PropMap {
    let items: Vec<String> = seen.tray_items.iter().map(|i| format!("{}{}", i.service, i.path)).collect();
    let mut props = PropMap::new();
    props.insert("IsStatusNotifierHostRegistered".into(), Variant(Box::new(true) as Box<dyn RefArg>));
    props.insert("ProtocolVersion".into(), Variant(Box::new(0i32) as Box<dyn RefArg>));
    props.insert("RegisteredStatusNotifierItems".into(), Variant(Box::new(items) as Box<dyn RefArg>));
    props
}
