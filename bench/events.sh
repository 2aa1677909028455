#!/usr/bin/env bash
# Cloud Buffer benchmark of the buffer and its live events (GET /api/v1/events):
#   idle    - the server's RSS with BENCH_IDLE_CONNECTIONS [10000] idle event WebSockets,
#             and before them, so the cost per connection shows; then the same again
#             on the server restarted (same data dir and tokens), which has hashed no
#             password, so the connections' own cost shows
#   latency - BENCH_EVENTS_USERS [100] users x BENCH_EVENTS_DEVICES [10] signed-in
#             devices, one WebSocket each; BENCH_EVENTS_CLIPS [1000] text clips PUT one
#             at a time by device 0; how long after the PUT returns does clip.created
#             reach device 1; every device of the user gets it, carrying that clip, no
#             device of another user does
#   wrk     - GET /api/v1/buffer (the newest clip's content) throughput/latency
# and prints the figures and PASS/MISS per target. Misses are results, not errors: exit
# status is 0 unless something actually failed (a wrong HTTP status, a lost or
# misdelivered event, connections that could not be opened).
#
# Knobs (environment): BENCH_EVENTS_USERS [100], BENCH_EVENTS_DEVICES [10],
# BENCH_EVENTS_CLIPS [1000], BENCH_IDLE_CONNECTIONS [10000], BENCH_WRK_SECONDS [10],
# BENCH_DIR [/var/tmp], BENCH_SERVER_BIN (use this server binary, don't build it),
# BENCH_KEEP=1 (keep the temp dir), CARGO_TARGET_DIR [$HOME/.cache/cloudbuffer/target].
# See bench/README.md.
set -euo pipefail

USERS=${BENCH_EVENTS_USERS:-100}
DEVICES=${BENCH_EVENTS_DEVICES:-10}
CLIPS=${BENCH_EVENTS_CLIPS:-1000}
IDLE=${BENCH_IDLE_CONNECTIONS:-10000}
WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}
LATENCY_TARGET_MS=10
RSS_TARGET_MIB=200

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh" # log, die, cleanup trap, run/stop, ensure_cmds, start_server, ...

positive BENCH_EVENTS_USERS "$USERS"
positive BENCH_EVENTS_DEVICES "$DEVICES"
positive BENCH_EVENTS_CLIPS "$CLIPS"
positive BENCH_IDLE_CONNECTIONS "$IDLE"
positive BENCH_WRK_SECONDS "$WRK_SECONDS"
((DEVICES >= 2)) || die "BENCH_EVENTS_DEVICES must be at least 2 (one sends, another is timed)"

# --- tools, build, limits, temp dir -------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust: https://rustup.rs)"
ensure_cmds curl wrk

pkgs=(-p cloudbuffer-bench)
[[ -n ${BENCH_SERVER_BIN:-} ]] || pkgs=(-p cloudbuffer-server "${pkgs[@]}")
log "building (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$REPO" && cargo build --release "${pkgs[@]}") || die "build failed"
BIN=$(cd "$CARGO_TARGET_DIR/release" && pwd)
SERVER_BIN=${BENCH_SERVER_BIN:-$BIN/cloudbuffer-server}
[[ -x $SERVER_BIN ]] || die "no server binary at $SERVER_BIN"
LOAD=$BIN/events_load

# The server and events_load each hold one descriptor per connection, plus their own
# few; both inherit this shell's limit. Raise the soft limit as far as the hard one.
hard=$(ulimit -Hn)
[[ $hard == unlimited ]] && hard=1048576
ulimit -n "$hard" 2>/dev/null || true
need_fds=$((IDLE > USERS * DEVICES ? IDLE + 1024 : USERS * DEVICES + 1024))
(($(ulimit -n) >= need_fds)) ||
    die "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); $need_fds needed: raise the hard limit or lower BENCH_IDLE_CONNECTIONS"
read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
((port_hi - port_lo >= need_fds)) ||
    log "warning: only $((port_hi - port_lo)) local ports ($port_lo-$port_hi) for $need_fds connections"

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-events.XXXXXX")
FSTYPE=$(stat -f -c %T "$DIR")

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; } # KiB → MiB
kv() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }           # FILE KEY: the value of a "key value" line

