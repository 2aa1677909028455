#!/usr/bin/env bash
# The S3 store against the local store, in one run: upload (PUT) and
# download of one random file through the server, with each store, and the
# server's peak RSS (VmHWM) after each, at two file sizes so that memory
# flat in the file size shows. The S3 server is s3s-fs on loopback
# (scripts/s3.sh), over a folder on the same disk as the local store, so the
# ratio is the cost of the S3 path itself (HTTP, multipart, the copy to the
# content address), not of a network. The ceiling is the S3 server's own
# rate: bench/src/bin/s3_floor.rs moves the same file straight through the
# same client with the same part size, no server of ours in between.
#
# Knobs: BENCH_SIZE_MIB [1024] (the big file; the small one is a quarter),
# BENCH_DIR [/var/tmp], BENCH_SERVER_BIN, BENCH_KEEP=1, CARGO_TARGET_DIR.
set -euo pipefail

SIZE_MIB=${BENCH_SIZE_MIB:-1024}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh"
# shellcheck source=../scripts/s3.sh
source "$REPO/scripts/s3.sh"
positive BENCH_SIZE_MIB "$SIZE_MIB"
ensure_cmds curl

if [[ -z ${BENCH_SERVER_BIN:-} ]]; then
    log "building the server (release)"
    (cd "$REPO" && cargo build --release -p cloudbuffer-server) || die "build failed"
fi
(cd "$REPO" && cargo build --release -p cloudbuffer-bench --bin s3_floor) || die "build of s3_floor failed"
FLOOR_BIN=$CARGO_TARGET_DIR/release/s3_floor
SERVER_BIN=${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/release/cloudbuffer-server}
[[ -x $SERVER_BIN ]] || die "no server binary at $SERVER_BIN"

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-store-bench.XXXXXX")
# Two test files, a stored copy each way and the S3 server's part files.
need_kib=$((SIZE_MIB * 5 * 1024 + 262144))
free_kib=$(df -Pk "$DIR" | awk 'NR == 2 { print $4 }')
((free_kib >= need_kib)) || die "$DIR: $((free_kib / 1024)) MiB free, need $((need_kib / 1024)) MiB"

TMPDIR=$DIR s3_start || die "could not start s3s-fs"
PIDS+=("$S3_PID")

SMALL_MIB=$((SIZE_MIB / 4 > 0 ? SIZE_MIB / 4 : 1))
for mib in "$SMALL_MIB" "$SIZE_MIB"; do
    log "creating a $mib MiB random file"
    head -c $((mib * 1048576)) /dev/urandom >"$DIR/test-$mib.bin"
done
sync

# One fresh server per (store, size): peak RSS belongs to that transfer pair.
measure() { # STORE MIB: prints "UP_MBps DOWN_MBps RSS_UP_MiB RSS_DOWN_MiB"
    local store=$1 mib=$2 file="$DIR/test-$2.bin" bytes=$(($2 * 1048576)) args=() code speed size token id
    rm -rf "$DIR/data"
    [[ $store == s3 ]] && args=(--store-url "s3://$S3_BUCKET/bench-$mib" --s3-endpoint "$S3_ENDPOINT")
    start_server "${args[@]}" --max-file-bytes $((bytes + 1048576)) --quota-bytes $((1 << 40))
    code=$(curl -sS -o "$DIR/auth.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"username":"bench","password":"bench-password-123"}' "$URL/api/v1/auth/register")
    [[ $code == 201 ]] || server_fail "register: HTTP $code"
    token=$(json_field "$DIR/auth.json" access_token)
    read -r code speed < <(curl -sS -o "$DIR/up.json" -w '%{http_code} %{speed_upload}\n' \
        -H "Authorization: Bearer $token" -T "$file" "$URL/api/v1/files/bench.bin")
    [[ $code == 201 ]] || server_fail "$store upload: HTTP $code: $(head -c 300 "$DIR/up.json")"
    local up rss_up
    up=$(to_mb "$speed")
    rss_up=$(rss_kib VmHWM)
    id=$(json_field "$DIR/up.json" id)
    read -r code size speed < <(curl -sS -o /dev/null -w '%{http_code} %{size_download} %{speed_download}\n' \
        -H "Authorization: Bearer $token" "$URL/api/v1/files/$id/content")
    [[ $code == 200 && $size == "$bytes" ]] || server_fail "$store download: HTTP $code, $size bytes"
    printf '%s %s %s %s\n' "$up" "$(to_mb "$speed")" \
        "$(awk -v k="$rss_up" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "$(awk -v k="$(rss_kib VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }')"
    stop "$SERVER_PID"
}

log "s3_floor: the S3 server alone, $SIZE_MIB MiB"
read -r FLOOR_UP FLOOR_DOWN < <("$FLOOR_BIN" "$DIR/test-$SIZE_MIB.bin") || die "s3_floor failed"
[[ -n ${FLOOR_DOWN:-} ]] || die "s3_floor printed nothing"

declare -A R
for mib in "$SMALL_MIB" "$SIZE_MIB"; do
    for store in local s3; do
        log "$store store, $mib MiB"
        R[$store-$mib]=$(measure "$store" "$mib")
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '\nStore benchmark (%s, one run; MB = 10^6 B; s3 = s3s-fs %s on loopback, same disk)\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$S3FS_VERSION"
printf '  %-8s %-6s %12s %12s %14s %16s\n' size store "upload MB/s" "down MB/s" "peak RSS up" "peak RSS down"
for mib in "$SMALL_MIB" "$SIZE_MIB"; do
    for store in local s3; do
        read -r up down ru rd <<<"${R[$store-$mib]}"
        printf '  %-8s %-6s %12s %12s %10s MiB %12s MiB\n' "${mib}MiB" "$store" "$up" "$down" "$ru" "$rd"
    done
done
read -r lu ld _ _ <<<"${R[local-$SIZE_MIB]}"
read -r su sd _ srd <<<"${R[s3-$SIZE_MIB]}"
read -r _ _ _ srd_small <<<"${R[s3-$SMALL_MIB]}"
printf '  %-8s %-6s %12s %12s   (s3_floor: the S3 server alone, no Cloud Buffer)\n' "${SIZE_MIB}MiB" floor "$FLOOR_UP" "$FLOOR_DOWN"
printf '  s3 / local at %s MiB: upload %s, download %s\n' "$SIZE_MIB" "$(ratio "$su" "$lu")" "$(ratio "$sd" "$ld")"
printf '  s3 / floor at %s MiB: upload %s, download %s\n' "$SIZE_MIB" "$(ratio "$su" "$FLOOR_UP")" "$(ratio "$sd" "$FLOOR_DOWN")"
printf '  s3 peak RSS, %s MiB vs %s MiB file: %s (1.00 = flat in file size)\n' \
    "$SIZE_MIB" "$SMALL_MIB" "$(ratio "$srd" "$srd_small")"
