#!/usr/bin/env bash
# Regenerates the screenshots of the share page (GET /s/{token}) in
# docs/screenshots/: starts a throwaway server on a free loopback port over a
# temporary data dir, makes a user, a photo share, a text share, a protected
# share and a used-up one, and photographs them with headless Chromium at a
# phone's viewport (390 x 844 CSS px, 2x). Installs chromium, python3 and
# curl first if they are missing. Cleans up after itself.
# Usage: scripts/screenshots-share-page.sh [output-dir]
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-docs/screenshots}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"
scripts/system-deps.sh chromium python3 curl
chrome="$(command -v chromium || command -v chromium-browser)"

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

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
"$server_bin" --bind "127.0.0.1:$port" --data-dir "$work/data" --log-format json >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

token="$(curl -fsS "$base/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"username":"demo","password":"demo-password-123","device_name":"screenshots"}' | json access_token)"
api() { curl -fsS -H "authorization: Bearer $token" "$@"; }
share() { api "$base/api/v1/shares" -H 'content-type: application/json' -d "$1" | json token; }

# A photo-like picture: a sunset sky, a sun and a sea, as a PNG made with
# nothing but zlib and struct.
python3 - "$work/photo.png" <<'PY'
import math, struct, sys, zlib
w, h = 960, 640
rows = []
for y in range(h):
    row = bytearray([0])
    for x in range(w):
        t = y / h
        if t < 0.62:
            r, g, b = 255 - 90 * t, 120 + 150 * t, 90 + 160 * (1 - t) * t * 2
            d = math.hypot(x - 0.68 * w, y - 0.5 * h)
            glow = max(0.0, 1 - d / 260)
            r, g, b = r + 60 * glow, g + 70 * glow, b + 20 * glow
            if d < 70:
                r, g, b = 255, 236, 170
        else:
            s = (t - 0.62) / 0.38
            wave = 12 * math.sin(x / 23 + y / 5) * (1 - s)
            r, g, b = 40 + 60 * (1 - s) + wave, 70 + 40 * (1 - s) + wave, 120 + 40 * s + wave
        row += bytes(max(0, min(255, int(c))) for c in (r, g, b))
    rows.append(bytes(row))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY

photo_id="$(api -X PUT "$base/api/v1/files/IMG_20250614_193512_sunset_over_the_harbour.png" \
    --data-binary "@$work/photo.png" | json id)"
photo="$(share "{\"file_id\":\"$photo_id\"}")"

printf 'Wi-Fi at the cabin\nnetwork: Lakeside-5G\npassword: correct horse battery staple\n\nDoor code 4711, the key is under the blue pot.\n' >"$work/note.txt"
clip_id="$(api -X PUT "$base/api/v1/buffer" -H 'x-data-type: text' --data-binary "@$work/note.txt" | json id)"
text="$(share "{\"clip_id\":\"$clip_id\"}")"

locked="$(share "{\"file_id\":\"$photo_id\",\"password\":\"open sesame\"}")"

once="$(share "{\"file_id\":\"$photo_id\",\"max_downloads\":1}")"
curl -fsS "$base/s/$once/raw" -o /dev/null
for _ in $(seq 50); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/s/$once")" = 410 ] && break
    sleep 0.1
done

shoot() { # shoot NAME URL [extra chromium flags...]
    local name="$1" url="$2" profile
    shift 2
    profile="$(mktemp -d "$work/chrome.XXXXXX")"
    timeout 90 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --hide-scrollbars --window-size=390,844 --force-device-scale-factor=2 \
        "$@" --screenshot="$work/$name" "$url" >/dev/null 2>&1
    mkdir -p "$out"
    mv "$work/$name" "$out/$name"
    echo "wrote $out/$name"
}

shoot share-file.png "$base/s/$photo"
shoot share-text.png "$base/s/$text"
shoot share-password.png "$base/s/$locked"
shoot share-gone.png "$base/s/$once"
shoot share-file-dark.png "$base/s/$photo" --force-dark-mode --blink-settings=preferredColorScheme=0
