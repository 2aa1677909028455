//! A file manager's side of a drag and drop: an X client that drags files
//! onto a window over the XDND protocol (version 5), as Nautilus or Thunar
//! do, serving the file list as `text/uri-list` whenever the target asks.

use std::path::Path;
use std::time::{Duration, Instant};

use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, PropMode,
    SelectionNotifyEvent, SelectionRequestEvent, Window, WindowClass, CLIENT_MESSAGE_EVENT,
    SELECTION_NOTIFY_EVENT,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

x11rb::atom_manager! {
    Atoms: AtomsCookie {
        XdndAware, XdndSelection, XdndEnter, XdndPosition, XdndStatus, XdndLeave, XdndDrop,
        XdndFinished, XdndActionCopy, TARGETS, UriList: b"text/uri-list",
    }
}

/// A drag in progress over a target window.
pub struct Drag {
    x: RustConnection,
    atoms: Atoms,
    source: Window,
    target: Window,
    uris: Vec<u8>,
}

impl Drag {
    /// Starts dragging `files` into the middle of `target` on `display`, and
    /// hovers there until the target accepts them (up to 10 s).
    pub fn over(display: &str, target: Window, files: &[&Path]) -> Drag {
        let (x, screen) = x11rb::connect(Some(display)).expect("connect to the X display");
        let root = x.setup().roots[screen].root;
        let atoms = Atoms::new(&x).expect("atoms").reply().expect("atoms");
        let source = x.generate_id().expect("an id");
        x.create_window(0, source, root, 0, 0, 1, 1, 0, WindowClass::INPUT_ONLY, 0, &CreateWindowAux::new())
            .expect("a source window");
        x.set_selection_owner(source, atoms.XdndSelection, x11rb::CURRENT_TIME).expect("own XdndSelection");
        let aware = x.get_property(false, target, atoms.XdndAware, AtomEnum::ATOM, 0, 1).expect("XdndAware");
        let version = aware.reply().ok().and_then(|r| r.value32().and_then(|mut v| v.next()));
        let version = version.expect("the window takes drops (XdndAware)").min(5);
        let uris = files
            .iter()
            .map(|f| format!("file://{}\r\n", percent_encode(f)))
            .collect::<String>()
            .into_bytes();
        let drag = Drag { x, atoms, source, target, uris };
        drag.send(drag.atoms.XdndEnter, [source, version << 24, drag.atoms.UriList, 0, 0]);

        let geometry = drag.x.get_geometry(target).expect("geometry").reply().expect("the window's size");
        let middle =
            drag.x.translate_coordinates(target, root, geometry.width as i16 / 2, geometry.height as i16 / 2);
        let middle = middle.expect("coordinates").reply().expect("the window's place");
        let (px, py) = (middle.dst_x as u32, middle.dst_y as u32);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let position = [source, 0, (px << 16) | py, x11rb::CURRENT_TIME, drag.atoms.XdndActionCopy];
            drag.send(drag.atoms.XdndPosition, position);
            // The target asks for the list while it decides.
            if drag.serve_until(Duration::from_millis(200), |e| {
                e.type_ == drag.atoms.XdndStatus && e.data.as_data32()[1] & 1 == 1
            }) {
                return drag;
            }
            assert!(Instant::now() < deadline, "the window never accepted the drop");
        }
    }

    /// Drags the files away again without dropping them. (Keep the drag
    /// until the target has seen it go: GTK drops a leave whose source
    /// window is already gone.)
    pub fn leave(&self) {
        self.send(self.atoms.XdndLeave, [self.source, 0, 0, 0, 0]);
    }

    /// Drops the files and waits (up to 10 s) until the target says it took them.
    pub fn drop(self) {
        self.send(self.atoms.XdndDrop, [self.source, 0, x11rb::CURRENT_TIME, 0, 0]);
        let finished = self.serve_until(Duration::from_secs(10), |e| e.type_ == self.atoms.XdndFinished);
        assert!(finished, "the window never finished the drop");
    }

    /// Sends an XDND client message to the target.
    fn send(&self, kind: Atom, data: [u32; 5]) {
        let event = ClientMessageEvent {
            response_type: CLIENT_MESSAGE_EVENT,
            format: 32,
            sequence: 0,
            window: self.target,
            type_: kind,
            data: data.into(),
        };
        self.x.send_event(false, self.target, EventMask::NO_EVENT, event).expect("send an XDND message");
        self.x.flush().expect("flush");
    }

    /// Serves selection requests until a client message matches `done`, or `wait` passes.
    fn serve_until(&self, wait: Duration, done: impl Fn(&ClientMessageEvent) -> bool) -> bool {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            match self.x.poll_for_event().expect("X events") {
                Some(Event::SelectionRequest(request)) => self.answer(&request),
                Some(Event::ClientMessage(message)) if done(&message) => return true,
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        false
    }

    /// Hands the file list (or the list of targets) to whoever asked.
    fn answer(&self, request: &SelectionRequestEvent) {
        let property = if request.property == x11rb::NONE { request.target } else { request.property };
        let x = &self.x;
        let stored = if request.target == self.atoms.UriList {
            x.change_property8(PropMode::REPLACE, request.requestor, property, self.atoms.UriList, &self.uris)
                .is_ok()
        } else if request.target == self.atoms.TARGETS {
            let targets = [self.atoms.TARGETS, self.atoms.UriList];
            x.change_property32(PropMode::REPLACE, request.requestor, property, AtomEnum::ATOM, &targets)
                .is_ok()
        } else {
            false
        };
        let notify = SelectionNotifyEvent {
            response_type: SELECTION_NOTIFY_EVENT,
            sequence: 0,
            time: request.time,
            requestor: request.requestor,
            selection: request.selection,
            target: request.target,
            property: if stored { property } else { x11rb::NONE },
        };
        let _ = x.send_event(false, request.requestor, EventMask::NO_EVENT, notify);
        let _ = x.flush();
    }
}

impl Drop for Drag {
    fn drop(&mut self) {
        let _ = self.x.destroy_window(self.source);
        let _ = self.x.flush();
    }
}

/// `path` as the path of a `file://` URI.
fn percent_encode(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
