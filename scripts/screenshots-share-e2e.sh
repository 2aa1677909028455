#!/usr/bin/env bash
# Regenerates the screenshots of the share page of end-to-end encrypted
# items (server/web/share-e2e.js) in docs/screenshots/: starts a throwaway
# server on a free loopback port over a temporary data dir (web files read
# from server/web), encrypts a text clip and a photo with server/web/e2e.js
# under Node (the same format as the Rust crate), uploads them with
# X-Encrypted: 1, shares them, and photographs with headless Chromium at
# 360 x 740 CSS px (2x): the decrypted text, the decrypted photo, the
# same link without its #k= fragment ("This link is incomplete"), and a
# protected link's password form.
# Needs chromium, node (>= 20), python3 and curl. Cleans up after itself.
# Usage: scripts/screenshots-share-e2e.sh [output-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

out="${1:-docs/screenshots}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"
scripts/system-deps.sh chromium python3 curl
command -v node >/dev/null || { echo "node (>= 20, for WebCrypto) is needed to encrypt the samples" >&2; exit 1; }
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
CLOUDBUFFER_WEB_DIR="$repo/server/web" "$server_bin" --bind "127.0.0.1:$port" --data-dir "$work/data" \
    --log-format json >"$work/server.log" 2>&1 &
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
share() { api "$base/api/v1/shares" -H 'content-type: application/json' -d "$1" | json url; }

# encrypt KIND NAME TYPE INPUT OUTPUT → JSON {text | name, type, key}; OUTPUT gets a file's item bytes.
cat >"$work/encrypt.mjs" <<JS
import { Encryptor, encryptField, b64urlEncode } from "$repo/server/web/e2e.js";
import fs from "node:fs";
const [kind, name, type, input, output] = process.argv.slice(2);
const e = await Encryptor.create(crypto.getRandomValues(new Uint8Array(32)));
const te = new TextEncoder(), data = new Uint8Array(fs.readFileSync(input)), out = {};
if (kind === "text") out.text = await encryptField(e.itemKey, e.salt, "text", data);
else {
  const chunks = [...(await e.push(data)), ...(await e.finish())];
  fs.writeFileSync(output, Buffer.concat(chunks.map((c) => Buffer.from(c))));
  out.name = await encryptField(e.itemKey, e.salt, "name", te.encode(name));
  out.type = await encryptField(e.itemKey, e.salt, "content-type", te.encode(type));
}
out.key = "k=" + b64urlEncode(e.itemKey);
console.log(JSON.stringify(out));
JS

printf 'Wi-Fi at the cabin\nnetwork: Lakeside-5G\npassword: correct horse battery staple\n\nDoor code 4711, the key is under the blue pot.\n' >"$work/note.txt"
note="$(node "$work/encrypt.mjs" text - - "$work/note.txt" -)"
clip_id="$(api -X PUT "$base/api/v1/buffer" -H 'x-data-type: text' -H 'x-encrypted: 1' \
    --data-binary "$(echo "$note" | json text)" | json id)"
text_url="$(share "{\"clip_id\":\"$clip_id\"}")#$(echo "$note" | json key)"

# A photo-like picture (a sunset over the sea), a PNG from zlib and struct.
python3 - "$work/photo.png" <<'PY'
import math, struct, sys, zlib
w, h = 720, 480
rows = []
for y in range(h):
    row = bytearray([0])
    for x in range(w):
        t = y / h
        if t < 0.62:
            r, g, b = 255 - 90 * t, 120 + 150 * t, 90 + 160 * (1 - t) * t * 2
            d = math.hypot(x - 0.68 * w, y - 0.5 * h)
            glow = max(0.0, 1 - d / 200)
            r, g, b = r + 60 * glow, g + 70 * glow, b + 20 * glow
            if d < 52:
                r, g, b = 255, 236, 170
        else:
            s = (t - 0.62) / 0.38
            wave = 12 * math.sin(x / 17 + y / 4) * (1 - s)
            r, g, b = 40 + 60 * (1 - s) + wave, 70 + 40 * (1 - s) + wave, 120 + 40 * s + wave
        row += bytes(max(0, min(255, int(c))) for c in (r, g, b))
    rows.append(bytes(row))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
photo="$(node "$work/encrypt.mjs" file IMG_20250614_193512_sunset.png image/png "$work/photo.png" "$work/photo.cbee")"
photo_id="$(api -X PUT "$base/api/v1/files/$(echo "$photo" | json name)" -H 'x-encrypted: 1' \
    -H "x-encrypted-content-type: $(echo "$photo" | json type)" --data-binary "@$work/photo.cbee" | json id)"
photo_share="$(share "{\"file_id\":\"$photo_id\"}")"
locked_share="$(share "{\"file_id\":\"$photo_id\",\"password\":\"open sesame 123\"}")"

shoot() { # shoot NAME URL
    local name="$1" url="$2" profile
    profile="$(mktemp -d "$work/chrome.XXXXXX")"
    timeout 90 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --hide-scrollbars --window-size=360,740 --force-device-scale-factor=2 \
        --virtual-time-budget=5000 --screenshot="$work/$name" "$url" >/dev/null 2>&1
    mkdir -p "$out"
    mv "$work/$name" "$out/$name"
    echo "wrote $out/$name"
}

shoot share-e2e-text.png "$text_url"
shoot share-e2e-photo.png "$photo_share#$(echo "$photo" | json key)"
shoot share-e2e-incomplete.png "$photo_share"
shoot share-e2e-password.png "$locked_share#$(echo "$photo" | json key)"
