#!/usr/bin/env bash
# What one small request costs the server, per route: instructions counted by
# callgrind (exact and repeatable, so a change of a few percent shows even on a
# noisy machine), and server CPU per request read from /proc under wrk next to
# req/s (what the instructions cost in time, with the kernel's part).
#
# Routes: GET /api/v1/me (the reference), a 1 KiB file's share link
# (/s/TOKEN/raw), its content route, and GET /api/v1/buffer with a 1 KiB text
# clip; all keep-alive. Each callgrind run uses a fresh server and counts
# BENCH_REQUESTS requests on one connection, after two warm-up requests.
#
# Knobs (environment): BENCH_REQUESTS [500], BENCH_WRK_SECONDS [5], BENCH_ROUTES
# ["me share content buffer"], BENCH_SERVER_BIN (a server binary to measure,
# else the `profiling` build: release code with symbols, which callgrind can
# attribute), BENCH_DIR [/var/tmp], BENCH_KEEP=1 (keep the temp dir and the
# callgrind files, for callgrind_annotate), CARGO_TARGET_DIR. See bench/README.md.
set -euo pipefail

REQUESTS=${BENCH_REQUESTS:-500}
WRK_SECONDS=${BENCH_WRK_SECONDS:-5}
ROUTES=${BENCH_ROUTES:-me share content buffer}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh"

positive BENCH_REQUESTS "$REQUESTS"
positive BENCH_WRK_SECONDS "$WRK_SECONDS"
for route in $ROUTES; do
    case $route in me | share | content | buffer) ;; *) die "unknown route '$route' in BENCH_ROUTES" ;; esac
done
ensure_cmds curl wrk valgrind
if [[ -n ${BENCH_SERVER_BIN:-} ]]; then
    SERVER_BIN=$BENCH_SERVER_BIN
else
    log "building (profiling, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$REPO" && cargo build --profile profiling -p cloudbuffer-server) || die "build failed"
    SERVER_BIN=$CARGO_TARGET_DIR/profiling/cloudbuffer-server
fi
[[ -x $SERVER_BIN ]] || die "no server binary at $SERVER_BIN"

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-requests.XXXXXX")
head -c 1024 /dev/urandom >"$DIR/small.bin"
head -c 768 /dev/urandom | base64 -w 0 | head -c 1024 >"$DIR/clip.txt"

prepare() { # a user with a 1 KiB file, its share link and a 1 KiB text clip on $URL:
    # sets TOKEN, FILE_ID, SHARE_RAW
    local code
    code=$(curl -sS -o "$DIR/auth.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"username":"bench","password":"bench-password-123"}' "$URL/api/v1/auth/register") ||
        server_fail "register failed"
    [[ $code == 201 ]] || server_fail "register: HTTP $code"
    TOKEN=$(json_field "$DIR/auth.json" access_token)
    upload_and_share "$DIR/small.bin" small.bin
    FILE_ID=$UPLOADED_ID
    SHARE_RAW=$SHARE_URL/raw
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'X-Data-Type: text' \
        -T "$DIR/clip.txt" "$URL/api/v1/buffer") || server_fail "PUT /api/v1/buffer failed"
    [[ $code == 201 ]] || server_fail "PUT /api/v1/buffer: HTTP $code"
}

url_of() { # ROUTE: its URL
    case $1 in
        me) echo "$URL/api/v1/me" ;;
        share) echo "$SHARE_RAW" ;;
        content) echo "$URL/api/v1/files/$FILE_ID/content" ;;
        buffer) echo "$URL/api/v1/buffer" ;;
    esac
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; } # user + system, in clock ticks

# --- under wrk: req/s and server CPU per request ------------------------------------
start_server
prepare
declare -A RPS CPU
for route in $ROUTES; do
    log "wrk -t2 -c50 -d${WRK_SECONDS}s on $route"
    before=$(cpu_ticks)
    run "$DIR/wrk.out" wrk -t2 -c50 -d"${WRK_SECONDS}s" -H "Authorization: Bearer $TOKEN" "$(url_of "$route")" ||
        server_fail "wrk failed on $route"
    after=$(cpu_ticks)
    grep -q 'Non-2xx' "$DIR/wrk.out" && server_fail "$route: non-2xx answers under wrk: $(cat "$DIR/wrk.out")"
    count=$(awk '/requests in/ { print $1 }' "$DIR/wrk.out")
    RPS[$route]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$DIR/wrk.out")
    CPU[$route]=$(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v n="$count" \
        'BEGIN { printf "%.1f", t / hz / n * 1e6 }')
done
stop "$SERVER_PID"

# --- under callgrind: instructions per request --------------------------------------
declare -A INSTR
for route in $ROUTES; do
    rm -rf "$DIR/data"
    port=$(free_port) || die "no free port found"
    URL=http://127.0.0.1:$port
    log "callgrind: $REQUESTS requests on $route"
    valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.$route" \
        "$SERVER_BIN" --bind "127.0.0.1:$port" --data-dir "$DIR/data" >>"$DIR/server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for ((i = 0; ; i++)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/healthz" || true) == 200 ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || server_fail "the server exited under valgrind"
        ((i < 600)) || server_fail "no /healthz under valgrind after 60 s"
        sleep 0.1
    done
    prepare
    url=$(url_of "$route")
    : >"$DIR/curl.cfg"
    for ((i = 0; i < REQUESTS; i++)); do printf 'url = "%s"\noutput = /dev/null\n' "$url" >>"$DIR/curl.cfg"; done
    curl -sS -o /dev/null -o /dev/null -H "Authorization: Bearer $TOKEN" "$url" "$url" || server_fail "warm-up failed"
    callgrind_control -z "$SERVER_PID" >/dev/null 2>&1 # count from here
    codes=$(curl -sS -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" -K "$DIR/curl.cfg" | sort | uniq -c)
    callgrind_control -d "$SERVER_PID" >/dev/null 2>&1 # to here, into callgrind.ROUTE.1
    [[ $codes =~ ^\ *$REQUESTS\ 200$ ]] || server_fail "$route under callgrind: $codes"
    stop "$SERVER_PID"
    total=$(callgrind_annotate "$DIR/callgrind.$route.1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    [[ -n $total ]] || die "could not read callgrind's totals for $route"
    INSTR[$route]=$((total / REQUESTS))
done

# --- report -------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "Small requests, keep-alive, $(nproc) CPUs; server $SERVER_BIN"
printf '  %-28s %14s %9s %12s %9s %12s\n' route instructions "÷ me" "CPU µs" "÷ me" "req/s (wrk)"
for route in $ROUTES; do
    printf '  %-28s %14s %9s %12s %9s %12s\n' "$route" "${INSTR[$route]}" \
        "$([[ -n ${INSTR[me]:-} ]] && ratio "${INSTR[$route]}" "${INSTR[me]}" || echo -)" "${CPU[$route]}" \
        "$([[ -n ${CPU[me]:-} ]] && ratio "${CPU[$route]}" "${CPU[me]}" || echo -)" "${RPS[$route]}"
done
echo "instructions: user space only, per request, counted by callgrind over $REQUESTS requests on one connection"
echo "CPU µs: the server's user + system time per request under wrk -t2 -c50 -d${WRK_SECONDS}s (kernel included)"
[[ $KEEP == 1 ]] && echo "callgrind files: $DIR/callgrind.ROUTE.1 (callgrind_annotate --inclusive=yes FILE)"
exit 0
