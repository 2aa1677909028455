#!/usr/bin/env bash
# Cloud Buffer benchmark of the clipboard sync engine (the client crate):
#   latency - two sync engines of one user ("device A" and "device B", each with its
#             own clipboard and state dir) on loopback: a text set on A's clipboard
#             until B's clipboard holds it, p50/p99 over BENCH_SYNC_CLIPS [200] clips,
#             once with clipboard change events (as X11's XFixes gives them) and once
#             polling every 250 ms (as where a platform has no events); every clip
#             must arrive once and nothing may echo back
#   idle    - the CPU time of a real `cloudbuffer sync` process, signed in, connected
#             and watching the X11 clipboard of a private Xvfb display, over
#             BENCH_SYNC_IDLE_SECONDS [60] of doing nothing
# and prints the figures with PASS/MISS per target. Misses are results, not errors:
# the exit status is 0 unless something failed (a lost or echoed clip, an engine
# that does not connect, a sync process that dies).
#
# Knobs (environment): BENCH_SYNC_CLIPS [200], BENCH_SYNC_IDLE_SECONDS [60],
# BENCH_DIR [/var/tmp], BENCH_SERVER_BIN (use this server binary, don't build it),
# BENCH_KEEP=1 (keep the temp dir), CARGO_TARGET_DIR [$HOME/.cache/cloudbuffer/target].
# See bench/README.md.
set -euo pipefail

CLIPS=${BENCH_SYNC_CLIPS:-200}
IDLE_SECONDS=${BENCH_SYNC_IDLE_SECONDS:-60}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}
EVENTS_TARGET_MS=50
POLLING_TARGET_MS=300
IDLE_CPU_TARGET_PCT=1

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh" # log, die, cleanup trap, run/stop, ensure_cmds, start_server, ...

