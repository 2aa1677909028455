//! The app's window as the X server sees it, and what a window manager
//! would do to it: find it by title, ask it to close, see if it is shown.

use std::time::{Duration, Instant};

use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt as _, EventMask, MapState, Window, CLIENT_MESSAGE_EVENT,
};
use x11rb::rust_connection::RustConnection;

/// A top-level window of the app on a display.
pub struct AppWindow {
    x: RustConnection,
    /// The window's id.
    pub id: Window,
}

impl AppWindow {
    /// Waits up to 20 s for a top-level window titled `title` on `display`.
    pub fn find(display: &str, title: &str) -> AppWindow {
        let (x, screen) = x11rb::connect(Some(display)).expect("connect to the X display");
        let root = x.setup().roots[screen].root;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let children = x.query_tree(root).expect("query_tree").reply().expect("the windows").children;
            if let Some(&id) =
                children.iter().find(|&&w| text_property(&x, w, AtomEnum::WM_NAME.into()) == title)
            {
                return AppWindow { x, id };
            }
            assert!(Instant::now() < deadline, "no window titled {title:?} on {display}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// True while the window is shown (mapped and viewable).
    pub fn shown(&self) -> bool {
        let attributes = self.x.get_window_attributes(self.id).expect("attributes").reply();
        attributes.is_ok_and(|a| a.map_state == MapState::VIEWABLE)
    }

    /// The process that owns the window (`_NET_WM_PID`).
    pub fn pid(&self) -> u32 {
        let atom = self.atom("_NET_WM_PID");
        let reply = self.x.get_property(false, self.id, atom, AtomEnum::CARDINAL, 0, 1).expect("pid").reply();
        reply.ok().and_then(|r| r.value32().and_then(|mut v| v.next())).expect("the window names its process")
    }

    /// Asks the window to close, as a window manager's close button does
    /// (`WM_DELETE_WINDOW`).
    pub fn ask_to_close(&self) {
        let (protocols, delete) = (self.atom("WM_PROTOCOLS"), self.atom("WM_DELETE_WINDOW"));
        let event = ClientMessageEvent {
            response_type: CLIENT_MESSAGE_EVENT,
            format: 32,
            sequence: 0,
            window: self.id,
            type_: protocols,
            data: [delete, x11rb::CURRENT_TIME, 0, 0, 0].into(),
        };
        self.x.send_event(false, self.id, EventMask::NO_EVENT, event).expect("send WM_DELETE_WINDOW");
        self.x.flush().expect("flush");
    }

    fn atom(&self, name: &str) -> u32 {
        self.x.intern_atom(false, name.as_bytes()).expect("intern_atom").reply().expect("an atom").atom
    }
}

fn text_property(x: &RustConnection, window: Window, property: u32) -> String {
    let reply = x.get_property(false, window, property, AtomEnum::ANY, 0, 1024).map(|c| c.reply());
    match reply {
        Ok(Ok(r)) => String::from_utf8_lossy(&r.value).into_owned(),
        _ => String::new(),
    }
}

/// True while process `pid` runs (not gone, not a zombie).
/// How many of `pid`'s descendants are WebKit web processes (a page loaded).
pub fn web_processes(pid: u32) -> usize {
    let mut pending = vec![pid];
    let mut count = 0;
    while let Some(pid) = pending.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
        for task in tasks {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
                let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
                // The kernel keeps 15 characters of the name.
                count += usize::from(comm.starts_with("WebKitWebProces") && process_running(child));
                pending.push(child);
            }
        }
    }
    count
}

pub fn process_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}
