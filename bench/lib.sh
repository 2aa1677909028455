# shellcheck shell=bash
# Shared by bench/run.sh and bench/events.sh: sourced, not run.
#
# Gives them: log/die, the cleanup trap (every process started goes into PIDS and is
# stopped on exit, Ctrl-C included; the temp dir DIR goes away unless KEEP=1),
# run/stop/forget, ensure_cmds (apt-get), free_port, json_field, and
# start_server/server_fail/rss_kib/upload_and_share for the server under test, start_xvfb for a
# private X display. The sourcing script
# sets KEEP before any exit and DIR once it has made its temp dir.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, not '$2'"; } # NAME VALUE

# --- cleanup: every process we start goes into PIDS; the temp dir goes away -------
PIDS=()
DIR=""
cleanup() {
    local rc=$? pid
    trap - EXIT
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n $DIR && -d $DIR ]]; then
        if [[ ${KEEP:-0} == 1 ]]; then log "kept $DIR"; else rm -rf -- "$DIR"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget() { # PID: drop it from PIDS
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
stop() { # PID: stop one process we started
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget "$1"
}
run() { # OUT CMD...: run CMD, stdout to OUT. In the background + wait, because bash
    # runs the INT/TERM trap only after a foreground child ends (wrk: seconds later).
    local out=$1 pid rc=0
    shift
    "$@" >"$out" &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget "$pid"
    return "$rc"
}

# --- helpers ------------------------------------------------------------------------
ensure_cmds() { # install missing commands (package name = command name) with apt-get
    local missing=() c sudo=()
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]}; install them (no apt-get here)"
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local apt_log
    apt_log=$(mktemp)
    if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$apt_log" 2>&1; then
        # Perhaps stale or missing package lists: refresh them once and retry.
        if ! { "${sudo[@]}" apt-get update -qq &&
            "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >>"$apt_log" 2>&1; then
            tail -n 20 "$apt_log" >&2
            rm -f "$apt_log"
            die "could not install ${missing[*]}"
        fi
    fi
    rm -f "$apt_log"
}

now_ns() { date +%s%N; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.1f", b / 1e6 / (ns / 1e9) }'; } # bytes, ns
to_mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }                       # bytes/s → MB/s

await_addr() { # LOGFILE PID: the address from the first line "listening on ADDR"
    local i line
    for ((i = 0; i < 200; i++)); do
        line=$(head -n 1 "$1" 2>/dev/null || true)
        if [[ $line == "listening on "* ]]; then echo "${line#listening on }"; return 0; fi
        kill -0 "$2" 2>/dev/null || { cat "$1" >&2; return 1; }
        sleep 0.05
    done
    return 1
}

free_port() { # a port nothing listens on (racy, but only we start servers here). Below the
    # kernel's ephemeral range (from 32768 by default): a port that thousands of client
    # connections just used can still be held in TIME_WAIT, and the server's bind fails.
    local i p
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

json_field() { # FILE KEY: the first string or integer value of "KEY" (flat JSON is enough here)
    sed -n -E 's/.*"'"$2"'"[[:space:]]*:[[:space:]]*("([^"]*)"|(-?[0-9]+)).*/\2\3/p' "$1" | awk 'NR == 1' # not head: with pipefail, a SIGPIPE to sed would fail the run
}

# --- the server under test ------------------------------------------------------------
server_fail() { # MESSAGE: die, showing the end of the server's log
    printf 'bench: error: %s\n--- last lines of the server log (BENCH_KEEP=1 keeps %s)\n' "$1" "$DIR/server.log" >&2
    tail -n 30 "$DIR/server.log" >&2 || true
    exit 1
}

# shellcheck disable=SC2153 # SERVER_BIN is set by the sourcing script
start_server() { # ARGS...: start $SERVER_BIN on a free port, data in $DIR/data, log
    # appended to $DIR/server.log (a restart keeps both), extra flags ARGS; wait for
    # /healthz. Sets SERVER_PID, HOST, URL.
    local i code port
    port=$(free_port) || die "no free port found"
    HOST=127.0.0.1:$port
    URL=http://$HOST
    log "starting $SERVER_BIN on $HOST"
    "$SERVER_BIN" --bind "$HOST" --data-dir "$DIR/data" "$@" >>"$DIR/server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for ((i = 0; ; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz" || true)
        [[ $code == 200 ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || server_fail "the server exited during startup"
        ((i < 300)) || server_fail "GET /healthz not 200 after 30 s (last: $code)"
        sleep 0.1
    done
}

upload_and_share() { # FILE NAME: upload FILE as NAME to $URL with $TOKEN, and share it;
    # sets UPLOADED_ID and SHARE_URL (the link; add /raw or /preview)
    local code
    code=$(curl -sS -o "$DIR/shared.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -T "$1" "$URL/api/v1/files/$2") || server_fail "uploading $2 failed"
    [[ $code == 201 ]] || server_fail "uploading $2: HTTP $code: $(head -c 300 "$DIR/shared.json")"
    UPLOADED_ID=$(json_field "$DIR/shared.json" id)
    code=$(curl -sS -o "$DIR/shared.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "{\"file_id\":\"$UPLOADED_ID\"}" "$URL/api/v1/shares") ||
        server_fail "sharing $2 failed"
    [[ $code == 201 ]] || server_fail "sharing $2: HTTP $code: $(head -c 300 "$DIR/shared.json")"
    SHARE_URL=$(json_field "$DIR/shared.json" url)
}

start_xvfb() { # SIZE [ARGS...]: start Xvfb (screen WxHxD, more Xvfb ARGS) on the first
    # free display from :90, logging to $DIR/xvfb-N.log; sets XDISPLAY (":N")
    local d i size=$1
    shift
    for ((d = 90; d < 190; d++)); do # a lock file or a socket means taken
        [[ -e /tmp/.X$d-lock || -e /tmp/.X11-unix/X$d ]] || break
    done
    log "Xvfb on :$d $*"
    Xvfb ":$d" -screen 0 "$size" -nolisten tcp "$@" >"$DIR/xvfb-$d.log" 2>&1 &
    PIDS+=("$!")
    for ((i = 0; i < 100; i++)); do
        [[ -e /tmp/.X11-unix/X$d ]] && break
        sleep 0.05
    done
    [[ -e /tmp/.X11-unix/X$d ]] || die "Xvfb :$d did not start: $(cat "$DIR/xvfb-$d.log")"
    XDISPLAY=:$d
}

rss_kib() { # FIELD: VmRSS or VmHWM of the server, in KiB
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$SERVER_PID/status"
}
