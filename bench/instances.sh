#!/usr/bin/env bash
# Cloud Buffer benchmark of several instances on one PostgreSQL database. In one run,
# three configurations, each on a fresh database and data dir:
#   sqlite - one instance on SQLite (the default)
#   pg1    - one instance on PostgreSQL
#   pg2    - two instances, A and B, on the same PostgreSQL database and data dir (the
#            blob store), no --jwt-secret (they share the secret through the database)
# For each: wrk -t2 -c50 -d${BENCH_WRK_SECONDS}s --latency on GET /api/v1/me and on
# PUT /api/v1/buffer (a short text clip), one signed-in user; on pg2 two wrk at once,
# -c25 on A and -c25 on B, req/s summed. Then event latency (events_load latency:
# BENCH_EVENTS_USERS [100] x BENCH_EVENTS_DEVICES [10] devices, BENCH_EVENTS_CLIPS
# [1000] clips PUT one at a time by device 0); on pg2 the odd-numbered devices (the
# timed device 1 among them) listen on B while device 0 PUTs on A
# (--listen-server), so each event crosses instances over LISTEN/NOTIFY.
# Prints req/s and p99 per configuration, the ratios pg1/sqlite and pg2/pg1, event
# latency p50/p99, and PASS/MISS for "cross-instance event p99 <= 20 ms". A MISS is a
# result: exit status is 0 unless something actually failed (a wrong HTTP status, a
# lost or misdelivered event, a server or PostgreSQL that would not start).
#
# Knobs (environment): BENCH_WRK_SECONDS [10], BENCH_EVENTS_USERS [100],
# BENCH_EVENTS_DEVICES [10], BENCH_EVENTS_CLIPS [1000], BENCH_DIR [/var/tmp],
# BENCH_SERVER_BIN (use this server binary, don't build it), BENCH_KEEP=1 (keep the
# temp dir: server logs, wrk and events_load output), CARGO_TARGET_DIR
# [$HOME/.cache/cloudbuffer/target]. See bench/README.md.
set -euo pipefail

WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
USERS=${BENCH_EVENTS_USERS:-100}
DEVICES=${BENCH_EVENTS_DEVICES:-10}
CLIPS=${BENCH_EVENTS_CLIPS:-1000}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}
EVENT_TARGET_MS=20
LOAD_START=$(uptime)

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh" # log, die, cleanup trap, run/stop, ensure_cmds, free_port, json_field, ...
# shellcheck source=scripts/postgres.sh source-path=SCRIPTDIR/..
source "$REPO/scripts/postgres.sh" # pg_start, pg_stop, pg_bin_dir

# lib.sh's cleanup, with the servers stopped before PostgreSQL, and PostgreSQL after.
eval "lib_$(declare -f cleanup)"
cleanup() {
    local rc=$? pid
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    [[ -z $DIR || ! -d $DIR || -z ${PG_DIR:-} ]] || cp "$PG_DIR/server.log" "$DIR/postgres.log" 2>/dev/null
    pg_stop
    status "$rc"
    lib_cleanup
}
status() { return "$1"; }

positive BENCH_WRK_SECONDS "$WRK_SECONDS"
positive BENCH_EVENTS_USERS "$USERS"
positive BENCH_EVENTS_DEVICES "$DEVICES"
positive BENCH_EVENTS_CLIPS "$CLIPS"
((DEVICES >= 2)) || die "BENCH_EVENTS_DEVICES must be at least 2 (one sends, another is timed)"

# --- tools, build, limits, temp dir, PostgreSQL -------------------------------------
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

# One descriptor per event connection in the servers and in events_load.
hard=$(ulimit -Hn)
[[ $hard == unlimited ]] && hard=1048576
ulimit -n "$hard" 2>/dev/null || true
need_fds=$((USERS * DEVICES + 1024))
(($(ulimit -n) >= need_fds)) || die "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); $need_fds needed"

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-instances.XXXXXX")
FSTYPE=$(stat -f -c %T "$DIR")
pg_start || die "PostgreSQL would not start"
PSQL=$(pg_bin_dir)/psql
[[ -x $PSQL ]] || PSQL=psql
PG_VERSION=$("$PSQL" "$PG_URL" -Atc 'SHOW server_version')
pg_db() { # NAME: create database NAME, print its URL
    "$PSQL" "$PG_URL" -q -c "CREATE DATABASE $1" >&2 || die "CREATE DATABASE $1 failed"
    printf '%s/%s\n' "${PG_URL%/*}" "$1"
}

