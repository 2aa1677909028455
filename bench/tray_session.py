#!/usr/bin/python3
"""The two parts of a desktop session bench/desktop.sh needs to put the app in the tray.

    tray_session.py watcher     serve org.kde.StatusNotifierWatcher on the session bus
                                (what a panel provides) until killed: the app then
                                shows a tray icon, and closing its window hides it
    tray_session.py close PID   ask PID's window to close, as a window manager's close
                                button does (WM_DELETE_WINDOW)

Needs python3-gi (the watcher) and python3-xlib (close).
"""

import sys

WATCHER_XML = """<node><interface name="org.kde.StatusNotifierWatcher">
  <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
  <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
  <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
  <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
  <property name="ProtocolVersion" type="i" access="read"/>
</interface></node>"""


def watcher():
    from gi.repository import Gio, GLib

    items = []

    def call(_conn, sender, _path, _iface, method, params, invocation):
        if method == "RegisterStatusNotifierItem":
            service = params.unpack()[0]
            items.append(sender + service if service.startswith("/") else service)
        invocation.return_value(None)

    def get(_conn, _sender, _path, _iface, name):
        return {
            "RegisteredStatusNotifierItems": GLib.Variant("as", items),
            "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
            "ProtocolVersion": GLib.Variant("i", 0),
        }[name]

    node = Gio.DBusNodeInfo.new_for_xml(WATCHER_XML)
    bus = Gio.bus_get_sync(Gio.BusType.SESSION)
    bus.register_object("/StatusNotifierWatcher", node.interfaces[0], call, get, None)
    # "watching" once the name is ours: from then on apps find a tray.
    acquired = lambda *_: print("watching", flush=True)  # noqa: E731
    Gio.bus_own_name_on_connection(bus, "org.kde.StatusNotifierWatcher", Gio.BusNameOwnerFlags.NONE, acquired, None)
    GLib.MainLoop().run()


def close(pid):
    from Xlib import X, display, protocol

    dpy = display.Display()
    wm_pid, protocols, delete = (dpy.intern_atom(n) for n in ("_NET_WM_PID", "WM_PROTOCOLS", "WM_DELETE_WINDOW"))
    for window in dpy.screen().root.query_tree().children:
        prop = window.get_full_property(wm_pid, X.AnyPropertyType)
        if prop and prop.value[0] == pid and window.get_wm_name() == "Cloud Buffer":
            event = protocol.event.ClientMessage(window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
            window.send_event(event)
            dpy.flush()
            return
    sys.exit(f"tray_session.py: no window of process {pid}")


if __name__ == "__main__":
    if sys.argv[1:] == ["watcher"]:
        watcher()
    elif len(sys.argv) == 3 and sys.argv[1] == "close":
        close(int(sys.argv[2]))
    else:
        sys.exit(__doc__)
