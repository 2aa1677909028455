#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests and benchmarks: installs the Debian
# package if missing (without letting it create or start a cluster of its
# own), then runs a private cluster in a temp dir on a free loopback port.
# No systemd; the server is stopped by the PID in its postmaster.pid.
#
# Source it, then:
#   pg_start          # sets PG_URL (postgres://postgres@127.0.0.1:PORT/postgres),
#                     # PG_DIR and PG_PID
#   pg_stop           # stops it and removes PG_DIR (safe to call twice)
#   pg_halt, pg_resume  # stop it keeping PG_DIR, start it again on PG_PORT
# Or run it: `scripts/postgres.sh` starts one and prints its URL, then stops
# it when you press Ctrl-C.
#
# The cluster trades durability for speed (fsync off): it lives for one run.

_pg_log() { printf 'postgres: %s\n' "$*" >&2; }
# shellcheck source=service-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/service-lib.sh"

# The directory with initdb and postgres, installing the package if needed.
pg_bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z $dir || ! -x $dir/initdb ]]; then
        local sudo=()
        [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
        # Debian's postinst would create and start a "main" cluster on port
        # 5432; the tests want none. postgresql-common installs the setting's
        # file first (ucf-managed: writing it beforehand would raise a
        # configuration prompt), then the server package reads it.
        local deps
        deps="$(dirname "${BASH_SOURCE[0]}")/system-deps.sh"
        "$deps" postgresql-common >&2
        local conf=/etc/postgresql-common/createcluster.conf
        if [[ -f $conf ]] && ! grep -q '^create_main_cluster = false' "$conf"; then
            "${sudo[@]}" sed -i -E 's/^#? *create_main_cluster *=.*/create_main_cluster = false/' "$conf"
            grep -q '^create_main_cluster = false' "$conf" ||
                echo "create_main_cluster = false" | "${sudo[@]}" tee -a "$conf" >/dev/null
        fi
        "$deps" postgresql >&2
        dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [[ -n $dir && -x $dir/initdb ]] || { _pg_log "no initdb after installing postgresql"; return 1; }
    printf '%s\n' "$dir"
}

# Starts the server of the cluster in PG_DIR on PORT (as the package's user
# when root); sets PG_PID once it accepts connections.
_pg_launch() {
    local bin=$PG_BIN port=$1 as=()
    [[ $(id -u) -eq 0 ]] && as=(runuser -u postgres --)
    "${as[@]}" "$bin/postgres" -D "$PG_DIR/data" -h 127.0.0.1 -p "$port" -k "$PG_DIR" \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        -c max_connections=400 -c shared_buffers=64MB >>"$PG_DIR/server.log" 2>&1 &
    local launched=$!
    for _ in $(seq 1 100); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
            PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
            PG_PORT=$port
            export PG_PID PG_PORT
            return 0
        fi
        # Exited already (port taken between the probe and the bind)?
        kill -0 "$launched" 2>/dev/null || return 1
        sleep 0.1
    done
    kill "$launched" 2>/dev/null || true
    return 1
}

pg_start() {
    local as=()
    PG_BIN=$(pg_bin_dir) || return 1
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cloudbuffer-pg.XXXXXX")
    # PostgreSQL refuses to run as root: as root, run it as the package's user.
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$PG_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
        { _pg_log "initdb failed:"; cat "$PG_DIR/initdb.log" >&2; return 1; }
    launch_on_free_port _pg_launch _pg_log "$PG_DIR/server.log" || return 1
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    export PG_URL PG_DIR
    _pg_log "running at $PG_URL (pid $PG_PID, dir $PG_DIR)"
}

# Starts the stopped cluster in PG_DIR again on PG_PORT (a restart, for the
# tests of a database that goes away and comes back).
pg_resume() {
    PG_BIN=$(pg_bin_dir) || return 1
    _pg_launch "$PG_PORT" || { _pg_log "restart on port $PG_PORT failed"; return 1; }
}

# Stops the server but keeps PG_DIR (see pg_resume).
pg_halt() {
    [[ -n ${PG_PID:-} ]] || return 0
    # SIGINT: PostgreSQL's fast shutdown.
    stop_pid "$PG_PID" INT
    PG_PID=
}

pg_stop() {
    pg_halt
    if [[ -n ${PG_DIR:-} && -d $PG_DIR ]]; then
        rm -rf "$PG_DIR"
        PG_DIR=
    fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    trap pg_stop EXIT
    pg_start
    printf '%s\n' "$PG_URL"
    _pg_log "Ctrl-C to stop"
    while kill -0 "$PG_PID" 2>/dev/null; do sleep 1; done
fi
