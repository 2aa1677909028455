#!/usr/bin/env bash
# Cloud Buffer soak benchmark: SOAK_CLIENTS [200] concurrent clients for SOAK_SECONDS
# [60] against a release server, over SOAK_ACCOUNTS [10] accounts, each client doing
# what real ones do: sign in, put text on the buffer and read it back, read the
# buffer, upload small files (1 B - 64 KiB) and download them back, share them and
# fetch the link, list, delete, open and close the events WebSocket
# (src/bin/soak/, see bench/README.md).
#
# Prints requests by operation and status, every failure, and the server's RSS,
# VmHWM, threads and open descriptors from /proc/PID at the start, at the peak
# (sampled each second) and at the end (after the clients stopped and
# SOAK_QUIET_SECONDS [5] of quiet); then checks that every file acknowledged with 201
# (and not deleted) downloads intact. Exit status 1 on any 5xx, connection error,
# unexpected status, lost or corrupt data, a server panic or a server that died; 429
# (and WebSocket close 4029) are the server's limits at work, counted, not failures.
#
# Knobs (environment): SOAK_CLIENTS, SOAK_SECONDS, SOAK_ACCOUNTS, SOAK_QUIET_SECONDS,
# SOAK_THINK_MS [20] (each client pauses 0..2x this between operations),
# SOAK_AUTH_PER_MINUTE [600] (the server's --auth-attempts-per-minute: every client
# comes from 127.0.0.1), BENCH_DIR [/var/tmp], BENCH_SERVER_BIN, BENCH_KEEP=1,
# CARGO_TARGET_DIR [$HOME/.cache/cloudbuffer/target].
set -euo pipefail

CLIENTS=${SOAK_CLIENTS:-200}
SECONDS_=${SOAK_SECONDS:-60}
ACCOUNTS=${SOAK_ACCOUNTS:-10}
QUIET=${SOAK_QUIET_SECONDS:-5}
THINK_MS=${SOAK_THINK_MS:-20}
AUTH_PER_MINUTE=${SOAK_AUTH_PER_MINUTE:-600}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh" # log, die, cleanup trap, run/stop, ensure_cmds, start_server, ...

positive SOAK_CLIENTS "$CLIENTS"
positive SOAK_SECONDS "$SECONDS_"
positive SOAK_ACCOUNTS "$ACCOUNTS"
positive SOAK_AUTH_PER_MINUTE "$AUTH_PER_MINUTE"
[[ $QUIET =~ ^[0-9]+$ ]] || die "SOAK_QUIET_SECONDS must be a number"
[[ $THINK_MS =~ ^[0-9]+$ ]] || die "SOAK_THINK_MS must be a number"

command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust: https://rustup.rs)"
ensure_cmds curl
pkgs=(-p cloudbuffer-bench)
[[ -n ${BENCH_SERVER_BIN:-} ]] || pkgs=(-p cloudbuffer-server "${pkgs[@]}")
log "building (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$REPO" && cargo build --release "${pkgs[@]}") || die "build failed"
BIN=$(cd "$CARGO_TARGET_DIR/release" && pwd)
SERVER_BIN=${BENCH_SERVER_BIN:-$BIN/cloudbuffer-server}
[[ -x $SERVER_BIN ]] || die "no server binary at $SERVER_BIN"

# Each client holds an HTTP connection and at times a WebSocket; both ends are here.
hard=$(ulimit -Hn)
[[ $hard == unlimited ]] && hard=1048576
ulimit -n "$hard" 2>/dev/null || true
(($(ulimit -n) >= 4 * CLIENTS + 256)) || die "ulimit -n is $(ulimit -n); $((4 * CLIENTS + 256)) needed"

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-soak.XXXXXX")

# Defaults but for what a soak must not trip over: no file or clip may be evicted
# (every acknowledged upload is checked at the end), no quota, and the per-address
# limits of one machine hosting every client. The per-user limits stay as shipped
# (8 uploads in flight, 32 event sockets): their 429s and 4029s are part of the mix.
start_server --max-files 1000000 --clip-history 1000000 --quota-bytes $((1 << 40)) \
    --auth-attempts-per-minute "$AUTH_PER_MINUTE" --max-connections-per-address $((8 * CLIENTS + 256))
log "soak: $CLIENTS clients x $SECONDS_ s over $ACCOUNTS accounts (server pid $SERVER_PID)"
rc=0
run "$DIR/soak.out" "$BIN/soak" --server "$URL" --server-pid "$SERVER_PID" --clients "$CLIENTS" \
    --seconds "$SECONDS_" --accounts "$ACCOUNTS" --quiet-seconds "$QUIET" --think-ms "$THINK_MS" || rc=$?

echo
echo "Cloud Buffer soak: $CLIENTS clients, $SECONDS_ s, $ACCOUNTS accounts, $(nproc) CPUs, server $SERVER_BIN"
cat "$DIR/soak.out"
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    server_fail "the server died during the soak"
fi
if grep -q 'panicked' "$DIR/server.log"; then
    grep -m 5 'panicked' "$DIR/server.log" >&2
    server_fail "the server panicked during the soak"
fi
errors=$(grep -c ' ERROR ' "$DIR/server.log" || true)
echo "Server log: $errors ERROR lines$( ((errors == 0)) || echo " (BENCH_KEEP=1 keeps $DIR/server.log)")"
((rc == 0)) || die "soak failed (exit $rc): see Failures above"
echo "PASS: no 5xx, no connection error, nothing lost or corrupt"
