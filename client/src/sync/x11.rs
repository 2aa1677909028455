//! X11 helpers arboard lacks, on a pure-Rust x11rb connection: reading the
//! CLIPBOARD selection's TARGETS (for the password-manager hint) and
//! XFixes notifications of selection owner changes.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use x11rb::connection::Connection;
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, CreateWindowAux, WindowClass};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use x11rb::NONE;

/// The target a password manager adds, with the value `secret`.
pub const PASSWORD_HINT: &str = "x-kde-passwordManagerHint";

/// How long a selection owner may take to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(500);

/// A connection with a window to receive selection conversions.
pub(super) struct Selection {
    conn: RustConnection,
    window: u32,
    clipboard: u32,
    targets: u32,
    hint: u32,
    property: u32,
}

fn atom(conn: &RustConnection, name: &str) -> Option<u32> {
    Some(conn.intern_atom(false, name.as_bytes()).ok()?.reply().ok()?.atom)
}

impl Selection {
    pub fn connect() -> Option<Selection> {
        let (conn, screen) = x11rb::connect(None).ok()?;
        let root = conn.setup().roots.get(screen)?.root;
        let window = conn.generate_id().ok()?;
        conn.create_window(
            0,
            window,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &CreateWindowAux::new(),
        )
        .ok()?;
        Some(Selection {
            clipboard: atom(&conn, "CLIPBOARD")?,
            targets: atom(&conn, "TARGETS")?,
            hint: atom(&conn, PASSWORD_HINT)?,
            property: atom(&conn, "CLOUDBUFFER_SELECTION")?,
            conn,
            window,
        })
    }

    /// True if the clipboard's owner offers the password-manager hint with
    /// the value `secret`. Any failure counts as "not concealed" except a
    /// hint we saw but could not read, which counts as concealed.
    pub fn is_concealed(&self) -> bool {
        let Some(targets) = self.convert(self.targets) else {
            return false;
        };
        let atoms: Vec<u32> =
            targets.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect();
        if !atoms.contains(&self.hint) {
            return false;
        }
        match self.convert(self.hint) {
            Some(value) => String::from_utf8_lossy(&value).trim().eq_ignore_ascii_case("secret"),
            None => true,
        }
    }

    /// Asks the owner for `target` and returns the bytes it stored.
    fn convert(&self, target: u32) -> Option<Vec<u8>> {
        let owner = self.conn.get_selection_owner(self.clipboard).ok()?.reply().ok()?.owner;
        if owner == NONE {
            return None;
        }
        // Drop answers to earlier, timed-out requests.
        while let Ok(Some(_)) = self.conn.poll_for_event() {}
        self.conn
            .convert_selection(self.window, self.clipboard, target, self.property, x11rb::CURRENT_TIME)
            .ok()?;
        self.conn.flush().ok()?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let notify = loop {
            match self.conn.poll_for_event().ok()? {
                Some(Event::SelectionNotify(e)) if e.requestor == self.window && e.target == target => {
                    break e
                }
                Some(_) => continue,
                None if Instant::now() >= deadline => return None,
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        };
        if notify.property == NONE {
            return None;
        }
        let reply = self
            .conn
            .get_property(true, self.window, self.property, AtomEnum::ANY, 0, 1 << 16)
            .ok()?
            .reply()
            .ok()?;
        Some(reply.value)
    }
}

/// A counter bumped on every change of the CLIPBOARD selection's owner
/// (XFixes), from a thread blocked on the X connection: no polling. The
/// thread ends when the X server goes away, or at the first change after
/// every receiver is gone; the receiver then reports the sender closed and
/// the engine falls back to polling.
pub(super) fn watch_changes() -> Option<watch::Receiver<u64>> {
    let (conn, screen) = x11rb::connect(None).ok()?;
    conn.xfixes_query_version(5, 0).ok()?.reply().ok()?;
    let root = conn.setup().roots.get(screen)?.root;
    let clipboard = atom(&conn, "CLIPBOARD")?;
    let mask = xfixes::SelectionEventMask::SET_SELECTION_OWNER
        | xfixes::SelectionEventMask::SELECTION_WINDOW_DESTROY
        | xfixes::SelectionEventMask::SELECTION_CLIENT_CLOSE;
    conn.xfixes_select_selection_input(root, clipboard, mask).ok()?;
    conn.flush().ok()?;
    let (sender, receiver) = watch::channel(0u64);
    std::thread::Builder::new()
        .name("x11-clipboard".into())
        .spawn(move || loop {
            match conn.wait_for_event() {
                Ok(Event::XfixesSelectionNotify(_)) => {
                    sender.send_modify(|n| *n += 1);
                    if sender.is_closed() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        })
        .ok()?;
    Some(receiver)
}
