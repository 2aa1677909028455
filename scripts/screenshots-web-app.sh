#!/usr/bin/env bash
# Regenerates the screenshots of the web app (/app/) in docs/screenshots/:
# starts a throwaway server on a free loopback port over a temporary data
# dir, makes a user with a few clips and files, signs in through the page
# with headless Chromium driven over WebDriver (chromedriver, spoken to by a
# few lines of standard-library Python) at a phone's viewport (360 x 740 CSS
# px, 2x), and photographs the app in light and dark. Installs chromium,
# chromium-driver, python3 and curl first if they are missing. Cleans up
# after itself.
# Usage: scripts/screenshots-web-app.sh [output-dir]
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-docs/screenshots}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"
scripts/system-deps.sh chromium chromium-driver python3 curl
chrome="$(command -v chromium || command -v chromium-browser)"
driver="$(command -v chromedriver)"

# The server compiles server/web in (build.rs), so this build shows the files as they are now.
cargo build -q -p cloudbuffer-server
server_bin="$CARGO_TARGET_DIR/debug/cloudbuffer-server"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
base="http://127.0.0.1:$port"
"$server_bin" --bind "127.0.0.1:$port" --data-dir "$work/data" --log-format json >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

user=demo
password=demo-password-123
curl -fsS "$base/api/v1/auth/register" -H 'content-type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$password\",\"device_name\":\"Laptop\"}" >/dev/null
api() { curl -fsS -o /dev/null -u "$user:$password" "$@"; }

# A small photo-like PNG (a sky, a sun, a sea) made with nothing but zlib and struct.
python3 - "$work/photo.png" <<'PY'
import math, struct, sys, zlib
w, h = 480, 320
rows = []
for y in range(h):
    row = bytearray([0])
    for x in range(w):
        t = y / h
        if t < 0.62:
            r, g, b = 255 - 90 * t, 120 + 150 * t, 90 + 160 * (1 - t) * t * 2
            if math.hypot(x - 0.68 * w, y - 0.5 * h) < 35:
                r, g, b = 255, 236, 170
        else:
            s = (t - 0.62) / 0.38
            wave = 12 * math.sin(x / 12 + y / 3) * (1 - s)
            r, g, b = 40 + 60 * (1 - s) + wave, 70 + 40 * (1 - s) + wave, 120 + 40 * s + wave
        row += bytes(max(0, min(255, int(c))) for c in (r, g, b))
    rows.append(bytes(row))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
head -c 1843200 /dev/zero | tr '\0' 'x' >"$work/report.pdf"

# Oldest first, so the newest (shown on top) is the text note.
api -X PUT "$base/api/v1/files/Quarterly%20report%20Q2.pdf" --data-binary "@$work/report.pdf"
api -X PUT "$base/api/v1/buffer" -H 'x-data-type: file' -H 'x-filename: IMG_20250614_193512.png' --data-binary "@$work/photo.png"
api -X PUT "$base/api/v1/buffer" -H 'x-data-type: text' --data-binary 'https://example.com/tickets/4711'
printf 'Wi-Fi at the cabin\nnetwork: Lakeside-5G\npassword: correct horse battery staple' |
    api -X PUT "$base/api/v1/buffer" -H 'x-data-type: text' --data-binary @-

python3 - "$driver" "$chrome" "$base" "$user" "$password" "$work" "$out" <<'PY'
import base64, json, os, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

driver_bin, chrome, base, user, password, work, out = sys.argv[1:]

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

class Session:
    """Just enough of WebDriver: open a page, find, click, type, run JS, screenshot."""
    def __init__(self, dark):
        self.port = free_port()
        self.proc = subprocess.Popen([driver_bin, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try: self.call("GET", "/status"); break
            except Exception: time.sleep(0.1)
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", f"--user-data-dir={tempfile.mkdtemp(dir=work)}"]
        if dark:
            args += ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"]
        # Headless windows cannot be narrower than 500 px; mobile emulation sets the viewport instead.
        phone = {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2, "touch": True},
                 "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"}
        caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": chrome, "args": args, "mobileEmulation": phone}}
        self.id = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]
    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.read().decode()[:300]}") from None
    def do(self, method, path, body=None): return self.call(method, f"/session/{self.id}{path}", body)
    def js(self, script): return self.do("POST", "/execute/sync", {"script": script, "args": []})
    def element(self, css): return next(iter(self.do("POST", "/element", {"using": "css selector", "value": css}).values()))
    def type(self, css, text): self.do("POST", f"/element/{self.element(css)}/value", {"text": text})
    def click(self, css): self.do("POST", f"/element/{self.element(css)}/click", {})
    def wait(self, condition, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if self.js(f"return !!({condition})"): return
            time.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {condition}")
    def shot(self, name):
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, name), "wb") as f:
            f.write(base64.b64decode(self.do("GET", "/screenshot")))
        print(f"wrote {os.path.join(out, name)}")
    def close(self):
        try: self.do("DELETE", "")
        except Exception: pass
        self.proc.terminate(); self.proc.wait()

def signed_in(dark):
    s = Session(dark)
    s.do("POST", "/url", {"url": f"{base}/app/"})
    s.wait("!document.querySelector('#login-screen').hidden")
    s.type("#login-username", user)
    s.type("#login-password", password)
    s.click("#login-submit")
    s.wait("document.querySelector('#live-status').textContent === 'Live' && document.querySelectorAll('#file-list li').length === 2")
    # Let the service worker settle and the focus ring go, so shots are stable.
    s.js("document.activeElement.blur(); window.scrollTo(0, 0)")
    time.sleep(1)
    return s

s = signed_in(False)
try:
    s.shot("web-app-light.png")
    s.js("document.querySelector('#files-heading').scrollIntoView()")
    time.sleep(0.3)
    s.shot("web-app-files-light.png")
finally:
    s.close()

s = signed_in(True)
try:
    s.shot("web-app-dark.png")
finally:
    s.close()
PY