declare -A URL PID FIG # per instance: URL[NAME], PID[NAME]; figures: FIG[config.what.field]

kv() { awk -v k="$2" '$1 == k { print $2 }' "$1"; } # FILE KEY: the value of a "key value" line

# --- servers ---------------------------------------------------------------------------
# Every registration, sign-in and event socket comes from 127.0.0.1.
SERVER_ARGS=(--auth-attempts-per-minute 100000 --max-connections-per-address $((USERS * DEVICES + 256)))

instance_fail() { # NAME MESSAGE: die, showing the end of instance NAME's log
    printf 'bench: error: %s\n--- last lines of %s (BENCH_KEEP=1 keeps it)\n' "$2" "$DIR/$1.log" >&2
    tail -n 30 "$DIR/$1.log" >&2 || true
    exit 1
}

start_instance() { # NAME DATA_DIR ARGS...: start $SERVER_BIN on a free port with data
    # dir DATA_DIR and extra flags ARGS, log in $DIR/NAME.log; wait for /healthz.
    # Sets URL[NAME] and PID[NAME].
    local name=$1 data=$2 i code port url pid
    shift 2
    port=$(free_port) || die "no free port found"
    url=http://127.0.0.1:$port
    log "starting $name on $url"
    NO_COLOR=1 "$SERVER_BIN" --bind "127.0.0.1:$port" --data-dir "$data" "${SERVER_ARGS[@]}" "$@" >>"$DIR/$name.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for ((i = 0; ; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/healthz" || true)
        [[ $code == 200 ]] && break
        kill -0 "$pid" 2>/dev/null || instance_fail "$name" "$name exited during startup"
        ((i < 300)) || instance_fail "$name" "$name: GET /healthz not 200 after 30 s (last: $code)"
        sleep 0.1
    done
    URL[$name]=$url
    PID[$name]=$pid
}

register() { # NAME URL: register a user on URL; sets TOKEN
    local code
    code=$(curl -sS -o "$DIR/$1.register.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data "{\"username\":\"bench-$1\",\"password\":\"instances-bench-password\",\"device_name\":\"wrk\"}" \
        "$2/api/v1/auth/register") || instance_fail "$1" "POST /api/v1/auth/register failed"
    [[ $code == 201 ]] || instance_fail "$1" "register: HTTP $code: $(head -c 300 "$DIR/$1.register.json")"
    TOKEN=$(json_field "$DIR/$1.register.json" access_token)
    [[ -n $TOKEN ]] || instance_fail "$1" "no access_token in $(head -c 300 "$DIR/$1.register.json")"
}

check() { # NAME URL WHAT EXPECT CURL_ARGS...: one request as wrk will send it, status checked
    local name=$1 url=$2 what=$3 expect=$4 code
    shift 4
    code=$(curl -sS -o "$DIR/$name.check" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$@" "$url") ||
        instance_fail "$name" "$what failed"
    [[ $code == "$expect" ]] || instance_fail "$name" "$what: HTTP $code: $(head -c 300 "$DIR/$name.check")"
}

CLIP_TEXT="hello from bench/instances.sh"
# Both wrk scripts count the responses by status and print "status CODE N" lines at
# the end, and the body of the first non-2xx as "error_body CODE BODY", so a non-2xx
# shows what it was.
cat >"$DIR/get.lua" <<'EOF'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) codes = {}; first = "" end
function response(status, headers, body)
    codes[status] = (codes[status] or 0) + 1
    if status >= 300 and first == "" then first = status .. " " .. string.sub(body or "", 1, 200) end
end
function done(summary, latency, requests)
    local all, body = {}, ""
    for _, t in ipairs(threads) do
        for code, n in pairs(t:get("codes")) do all[code] = (all[code] or 0) + n end
        if body == "" then body = t:get("first") end
    end
    if body ~= "" then io.write("error_body " .. body .. "\n") end
    for code, n in pairs(all) do io.write(string.format("status %d %d\n", code, n)) end
end
EOF
{
    cat "$DIR/get.lua"
    printf 'wrk.method = "PUT"\nwrk.body = "%s"\nwrk.headers["X-Data-Type"] = "text"\n' "$CLIP_TEXT"
} >"$DIR/put.lua"

to_ms() { # a wrk latency (850.00us, 3.21ms, 1.02s, 2.00m) in ms
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
        if (f < 0) { print "?"; exit }
        printf "%.2f", n * f }'
}

