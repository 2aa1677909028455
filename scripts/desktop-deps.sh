#!/usr/bin/env bash
# What the desktop app (src-tauri/) needs to build and its end-to-end test
# to run: WebKitGTK and the tray library (build), Xvfb, xclip, ImageMagick and
# WebKitWebDriver (test), and tauri-driver, installed with cargo into
# ~/.cache/cloudbuffer/tools (or $CLOUDBUFFER_TOOLS) when missing.
# Prints the folder to add to PATH. Idempotent: a second run costs a dpkg
# query and a file check.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/system-deps.sh \
    libwebkit2gtk-4.1-dev libayatana-appindicator3-dev libdbus-1-dev \
    xvfb xauth xclip imagemagick webkit2gtk-driver dbus-daemon >&2

tools="${CLOUDBUFFER_TOOLS:-$HOME/.cache/cloudbuffer/tools}"
if [ ! -x "$tools/bin/tauri-driver" ]; then
    echo "desktop-deps: installing tauri-driver into $tools" >&2
    # Its own target dir: the workspace's must not hold a foreign lock.
    CARGO_TARGET_DIR="$tools/target" cargo install tauri-driver --version 2.1.0 --locked --root "$tools" --quiet >&2
    rm -rf "$tools/target"
fi
echo "$tools/bin"
