#!/usr/bin/env bash
# A throwaway S3-compatible server for the tests and benchmarks: s3s-fs (a
# real S3 implementation over a folder, checking request signatures),
# installed with cargo into ~/.cache/cloudbuffer/tools when missing (about
# two minutes once), run per test run in a temp dir on a free loopback
# port and stopped by PID.
#
# Source it, then:
#   s3_start   # sets S3_ENDPOINT (http://127.0.0.1:PORT), S3_BUCKET, S3_DIR,
#              # S3_PID, S3_PORT and exports AWS_ACCESS_KEY_ID,
#              # AWS_SECRET_ACCESS_KEY and AWS_REGION for its credentials
#   s3_stop    # stops it and removes S3_DIR (safe to call twice)
#   s3_halt, s3_resume   # stop it keeping S3_DIR, start it again on S3_PORT
# Or run it: `scripts/s3.sh` starts one and prints its endpoint until Ctrl-C.

S3FS_VERSION=0.14.1
S3_TOOLS="${CLOUDBUFFER_TOOLS:-$HOME/.cache/cloudbuffer/tools}"

_s3_log() { printf 's3: %s\n' "$*" >&2; }
# shellcheck source=service-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/service-lib.sh"

# The s3s-fs binary, built once.
s3_bin() {
    local bin="$S3_TOOLS/bin/s3s-fs"
    if [[ ! -x $bin ]] || [[ $("$bin" --version 2>/dev/null) != *"$S3FS_VERSION"* ]]; then
        _s3_log "installing s3s-fs $S3FS_VERSION into $S3_TOOLS (once, about two minutes)"
        cargo install s3s-fs --version "$S3FS_VERSION" --locked --features binary --root "$S3_TOOLS" \
            --target-dir "${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}/tools" >&2 ||
            { _s3_log "cargo install s3s-fs failed"; return 1; }
    fi
    printf '%s\n' "$bin"
}

# Starts s3s-fs over S3_DIR/root on PORT; sets S3_PID once it answers.
_s3_launch() {
    local bin=$S3_BIN port=$1
    "$bin" --host 127.0.0.1 --port "$port" --access-key "$AWS_ACCESS_KEY_ID" \
        --secret-key "$AWS_SECRET_ACCESS_KEY" "$S3_DIR/root" >>"$S3_DIR/server.log" 2>&1 &
    S3_PID=$!
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            S3_PORT=$port
            S3_ENDPOINT="http://127.0.0.1:$port"
            export S3_PID S3_PORT S3_ENDPOINT
            return 0
        fi
        kill -0 "$S3_PID" 2>/dev/null || { S3_PID=; return 1; }
        sleep 0.1
    done
    kill "$S3_PID" 2>/dev/null || true
    S3_PID=
    return 1
}

s3_start() {
    S3_BIN=$(s3_bin) || return 1
    S3_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cloudbuffer-s3.XXXXXX")
    S3_BUCKET=cloudbuffer-test
    # s3s-fs keeps a bucket as a folder of its root.
    mkdir -p "$S3_DIR/root/$S3_BUCKET"
    AWS_ACCESS_KEY_ID=cloudbuffer-test
    AWS_SECRET_ACCESS_KEY=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    AWS_REGION=us-east-1
    export S3_DIR S3_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
    launch_on_free_port _s3_launch _s3_log "$S3_DIR/server.log" || return 1
    _s3_log "running at $S3_ENDPOINT, bucket $S3_BUCKET (pid $S3_PID, dir $S3_DIR)"
}

# Starts the stopped server again over the same folder and port.
s3_resume() {
    S3_BIN=$(s3_bin) || return 1
    _s3_launch "$S3_PORT" || { _s3_log "restart on port $S3_PORT failed"; return 1; }
}

# Stops the server but keeps S3_DIR (see s3_resume).
s3_halt() {
    [[ -n ${S3_PID:-} ]] || return 0
    stop_pid "$S3_PID" TERM
    S3_PID=
}

s3_stop() {
    s3_halt
    if [[ -n ${S3_DIR:-} && -d $S3_DIR ]]; then
        rm -rf "$S3_DIR"
        S3_DIR=
    fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    trap s3_stop EXIT
    s3_start
    printf 'endpoint %s bucket %s\n' "$S3_ENDPOINT" "$S3_BUCKET"
    printf 'AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"
    _s3_log "Ctrl-C to stop"
    while kill -0 "$S3_PID" 2>/dev/null; do sleep 1; done
fi
