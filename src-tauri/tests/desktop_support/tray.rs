//! The app's tray icon as a panel sees it: the menu it exports over
//! `com.canonical.dbusmenu`, read and clicked the way a panel does.

use std::time::Duration;

use dbus::arg::{RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::blocking::Connection;
use dbus::Message;

use super::bus::{connect, TrayItem};

const TIMEOUT: Duration = Duration::from_secs(5);

/// One entry of the menu.
#[derive(Debug, Clone)]
pub struct MenuEntry {
    /// The dbusmenu id, for events.
    pub id: i32,
    /// Its label, without mnemonic underscores.
    pub label: String,
    /// For a check item: 1 checked, 0 not.
    pub toggle_state: Option<i64>,
}

/// The menu of one tray icon.
pub struct TrayMenu {
    conn: Connection,
    service: String,
    path: dbus::Path<'static>,
}

impl TrayMenu {
    /// Finds the menu of `item` (its `Menu` property) on the bus at `address`.
    pub fn of(address: &str, item: &TrayItem) -> TrayMenu {
        let conn = connect(address);
        let proxy = conn.with_proxy(item.service.as_str(), item.path.as_str(), TIMEOUT);
        let path: dbus::Path<'static> =
            proxy.get("org.kde.StatusNotifierItem", "Menu").expect("the tray item has a menu");
        TrayMenu { conn, service: item.service.clone(), path }
    }

    /// The menu's entries, in order (separators and the root left out).
    pub fn entries(&self) -> Vec<MenuEntry> {
        // GetLayout(parent, depth, properties) -> (revision, (ia{sv}av)).
        let call = Message::new_method_call(&self.service, &self.path, "com.canonical.dbusmenu", "GetLayout")
            .expect("a GetLayout call")
            .append3(0i32, -1i32, Vec::<String>::new());
        let reply = self.conn.channel().send_with_reply_and_block(call, TIMEOUT).expect("GetLayout");
        let mut args = reply.iter_init();
        let _revision: u32 = args.read().expect("a revision");
        let layout = args.get_refarg().expect("a layout");
        let mut entries = Vec::new();
        flatten(&*layout, &mut entries);
        entries
    }

    /// Clicks the entry labelled `label`, as a panel does when it is chosen.
    pub fn click(&self, label: &str) {
        let entry = self
            .entries()
            .into_iter()
            .find(|e| e.label == label)
            .unwrap_or_else(|| panic!("no {label:?} in the tray menu: {:?}", self.entries()));
        let proxy = self.conn.with_proxy(self.service.as_str(), self.path.clone(), TIMEOUT);
        let _: () = proxy
            .method_call("com.canonical.dbusmenu", "Event", (entry.id, "clicked", Variant(0i32), 0u32))
            .expect("the menu takes the click");
    }

    /// The entry labelled `label`.
    pub fn entry(&self, label: &str) -> MenuEntry {
        self.entries()
            .into_iter()
            .find(|e| e.label == label)
            .unwrap_or_else(|| panic!("no {label:?} in the menu"))
    }
}

/// Walks one `(ia{sv}av)` menu node into `out`.
fn flatten(node: &dyn RefArg, out: &mut Vec<MenuEntry>) {
    let mut fields = node.as_iter().expect("a menu node is a struct");
    let id = fields.next().and_then(|f| f.as_i64()).expect("an id") as i32;
    let props = fields.next().expect("properties");
    let children = fields.next().expect("children");
    let (mut label, mut toggle_state, mut separator) = (None, None, false);
    let mut kv = props.as_iter().expect("a{sv}");
    while let (Some(key), Some(value)) = (kv.next(), kv.next()) {
        match key.as_str() {
            Some("label") => label = value.as_str().map(|l| l.replace('_', "")),
            Some("toggle-state") => toggle_state = value.as_i64(),
            Some("type") => separator = value.as_str() == Some("separator"),
            _ => {}
        }
    }
    if id != 0 && !separator {
        out.push(MenuEntry { id, label: label.unwrap_or_default(), toggle_state });
    }
    for child in children.as_iter().expect("av") {
        // Each child is a variant holding a node.
        let node = child.as_iter().and_then(|mut v| v.next()).expect("a child node");
        flatten(node, out);
    }
}
