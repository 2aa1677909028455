#!/usr/bin/env bash
# Builds (release, as shipped: the UI embedded) and runs the Cloud Buffer
# desktop app. Installs WebKitGTK and the tray library first when missing.
# Any arguments are passed to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"
scripts/system-deps.sh libwebkit2gtk-4.1-dev libayatana-appindicator3-dev libdbus-1-dev >&2
exec cargo run --release --locked -p cloudbuffer-desktop --features tauri/custom-protocol -- "$@"