[[ $CLIPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SYNC_CLIPS must be a positive integer, not '$CLIPS'"
[[ $IDLE_SECONDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SYNC_IDLE_SECONDS must be a positive integer, not '$IDLE_SECONDS'"

# --- tools, build, temp dir ------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust: https://rustup.rs)"
ensure_cmds curl
"$REPO/scripts/system-deps.sh" xvfb xauth >&2 || die "could not install Xvfb"

pkgs=(-p cloudbuffer-bench -p cloudbuffer-client)
[[ -n ${BENCH_SERVER_BIN:-} ]] || pkgs=(-p cloudbuffer-server "${pkgs[@]}")
log "building (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$REPO" && cargo build --release "${pkgs[@]}") || die "build failed"
BIN=$(cd "$CARGO_TARGET_DIR/release" && pwd)
SERVER_BIN=${BENCH_SERVER_BIN:-$BIN/cloudbuffer-server}
[[ -x $SERVER_BIN ]] || die "no server binary at $SERVER_BIN"

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-sync.XXXXXX")
kv() { awk -v k="$2" '$1 == k { print $2 }' "$1"; } # FILE KEY: the value of a "key value" line

start_server --auth-attempts-per-minute 100000

# --- latency: two engines in one process ------------------------------------------------
log "latency: $CLIPS clips from device A to device B, with change events, then polling"
run "$DIR/latency.out" "$BIN/sync_latency" --server "$URL" --clips "$CLIPS" --dir "$DIR" ||
    server_fail "sync_latency failed (exit $?; a delivery error is exit 3)"
L=$DIR/latency.out

# --- idle: a real `cloudbuffer sync` on a private X display --------------------------
start_xvfb 800x600x24

export CLOUDBUFFER_CONFIG_DIR=$DIR/cli-config CLOUDBUFFER_PASSWORD=idle-bench-password
"$BIN/cloudbuffer" login --server "$URL" --username idle --register >"$DIR/login.out" 2>&1 ||
    server_fail "cloudbuffer login failed: $(cat "$DIR/login.out")"
DISPLAY=$XDISPLAY "$BIN/cloudbuffer" sync >"$DIR/sync.out" 2>&1 &
SYNC_PID=$!
PIDS+=("$SYNC_PID")
for ((i = 0; ; i++)); do
    grep -q 'connected' "$DIR/sync.out" && break
    kill -0 "$SYNC_PID" 2>/dev/null || die "cloudbuffer sync exited: $(cat "$DIR/sync.out")"
    ((i < 300)) || die "cloudbuffer sync not connected after 30 s: $(cat "$DIR/sync.out")"
    sleep 0.1
done
grep -q 'no clipboard' "$DIR/sync.out" && die "cloudbuffer sync found no X clipboard: $(cat "$DIR/sync.out")"
sleep 1 # let start-up (catch-up from the history) finish before measuring

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime of PID, in clock ticks
HZ=$(getconf CLK_TCK)
log "idle: cloudbuffer sync for ${IDLE_SECONDS} s"
t0=$(now_ns) c0=$(ticks "$SYNC_PID")
sleep "$IDLE_SECONDS"
kill -0 "$SYNC_PID" 2>/dev/null || die "cloudbuffer sync died while idle: $(cat "$DIR/sync.out")"
t1=$(now_ns) c1=$(ticks "$SYNC_PID")
SYNC_RSS=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$SYNC_PID/status")
SYNC_THREADS=$(awk '$1 == "Threads:" { print $2 }' "/proc/$SYNC_PID/status")
stop "$SYNC_PID"
IDLE_CPU_MS=$(awk -v c=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.0f", c * 1000 / hz }')
IDLE_PCT=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", (c / hz) / (ns / 1e9) * 100 }')
stop "$SERVER_PID"

# --- report ---------------------------------------------------------------------------
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v <= lim) ? "PASS" : "MISS" }'; }
pcts() { # MODE
    printf 'p50 %s  p90 %s  p99 %s  max %s ms  (min %s, mean %s)' "$(kv "$L" "$1_p50_ms")" "$(kv "$L" "$1_p90_ms")" \
        "$(kv "$L" "$1_p99_ms")" "$(kv "$L" "$1_max_ms")" "$(kv "$L" "$1_min_ms")" "$(kv "$L" "$1_mean_ms")"
}
EV_P99=$(kv "$L" events_p99_ms)
PO_P99=$(kv "$L" polling_p99_ms)
[[ -n $EV_P99 && -n $PO_P99 ]] || die "could not read sync_latency's output: $(head -c 500 "$L")"

echo
echo "Cloud Buffer sync engine benchmark: $(nproc) CPUs; server $SERVER_BIN"
echo
echo "Clipboard latency, device A's clipboard set -> device B's clipboard holds it ($CLIPS clips, one at a time)"
printf '  %-34s %s\n' "with change events" "$(pcts events)"
printf '  %-34s %s\n' "polling every $(kv "$L" polling_poll_ms) ms" "$(pcts polling)"
printf '  %-34s events %s, polling %s (every clip once, no echo)\n' "delivery" "$(kv "$L" events_delivery)" \
    "$(kv "$L" polling_delivery)"
echo
echo "Idle \`cloudbuffer sync\` (connected, watching the X11 clipboard of Xvfb $XDISPLAY)"
printf '  %-34s %s ms of CPU in %s s = %s %% of a core\n' "CPU" "$IDLE_CPU_MS" "$IDLE_SECONDS" "$IDLE_PCT"
printf '  %-34s %s MiB, %s threads\n' "RSS at the end" "$(awk -v k="$SYNC_RSS" 'BEGIN { printf "%.1f", k / 1024 }')" \
    "$SYNC_THREADS"
echo
echo "Targets"
printf '  %-44s %-14s %s\n' \
    "p99 with change events <= $EVENTS_TARGET_MS ms" "$EV_P99 ms" "$(verdict "$EV_P99" "$EVENTS_TARGET_MS")" \
    "p99 polling <= $POLLING_TARGET_MS ms" "$PO_P99 ms" "$(verdict "$PO_P99" "$POLLING_TARGET_MS")" \
    "idle sync CPU < $IDLE_CPU_TARGET_PCT % of a core" "$IDLE_PCT %" "$(verdict "$IDLE_PCT" "$IDLE_CPU_TARGET_PCT")"
