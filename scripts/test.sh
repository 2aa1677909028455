#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test of the workspace
# (real servers on loopback over real SQLite files), then the server's tests
# again on a real PostgreSQL (a throwaway cluster on a free loopback port,
# scripts/postgres.sh). Installs the system packages it needs first. Builds go to a target dir outside the clone so
# repeated runs (and CI) reuse it: set CARGO_TARGET_DIR to choose another.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Xvfb and xclip: the real clipboard backend is tested on a private X server.
scripts/system-deps.sh xvfb xclip xauth
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
trap pg_stop EXIT
pg_bin_dir >/dev/null # install before the long steps, so a failure shows early

step "tests"
cargo test --workspace --locked

step "server tests on PostgreSQL"
pg_start
CLOUDBUFFER_TEST_DATABASE_URL="$PG_URL" cargo test -p cloudbuffer-server --locked
pg_stop
