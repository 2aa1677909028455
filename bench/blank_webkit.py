#!/usr/bin/python3
"""A blank WebKitGTK 4.1 window, the floor under any app built on it.

bench/desktop.sh runs it beside the desktop app, in the same environment, to
tell what WebKitGTK costs (memory, time to first paint) from what the app adds.
Like the app (with CLOUDBUFFER_DESKTOP_TIMING set), it prints
"first-paint <unix ms>" on stderr once the page has rendered its first frame:
two requestAnimationFrame callbacks after the page's script ran.
"""

import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import Gtk, WebKit2  # noqa: E402

PAGE = """<!doctype html><meta charset="utf-8"><title>blank</title><p>blank</p>
<script>
requestAnimationFrame(() => requestAnimationFrame(() =>
  window.webkit.messageHandlers.painted.postMessage(String(Date.now()))));
</script>"""


def painted(_manager, result):
    print(f"first-paint {result.get_js_value().to_string()}", file=sys.stderr, flush=True)


def main():
    content = WebKit2.UserContentManager()
    content.connect("script-message-received::painted", painted)
    content.register_script_message_handler("painted")
    view = WebKit2.WebView.new_with_user_content_manager(content)
    window = Gtk.Window(title="blank WebKitGTK")
    window.set_default_size(980, 680)
    window.add(view)
    window.connect("destroy", Gtk.main_quit)
    view.load_html(PAGE, "about:blank")
    window.show_all()
    Gtk.main()


if __name__ == "__main__":
    main()
