#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test of the workspace
# (real servers on loopback over real SQLite files and the local store),
# then the server's tests again on a real PostgreSQL with blobs in a real S3
# server (a throwaway cluster and an s3s-fs on free loopback ports,
# scripts/postgres.sh and scripts/s3.sh). Installs what it needs first.
# Builds go to a target dir outside the clone so repeated runs (and CI)
# reuse it: set CARGO_TARGET_DIR to choose another.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Xvfb and xclip: the real clipboard backend is tested on a private X server.
scripts/system-deps.sh xvfb xclip xauth
# Headless Chromium and its WebDriver: the web app in a real browser
# (tests/tests/web_app*.rs), which under CI fail instead of skipping without them.
scripts/system-deps.sh chromium chromium-driver
# The desktop app: WebKitGTK to build it; WebKitWebDriver and tauri-driver
# to drive it under Xvfb in its end-to-end test (src-tauri/tests/desktop.rs).
PATH="$(scripts/desktop-deps.sh):$PATH"
export PATH

step() { printf '\n== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# shellcheck source=postgres.sh
source scripts/postgres.sh
# shellcheck source=s3.sh
source scripts/s3.sh
trap 'pg_stop; s3_stop' EXIT
# Installed before the long steps, so a failure shows early.
pg_bin_dir >/dev/null
CLOUDBUFFER_TEST_S3FS=$(s3_bin)
export CLOUDBUFFER_TEST_S3FS
# The S3 tests (server/tests/store_s3.rs) start their own s3s-fs with these
# credentials; the suite's bucket below uses them too.
s3_start

step "tests"
cargo test --workspace --locked

step "server tests on PostgreSQL, blobs in S3"
pg_start
CLOUDBUFFER_TEST_DATABASE_URL="$PG_URL" CLOUDBUFFER_TEST_STORE_URL="s3://$S3_BUCKET" \
    CLOUDBUFFER_TEST_S3_ENDPOINT="$S3_ENDPOINT" cargo test -p cloudbuffer-server --locked
pg_stop
s3_stop