# --- the server ----------------------------------------------------------------------
# Registration is rate-limited per client address; everything here comes from 127.0.0.1.
# The idle phase holds IDLE / USERS event sockets per user, past the default cap of 32.
SERVER_FLAGS=(--auth-attempts-per-minute 100000 --max-event-sockets-per-user 1000)
start_server "${SERVER_FLAGS[@]}"
RSS_FRESH=$(rss_kib VmRSS)

# --- idle connections ---------------------------------------------------------------
idle_phase() { # NAME: open $IDLE idle connections to the server with the tokens of
    # tokens.txt, read the server's memory once all are open, close them. Sets
    # IDLE_OPEN, IDLE_RSS, IDLE_HWM, IDLE_FDS (server memory in KiB, descriptors).
    local out=$DIR/$1.out i pid failed
    log "opening $IDLE idle event connections ($1)"
    # --hold-seconds is only a safety net: we stop it as soon as the RSS is read.
    "$LOAD" idle --server "$URL" --tokens-file "$DIR/tokens.txt" --connections "$IDLE" --hold-seconds 900 \
        >"$out" &
    pid=$!
    PIDS+=("$pid")
    for ((i = 0; ; i++)); do
        grep -q '^open ' "$out" && break
        kill -0 "$pid" 2>/dev/null || server_fail "events_load idle failed"
        ((i < 3000)) || server_fail "events_load idle: connections not open after 300 s"
        sleep 0.1
    done
    IDLE_OPEN=$(kv "$out" open)
    failed=$(kv "$out" failed)
    IDLE_RSS=$(rss_kib VmRSS)
    IDLE_HWM=$(rss_kib VmHWM)
    IDLE_FDS=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
    stop "$pid"
    # Connections that would not open: a broken server (or limits), not a slow one.
    ((IDLE_OPEN == IDLE && failed == 0)) ||
        server_fail "$1: only $IDLE_OPEN of $IDLE idle connections were open ($failed failed)"
    # Let the server see them go before what comes next.
    for ((i = 0; i < 100; i++)); do
        (($(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l) < 100)) && break
        sleep 0.1
    done
}
per_conn() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", n ? (a - b) / n : 0 }'; } # KiB

log "registering $USERS users"
run "$DIR/tokens.txt" "$LOAD" register --server "$URL" --users "$USERS" || server_fail "registering $USERS users failed"
RSS_BEFORE=$(rss_kib VmRSS)
HWM_BEFORE=$(rss_kib VmHWM)
idle_phase idle
RSS_IDLE=$IDLE_RSS HWM_IDLE=$IDLE_HWM FDS_IDLE=$IDLE_FDS
PER_CONN=$(per_conn "$RSS_IDLE" "$RSS_BEFORE" "$IDLE_OPEN")

# The same again on a new server process (the signing key is in the data dir, so the
# tokens still work): it has hashed no password, so its memory is the connections'.
log "restarting the server (same data dir)"
stop "$SERVER_PID"
start_server "${SERVER_FLAGS[@]}"
RSS_RESTART=$(rss_kib VmRSS)
idle_phase idle-restarted
R_RSS_IDLE=$IDLE_RSS R_HWM_IDLE=$IDLE_HWM R_FDS_IDLE=$IDLE_FDS
R_PER_CONN=$(per_conn "$R_RSS_IDLE" "$RSS_RESTART" "$IDLE_OPEN")

# --- latency --------------------------------------------------------------------------
log "latency: $USERS users x $DEVICES devices (one event connection each), $CLIPS clips"
rc=0
run "$DIR/latency.out" "$LOAD" latency --server "$URL" --users "$USERS" --devices "$DEVICES" --clips "$CLIPS" || rc=$?
# 3: the run finished but events went missing or astray; reported below, then fatal.
((rc == 0 || rc == 3)) || server_fail "events_load latency failed (exit $rc)"
L=$DIR/latency.out
LAT_P99=$(kv "$L" event_after_put.p99_ms)
[[ -n $LAT_P99 ]] || server_fail "could not read events_load's output: $(head -c 500 "$L")"
RSS_LATENCY=$(rss_kib VmRSS)

