#!/usr/bin/env bash
# Builds (release) and runs the Cloud Buffer server on an embedded SQLite
# database in ./data, listening on http://127.0.0.1:8080. Any arguments are
# passed to cloudbuffer-server (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh
exec cargo run --release --locked -p cloudbuffer-server -- "$@"
