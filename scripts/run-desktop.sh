#!/usr/bin/env bash
# Builds (the `desktop` profile: optimised for size, the UI embedded, as
# shipped) and runs the Cloud Buffer desktop app. Installs WebKitGTK and the
# tray library first when missing.
# Any arguments are passed to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"
scripts/system-deps.sh libwebkit2gtk-4.1-dev libayatana-appindicator3-dev libdbus-1-dev >&2
exec cargo run --profile desktop --locked -p cloudbuffer-desktop --features tauri/custom-protocol -- "$@"
