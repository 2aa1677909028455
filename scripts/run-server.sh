#!/usr/bin/env bash
# Builds (release) and runs the Cloud Buffer server on an embedded SQLite
# database in ./data, listening on http://127.0.0.1:8080. Any arguments are
# passed to cloudbuffer-server (try --help). Builds go to the same target dir
# as scripts/test.sh, outside the clone: set CARGO_TARGET_DIR to choose another.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"
scripts/system-deps.sh
exec cargo run --release --locked -p cloudbuffer-server -- "$@"