# --- wrk on GET /api/v1/buffer -------------------------------------------------------
TOKEN=$(head -n 1 "$DIR/tokens.txt")
CLIP_TEXT="hello from bench/events.sh"
code=$(curl -sS -o "$DIR/clip.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
    -H 'X-Data-Type: text' --data-binary "$CLIP_TEXT" "$URL/api/v1/buffer") || server_fail "PUT /api/v1/buffer failed"
[[ $code == 201 ]] || server_fail "PUT /api/v1/buffer: HTTP $code: $(head -c 300 "$DIR/clip.json")"
code=$(curl -sS -o "$DIR/buffer.txt" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/buffer") ||
    server_fail "GET /api/v1/buffer failed"
[[ $code == 200 && $(cat "$DIR/buffer.txt") == "$CLIP_TEXT" ]] ||
    server_fail "GET /api/v1/buffer: HTTP $code: $(head -c 300 "$DIR/buffer.txt")"
log "wrk -t2 -c50 -d${WRK_SECONDS}s on GET /api/v1/buffer"
run "$DIR/wrk.out" wrk -t2 -c50 -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $TOKEN" "$URL/api/v1/buffer" ||
    server_fail "wrk failed"
WRK_OUT=$(cat "$DIR/wrk.out")
RPS=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$WRK_OUT")
P99=$(awk '$1 == "99%" { print $2 }' <<<"$WRK_OUT")
NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$WRK_OUT")
SOCKERR=$(sed -n 's/^ *Socket errors: *//p' <<<"$WRK_OUT")
[[ -n $RPS && -n $P99 ]] || server_fail "could not read wrk's output: $WRK_OUT"
HWM_END=$(rss_kib VmHWM)
stop "$SERVER_PID"

# --- report -------------------------------------------------------------------------
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v <= lim) ? "PASS" : "MISS" }'; }
pcts() { # NAME: "p50 … p90 … p99 … max … ms" from events_load's NAME.*_ms lines
    printf 'p50 %s  p90 %s  p99 %s  max %s ms' "$(kv "$L" "$1.p50_ms")" "$(kv "$L" "$1.p90_ms")" \
        "$(kv "$L" "$1.p99_ms")" "$(kv "$L" "$1.max_ms")"
}
ERRORS=$(kv "$L" errors)
RSS_IDLE_MIB=$(mib "$RSS_IDLE")
R_RSS_IDLE_MIB=$(mib "$R_RSS_IDLE")
LAT_P99_START=$(kv "$L" event_after_start.p99_ms)

echo
echo "Cloud Buffer live events benchmark: $(nproc) CPUs, data dir on $FSTYPE ($BASE)"
echo "Server: $SERVER_BIN"
echo
echo "Idle event connections: $IDLE over $USERS users (?access_token=), server memory from /proc/PID/status"
printf '  %-46s %10s MiB\n' "RSS of the fresh server" "$(mib "$RSS_FRESH")"
printf '  %-46s %10s MiB   (VmHWM %s MiB)\n' "RSS after registering $USERS users" "$(mib "$RSS_BEFORE")" "$(mib "$HWM_BEFORE")"
printf '  %-46s %10s MiB   (VmHWM %s MiB)\n' "RSS with $IDLE_OPEN connections open" "$RSS_IDLE_MIB" "$(mib "$HWM_IDLE")"
printf '  %-46s %10s KiB   ((with - before) / open; %s MiB in all)\n' "per connection" "$PER_CONN" \
    "$(mib $((RSS_IDLE - RSS_BEFORE)))"