wrk_start() { # OUT CONNECTIONS URL [ARGS...]: start wrk in the background; sets WRK_PID
    local out=$1 conns=$2 url=$3
    shift 3
    wrk -t2 -c"$conns" -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $TOKEN" "$@" "$url" >"$out" &
    WRK_PID=$!
    PIDS+=("$WRK_PID")
}
wrk_wait() { # KEY PID OUT: wait for one wrk and read its figures into FIG[KEY.rps|p99|bad]
    local rps p99 non2xx sockerr rc=0
    wait "$2" || rc=$?
    forget "$2"
    ((rc == 0)) || die "wrk for $1 failed (exit $rc): $(cat "$3")"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$3")
    p99=$(awk '$1 == "99%" { print $2 }' "$3")
    non2xx=$(awk '$1 == "status" && $2 !~ /^2/ { s = s (s ? ", " : "") $3 " x " $2 } END { print s }' "$3")
    sockerr=$(sed -n 's/^ *Socket errors: *//p' "$3")
    [[ -n $rps && -n $p99 ]] || die "could not read wrk's output for $1: $(cat "$3")"
    [[ -z $non2xx ]] || log "$1: HTTP $non2xx; the first: $(sed -n 's/^error_body //p' "$3")"
    FIG[$1.rps]=$(printf '%.0f' "$rps")
    FIG[$1.p99]=$(to_ms "$p99")
    # Non-2xx responses or socket errors: the req/s figure is not clean; reported.
    FIG[$1.bad]="${non2xx:+HTTP $non2xx}${non2xx:+${sockerr:+; }}${sockerr:+socket errors: $sockerr}"
}

