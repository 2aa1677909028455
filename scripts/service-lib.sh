# shellcheck shell=bash
# Shared by scripts/postgres.sh and scripts/s3.sh (sourced): the parts of
# running a throwaway service on a free loopback port that do not depend on
# which service it is.

# A TCP port nothing listens on right now.
free_loopback_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    return 1
}

# LAUNCH LOGFN LOGFILE: runs `LAUNCH PORT` on a free port until it succeeds,
# five tries (a port can be taken between the probe and the bind), showing
# the end of LOGFILE through LOGFN after each failure.
launch_on_free_port() {
    local launch=$1 say=$2 logfile=$3 port tries
    for tries in 1 2 3 4 5; do
        port=$(free_loopback_port) || { "$say" "no free port"; return 1; }
        "$launch" "$port" && return 0
        "$say" "start on port $port failed (try $tries):"
        tail -n 5 "$logfile" >&2
    done
    return 1
}

# PID SIGNAL: sends SIGNAL, waits up to 10 s for the process to go, then
# SIGKILL.
stop_pid() {
    local pid=$1
    kill "-$2" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