printf '  %-46s %10s\n' "server file descriptors" "$FDS_IDLE"
echo "The same on the server restarted (same data dir and tokens; it has hashed no password):"
printf '  %-46s %10s MiB\n' "RSS of the restarted server" "$(mib "$RSS_RESTART")"
printf '  %-46s %10s MiB   (VmHWM %s MiB)\n' "RSS with $IDLE_OPEN connections open" "$R_RSS_IDLE_MIB" "$(mib "$R_HWM_IDLE")"
printf '  %-46s %10s KiB   ((with - before) / open; %s MiB in all)\n' "per connection" "$R_PER_CONN" \
    "$(mib $((R_RSS_IDLE - RSS_RESTART)))"
printf '  %-46s %10s\n' "server file descriptors" "$R_FDS_IDLE"
echo
echo "Event latency: $USERS users x $DEVICES signed-in devices = $(kv "$L" connections) WebSockets, $CLIPS text clips PUT one at a time"
echo "(t0 device 0 sends the PUT, t1 its response is complete, t2 clip.created reaches device 1 of the user)"
printf '  %-46s %s\n' "event after the PUT returned (t2 - t1)" "$(pcts event_after_put)"
printf '  %-46s %s of %s (those count as 0 above)\n' "  events that came before the PUT returned" \
    "$(kv "$L" event_after_put.early)" "$(kv "$L" measured)"
printf '  %-46s %s\n' "event after the PUT was sent (t2 - t0)" "$(pcts event_after_start)"
printf '  %-46s %s\n' "PUT /api/v1/buffer round trip (t1 - t0)" "$(pcts put)"
printf '  %-46s %s expected: %s missing, %s duplicated, %s to another user, %s unknown, %s timed out\n' \
    "deliveries (every device of the user)" "$(kv "$L" deliveries.expected)" "$(kv "$L" deliveries.missing)" \
    "$(kv "$L" deliveries.duplicate)" "$(kv "$L" deliveries.foreign)" "$(kv "$L" deliveries.unknown)" "$(kv "$L" timeouts)"
printf '  %-46s %s\n' "events with the wrong text, kind or origin" "$(kv "$L" deliveries.wrong)"
printf '  %-46s %s\n' "connections lost during the run" "$(kv "$L" connections.closed)"
printf '  %-46s %s MiB   (after its %s registrations and %s sign-ins)\n' "server RSS after the latency run" \
    "$(mib "$RSS_LATENCY")" "$USERS" $((USERS * (DEVICES - 1)))
echo
printf '  %-46s %s req/s, p99 %s   (server VmHWM %s MiB after)\n' "GET /api/v1/buffer (wrk -t2 -c50 -d${WRK_SECONDS}s)" \
    "$RPS" "$P99" "$(mib "$HWM_END")"
[[ -z $NON2XX ]] || printf '  %-46s %s  (req/s counts them: not a clean figure)\n' "  non-2xx responses" "$NON2XX"
[[ -z $SOCKERR ]] || printf '  %-46s %s\n' "  socket errors" "$SOCKERR"

echo
echo "Targets"
printf '  %-52s %-32s %s\n' \
    "clip.created p99 after the PUT returned <= $LATENCY_TARGET_MS ms" "$LAT_P99 ms" "$(verdict "$LAT_P99" "$LATENCY_TARGET_MS")" \
    "  stricter: p99 after the PUT was sent <= $LATENCY_TARGET_MS ms" "$LAT_P99_START ms" "$(verdict "$LAT_P99_START" "$LATENCY_TARGET_MS")" \
    "RSS with $IDLE idle connections <= $RSS_TARGET_MIB MiB" "$RSS_IDLE_MIB MiB (VmHWM $(mib "$HWM_IDLE"))" "$(verdict "$RSS_IDLE_MIB" "$RSS_TARGET_MIB")" \
    "  the same, restarted server <= $RSS_TARGET_MIB MiB" "$R_RSS_IDLE_MIB MiB (VmHWM $(mib "$R_HWM_IDLE"))" "$(verdict "$R_RSS_IDLE_MIB" "$RSS_TARGET_MIB")"
printf '  %-52s %-32s %s\n' "GET /api/v1/buffer under wrk (no target)" "$RPS req/s, p99 $P99" "info"

# Lost, misdelivered or wrong events: a broken server, not a slow one.
((ERRORS == 0)) || die "events_load saw $ERRORS delivery errors (see above)"