wrk_phase() { # CONFIG NAME=URL...: GET /me and PUT /buffer under wrk on each instance at
    # once, the 50 connections split evenly; sets FIG[CONFIG.{GET,PUT}.{rps,p99,bad}]
    # (req/s summed, p99s joined with /), and per instance FIG[CONFIG.NAME.{GET,PUT}.*].
    # TOKEN must be set.
    local config=$1 spec name url conns what pids=() outs=() keys=() names=() i sum p99s bad
    shift
    conns=$((50 / $#))
    for spec in "$@"; do
        name=${spec%%=*} url=${spec#*=}
        check "$name" "$url/api/v1/me" "GET /api/v1/me" 200
        check "$name" "$url/api/v1/buffer" "PUT /api/v1/buffer" 201 -X PUT -H 'X-Data-Type: text' --data-binary "$CLIP_TEXT"
    done
    for what in GET PUT; do
        log "$config: wrk -t2 -c$conns -d${WRK_SECONDS}s on $what on $# instance(s) at once"
        pids=() outs=() keys=() names=()
        for spec in "$@"; do
            name=${spec%%=*} url=${spec#*=}
            outs+=("$DIR/$config.$name.$what.wrk")
            keys+=("$config.$name.$what") names+=("$name")
            if [[ $what == GET ]]; then
                wrk_start "${outs[-1]}" "$conns" "$url/api/v1/me" -s "$DIR/get.lua"
            else
                wrk_start "${outs[-1]}" "$conns" "$url/api/v1/buffer" -s "$DIR/put.lua"
            fi
            pids+=("$WRK_PID")
        done
        sum=0 p99s="" bad=""
        for i in "${!pids[@]}"; do
            wrk_wait "${keys[i]}" "${pids[i]}" "${outs[i]}"
            sum=$(awk -v a="$sum" -v b="${FIG[${keys[i]}.rps]}" 'BEGIN { printf "%.0f", a + b }')
            p99s+="${p99s:+ / }${FIG[${keys[i]}.p99]}"
            [[ -z ${FIG[${keys[i]}.bad]} ]] || bad+="${bad:+; }${names[i]}: ${FIG[${keys[i]}.bad]}"
        done
        FIG[$config.$what.rps]=$sum
        FIG[$config.$what.p99]=$p99s
        FIG[$config.$what.bad]=$bad
    done
}

events_phase() { # CONFIG URL [LISTEN_URL]: events_load latency, output in $DIR/CONFIG.events
    local out=$DIR/$1.events rc=0 extra=()
    [[ -z ${3:-} ]] || extra=(--listen-server "$3")
    log "$1: event latency, $USERS users x $DEVICES devices, $CLIPS clips${3:+ (odd devices on $3)}"
    run "$out" "$LOAD" latency --server "$2" "${extra[@]}" --users "$USERS" --devices "$DEVICES" --clips "$CLIPS" \
        2>"$DIR/$1.events.log" || rc=$?
    # 3: the run finished but events went missing or astray: reported, then fatal.
    if ((rc != 0 && rc != 3)); then
        tail -n 20 "$DIR/$1.events.log" >&2
        die "$1: events_load latency failed (exit $rc)"
    fi
    [[ -n $(kv "$out" event_after_put.p99_ms) ]] || die "$1: could not read events_load's output: $(head -c 500 "$out")"
}

stop_instance() { # NAME
    kill -0 "${PID[$1]}" 2>/dev/null || instance_fail "$1" "$1 died during the run"
    stop "${PID[$1]}"
}

# --- (a) one instance on SQLite --------------------------------------------------------
start_instance sqlite "$DIR/sqlite"
events_phase sqlite "${URL[sqlite]}"
register sqlite "${URL[sqlite]}"
wrk_phase sqlite "sqlite=${URL[sqlite]}"
stop_instance sqlite

# --- (b) one instance on PostgreSQL ----------------------------------------------------
DB_ONE=$(pg_db cloudbuffer_one)
start_instance pg1 "$DIR/pg1" --database-url "$DB_ONE"
events_phase pg1 "${URL[pg1]}"
register pg1 "${URL[pg1]}"
wrk_phase pg1 "pg1=${URL[pg1]}"
stop_instance pg1

# --- (c) two instances on one PostgreSQL database and one data dir --------------------
DB_TWO=$(pg_db cloudbuffer_two)
start_instance pgA "$DIR/pg2" --database-url "$DB_TWO"
start_instance pgB "$DIR/pg2" --database-url "$DB_TWO"
events_phase pg2 "${URL[pgA]}" "${URL[pgB]}"
register pgA "${URL[pgA]}"
wrk_phase pg2 "A=${URL[pgA]}" "B=${URL[pgB]}"
stop_instance pgA
stop_instance pgB
LOAD_END=$(uptime)

# --- report -------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v <= lim) ? "PASS" : "MISS" }'; }
log_problems() { # LOG: how many lines say WARN, ERROR or panicked
    sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '/ (WARN|ERROR) |panicked/ { n++ } END { print n + 0 }'
}

echo
echo "Cloud Buffer several-instances benchmark: $(nproc) CPUs, data dirs on $FSTYPE ($BASE), PostgreSQL $PG_VERSION (fsync off)"
echo "Server: $SERVER_BIN"
echo "Load at the start: ${LOAD_START#*load average: }; at the end: ${LOAD_END#*load average: }"
echo
echo "Throughput: wrk -t2 -d${WRK_SECONDS}s --latency, 50 connections (pg2: 25 on A and 25 on B at once, req/s summed), one user"
printf '  %-28s %12s %16s %12s %16s\n' "configuration" "GET /me" "p99 ms" "PUT /buffer" "p99 ms"
printf '  %-28s %12s %16s %12s %16s\n' \
    "sqlite (1 instance)" "${FIG[sqlite.GET.rps]}" "${FIG[sqlite.GET.p99]}" "${FIG[sqlite.PUT.rps]}" "${FIG[sqlite.PUT.p99]}" \
    "pg1 (1 instance)" "${FIG[pg1.GET.rps]}" "${FIG[pg1.GET.p99]}" "${FIG[pg1.PUT.rps]}" "${FIG[pg1.PUT.p99]}" \
    "pg2 (A + B, p99 A / B)" "${FIG[pg2.GET.rps]}" "${FIG[pg2.GET.p99]}" "${FIG[pg2.PUT.rps]}" "${FIG[pg2.PUT.p99]}" \
    "  of which A" "${FIG[pg2.A.GET.rps]}" "" "${FIG[pg2.A.PUT.rps]}" "" \
    "  of which B" "${FIG[pg2.B.GET.rps]}" "" "${FIG[pg2.B.PUT.rps]}" "" \
    "ratio pg1 / sqlite" "$(ratio "${FIG[pg1.GET.rps]}" "${FIG[sqlite.GET.rps]}")" "" \
    "$(ratio "${FIG[pg1.PUT.rps]}" "${FIG[sqlite.PUT.rps]}")" "" \
    "ratio pg2 / pg1" "$(ratio "${FIG[pg2.GET.rps]}" "${FIG[pg1.GET.rps]}")" "" \
    "$(ratio "${FIG[pg2.PUT.rps]}" "${FIG[pg1.PUT.rps]}")" ""
for config in sqlite pg1 pg2; do
    for what in GET PUT; do
        [[ -z ${FIG[$config.$what.bad]} ]] ||
            printf '  %-28s %s (req/s counts them: not a clean figure)\n' "  $config $what" "${FIG[$config.$what.bad]}"
    done
done
echo
echo "Event latency: $USERS users x $DEVICES devices, $CLIPS text clips PUT one at a time by device 0"
echo "(t1 the PUT's response is complete, t0 it was sent, t2 clip.created reaches device 1; pg2: PUT on A, device 1 on B)"
printf '  %-28s %11s %11s %11s %11s %8s %8s %8s\n' "configuration" "p50 t2-t1" "p99 t2-t1" "p50 t2-t0" "p99 t2-t0" \
    "early" "missing" "errors"
EVENT_ERRORS=0
for config in sqlite pg1 pg2; do
    f=$DIR/$config.events
    printf '  %-28s %11s %11s %11s %11s %8s %8s %8s\n' "$config" "$(kv "$f" event_after_put.p50_ms)" \
        "$(kv "$f" event_after_put.p99_ms)" "$(kv "$f" event_after_start.p50_ms)" "$(kv "$f" event_after_start.p99_ms)" \
        "$(kv "$f" event_after_put.early)" "$(kv "$f" deliveries.missing)" "$(kv "$f" errors)"
    EVENT_ERRORS=$((EVENT_ERRORS + $(kv "$f" errors)))
done
echo "  (ms; early: events that came before the PUT returned, counted as 0 in t2-t1; errors: missing, duplicated,"
echo "   misdelivered or wrong events and closed sockets, of $((CLIPS * DEVICES)) deliveries each)"
printf '  %-28s %s of %s sockets on B\n' "pg2 devices on B" "$(kv "$DIR/pg2.events" connections.listen_server)" \
    "$(kv "$DIR/pg2.events" connections)"
echo
printf '  %-28s' "server log WARN/ERROR lines"
for name in sqlite pg1 pgA pgB; do printf ' %s %s' "$name" "$(log_problems "$DIR/$name.log")"; done
# (pg_start's pg_isready probes as the calling user, role "root" when run as root)
printf '; PostgreSQL ERROR/FATAL/WARNING lines %s\n' \
    "$(awk '/ (ERROR|FATAL|WARNING): / && !/role "root" does not exist/ { n++ } END { print n + 0 }' "$PG_DIR/server.log")"
echo
CROSS_P99=$(kv "$DIR/pg2.events" event_after_put.p99_ms)
CROSS_P99_START=$(kv "$DIR/pg2.events" event_after_start.p99_ms)
echo "Targets"
printf '  %-52s %-14s %s\n' \
    "cross-instance event p99 <= $EVENT_TARGET_MS ms (after the PUT returned)" "$CROSS_P99 ms" \
    "$(verdict "$CROSS_P99" "$EVENT_TARGET_MS")" \
    "  stricter: after the PUT was sent" "$CROSS_P99_START ms" "$(verdict "$CROSS_P99_START" "$EVENT_TARGET_MS")"

# Lost, misdelivered or wrong events: a broken server, not a slow one.
((EVENT_ERRORS == 0)) || die "events_load saw $EVENT_ERRORS delivery errors (see above; BENCH_KEEP=1 keeps the logs)"
