//! A private D-Bus session bus (Debian's `dbus-daemon`) with a notification
//! server on it that records what it is asked to show: what a desktop's
//! notification daemon would put on screen.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbus::channel::MatchingReceiver;
use dbus::message::MatchRule;

use super::Guard;

/// The bus and the notifications shown so far, as (summary, body).
pub struct Notifications {
    /// `DBUS_SESSION_BUS_ADDRESS` for the app.
    pub address: String,
    shown: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
    _bus: Guard,
}

impl Notifications {
    /// Starts `dbus-daemon --session` and serves `org.freedesktop.Notifications` on it.
    pub fn start() -> Notifications {
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
        let shown = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (record, quit, bus) = (shown.clone(), stop.clone(), address.clone());
        std::thread::spawn(move || {
            let mut channel = dbus::channel::Channel::open_private(&bus).expect("connect to the bus");
            channel.register().expect("hello");
            let conn = dbus::blocking::Connection::from(channel);
            conn.request_name("org.freedesktop.Notifications", false, true, true).expect("the name");
            conn.start_receive(
                MatchRule::new_method_call(),
                Box::new(move |message, conn| {
                    let reply = if message.member().as_deref() == Some("Notify") {
                        // app name, replaces id, icon, summary, body, …
                        let mut args = message.iter_init();
                        let (_app, _id, _icon): (String, u32, String) = (
                            args.read().unwrap_or_default(),
                            args.read().unwrap_or_default(),
                            args.read().unwrap_or_default(),
                        );
                        let summary: String = args.read().unwrap_or_default();
                        let body: String = args.read().unwrap_or_default();
                        record.lock().unwrap().push((summary, body));
                        message.method_return().append1(1u32)
                    } else {
                        message.method_return()
                    };
                    let _ = dbus::channel::Sender::send(conn, reply);
                    true
                }),
            );
            let _ = ready_tx.send(());
            while !quit.load(Ordering::Relaxed) {
                let _ = conn.process(Duration::from_millis(100));
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).expect("the notification server is up");
        Notifications { address, shown, stop, _bus: Guard(child) }
    }

    /// Everything shown so far.
    pub fn shown(&self) -> Vec<(String, String)> {
        self.shown.lock().unwrap().clone()
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
