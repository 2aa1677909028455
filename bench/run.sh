#!/usr/bin/env bash
# Cloud Buffer benchmark: how close does the server get to what this machine can do?
#
# Measures, on one test file of random data (so content-addressed dedup can't cheat):
#   limits  - disk write (dd, fsync), upload to a body sink, download via sendfile(2)
#   server  - upload (PUT /api/v1/files/NAME), download (GET /api/v1/files/ID/content),
#             peak RSS (VmHWM), GET /api/v1/me throughput/latency under wrk, and
#             small files: a 1 KiB file via its share link and its content route, a 1 KiB
#             clip via GET /api/v1/buffer, a small PNG via the preview route (keep-alive, close)
# and prints the figures, the ratios, and PASS/MISS per target. Misses are results, not
# errors: exit status is 0 unless something actually failed.
#
# Knobs (environment): BENCH_SIZE_MIB [1024], BENCH_WRK_SECONDS [10], BENCH_SMALL_SECONDS [5],
# BENCH_DIR [/var/tmp] (where the temp dir goes: must be the disk you care about),
# BENCH_SKIP_SERVER=1 (limits only), BENCH_SERVER_BIN (use this server binary, don't
# build it), BENCH_KEEP=1 (keep the temp dir), CARGO_TARGET_DIR
# [$HOME/.cache/cloudbuffer/target]. See bench/README.md.
set -euo pipefail

SIZE_MIB=${BENCH_SIZE_MIB:-1024}
WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
SMALL_SECONDS=${BENCH_SMALL_SECONDS:-5}
BASE=${BENCH_DIR:-/var/tmp}
SKIP_SERVER=${BENCH_SKIP_SERVER:-0}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}
QUOTA=$((1 << 40)) # 1 TiB: the quota must never be what stops the upload
API_USER=bench
API_PASSWORD=bench-password-123

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh" # log, die, cleanup trap, run/stop, ensure_cmds, start_server, ...

[[ $SIZE_MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZE_MIB must be a positive integer"
[[ $WRK_SECONDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_WRK_SECONDS must be a positive integer"
BYTES=$((SIZE_MIB * 1048576))

# --- tools, build, temp dir, test file ----------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust: https://rustup.rs)"
if [[ $SKIP_SERVER == 1 ]]; then ensure_cmds curl; else ensure_cmds curl wrk; fi

pkgs=(-p cloudbuffer-bench)
[[ $SKIP_SERVER == 1 || -n ${BENCH_SERVER_BIN:-} ]] || pkgs=(-p cloudbuffer-server "${pkgs[@]}")
log "building (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$REPO" && cargo build --release "${pkgs[@]}") || die "build failed"
BIN=$(cd "$CARGO_TARGET_DIR/release" && pwd)
SERVER_BIN=${BENCH_SERVER_BIN:-$BIN/cloudbuffer-server}
[[ $SKIP_SERVER == 1 || -x $SERVER_BIN ]] || die "no server binary at $SERVER_BIN"

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-bench.XXXXXX")
FSTYPE=$(stat -f -c %T "$DIR")
case $FSTYPE in tmpfs | ramfs) log "warning: $DIR is on $FSTYPE (memory): disk figures will be RAM speeds; set BENCH_DIR" ;; esac
# Test file + dd file (deleted right after) + the stored blob, plus headroom.
need_kib=$(((3 * SIZE_MIB + 256) * 1024))
free_kib=$(df -Pk "$DIR" | awk 'NR == 2 { print $4 }')
((free_kib >= need_kib)) || die "$DIR: $((free_kib / 1024)) MiB free, need $((need_kib / 1024)) MiB (lower BENCH_SIZE_MIB)"

FILE=$DIR/test.bin
log "creating a $SIZE_MIB MiB random test file in $DIR"
random_bytes() { # MIB: that many MiB of random data on stdout
    if command -v openssl >/dev/null 2>&1; then
        # openssl rand is ~2x faster than /dev/urandom; its count is an int: ≤ 1 GiB per call.
        local left=$1 n
        while ((left > 0)); do
            n=$((left < 1024 ? left : 1024))
            openssl rand $((n * 1048576))
            left=$((left - n))
        done
    else
        head -c $(($1 * 1048576)) /dev/urandom
    fi
}
run "$FILE" random_bytes "$SIZE_MIB" || die "could not create the test file"
[[ $(stat -c %s "$FILE") == "$BYTES" ]] || die "test file has the wrong size"
sync # its dirty pages must not be flushed during the dd measurement

# --- limits -------------------------------------------------------------------------
log "dd: writing $SIZE_MIB MiB with fsync"
t0=$(now_ns)
run /dev/null dd if=/dev/zero of="$DIR/dd.bin" bs=1M count="$SIZE_MIB" conv=fsync status=none || die "dd failed"
t1=$(now_ns)
DD=$(mbps "$BYTES" $((t1 - t0)))
rm -f -- "$DIR/dd.bin"
sync

start_sink() { # [--file PATH]: starts the sink; sets SINK_PID, SINK_ADDR
    "$BIN/sink" --bind 127.0.0.1:0 "$@" >"$DIR/sink.log" 2>&1 &
    SINK_PID=$!
    PIDS+=("$SINK_PID")
    SINK_ADDR=$(await_addr "$DIR/sink.log" "$SINK_PID") || die "sink did not start"
}
sink_upload() { # CURL-BODY-ARGS...: one upload to the sink; prints curl's MB/s, leaves the answer in sink.resp
    local code speed
    run "$DIR/curl.out" curl -sS -o "$DIR/sink.resp" "$@" -w '%{http_code} %{speed_upload}\n' "http://$SINK_ADDR/upload" ||
        die "curl upload to the sink failed"
    read -r code speed <"$DIR/curl.out"
    [[ $code == 200 ]] || die "sink: HTTP $code, $(head -c 200 "$DIR/sink.resp")"
    to_mb "$speed"
}

log "curl upload and multipart upload to the sink"
start_sink
SINK=$(sink_upload -T "$FILE")
[[ $(cat "$DIR/sink.resp") == "received $BYTES" ]] || die "sink: $(head -c 200 "$DIR/sink.resp") (expected received $BYTES)"
SINK_MP=$(sink_upload -F "file=@$FILE")
stop "$SINK_PID"

# The floor of a stored upload: the same receive plus write and fsync into
# this disk, in one process that does nothing else.
log "curl upload to the storing sink (write + fsync)"
start_sink --file "$DIR/stored.bin"
STORE=$(sink_upload -T "$FILE")
rm -f -- "$DIR/stored.bin" && sync
STORE_MP=$(sink_upload -F "file=@$FILE")
rm -f -- "$DIR/stored.bin" && sync
stop "$SINK_PID"

log "curl download from the sendfile server"
"$BIN/sendfile" --bind 127.0.0.1:0 --file "$FILE" >"$DIR/sendfile.log" 2>&1 &
SF_PID=$!
PIDS+=("$SF_PID")
SF_ADDR=$(await_addr "$DIR/sendfile.log" "$SF_PID") || die "sendfile server did not start"
run "$DIR/curl.out" curl -sS -o /dev/null -w '%{http_code} %{size_download} %{speed_download}\n' "http://$SF_ADDR/test.bin" ||
    die "curl download from the sendfile server failed"
read -r code size speed <"$DIR/curl.out"
[[ $code == 200 && $size == "$BYTES" ]] || die "sendfile: HTTP $code, $size bytes (expected $BYTES)"
SENDFILE=$(to_mb "$speed")
stop "$SF_PID"

# --- the server ---------------------------------------------------------------------
if [[ $SKIP_SERVER != 1 ]]; then
    start_server --max-file-bytes $((BYTES + 1048576)) --quota-bytes "$QUOTA"

    auth() { # ENDPOINT STATUS: register or log in; sets TOKEN (logging in again keeps it fresh)
        local code
        code=$(curl -sS -o "$DIR/auth.json" -w '%{http_code}' -H 'Content-Type: application/json' \
            -d "{\"username\":\"$API_USER\",\"password\":\"$API_PASSWORD\"}" "$URL/api/v1/auth/$1") ||
            server_fail "POST /api/v1/auth/$1 failed"
        [[ $code == "$2" ]] || server_fail "POST /api/v1/auth/$1: HTTP $code: $(head -c 300 "$DIR/auth.json")"
        TOKEN=$(json_field "$DIR/auth.json" access_token)
        [[ -n $TOKEN ]] || server_fail "no access_token in: $(head -c 300 "$DIR/auth.json")"
    }
    rss_mib() { awk -v k="$(rss_kib VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }'; }

    auth register 201
    sync
    log "upload to the server (PUT /api/v1/files/bench.bin)"
    run "$DIR/curl.out" curl -sS -o "$DIR/upload.json" -w '%{http_code} %{speed_upload}\n' \
        -H "Authorization: Bearer $TOKEN" -T "$FILE" "$URL/api/v1/files/bench.bin" ||
        server_fail "curl upload to the server failed"
    read -r code speed <"$DIR/curl.out"
    [[ $code == 201 ]] || server_fail "upload: HTTP $code: $(head -c 300 "$DIR/upload.json")"
    UP=$(to_mb "$speed")
    RSS_UP=$(rss_mib)
    FILE_ID=$(json_field "$DIR/upload.json" id)
    FILE_HASH=$(json_field "$DIR/upload.json" hash)
    FILE_SIZE=$(json_field "$DIR/upload.json" size)
    [[ -n $FILE_ID ]] || server_fail "no id in the FileInfo: $(head -c 300 "$DIR/upload.json")"
    [[ $FILE_SIZE == "$BYTES" ]] || server_fail "FileInfo size is '$FILE_SIZE', expected $BYTES"

    auth login 200
    log "download from the server (GET /api/v1/files/$FILE_ID/content)"
    run "$DIR/curl.out" curl -sS -o /dev/null -w '%{http_code} %{size_download} %{speed_download}\n' \
        -H "Authorization: Bearer $TOKEN" "$URL/api/v1/files/$FILE_ID/content" ||
        server_fail "curl download from the server failed"
    read -r code size speed <"$DIR/curl.out"
    [[ $code == 200 && $size == "$BYTES" ]] || server_fail "download: HTTP $code, $size bytes (expected $BYTES)"
    DOWN=$(to_mb "$speed")
    RSS_DOWN=$(rss_mib)

    # The same bytes again as a form upload: the first file is deleted first
    # so its blob goes and this one is really hashed, written and fsynced.
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $TOKEN" \
        "$URL/api/v1/files/$FILE_ID") || server_fail "DELETE /api/v1/files/$FILE_ID failed"
    [[ $code == 204 ]] || server_fail "DELETE /api/v1/files/$FILE_ID: HTTP $code"
    sync
    log "multipart upload to the server (POST /api/v1/files)"
    run "$DIR/curl.out" curl -sS -o "$DIR/upload.json" -w '%{http_code} %{speed_upload}\n' \
        -H "Authorization: Bearer $TOKEN" -F "file=@$FILE" "$URL/api/v1/files" ||
        server_fail "curl multipart upload to the server failed"
    read -r code speed <"$DIR/curl.out"
    [[ $code == 201 ]] || server_fail "multipart upload: HTTP $code: $(head -c 300 "$DIR/upload.json")"
    [[ $(json_field "$DIR/upload.json" hash) == "$FILE_HASH" ]] || server_fail "multipart upload stored another hash"
    UP_MP=$(to_mb "$speed")
    RSS_MP=$(rss_mib)

    auth login 200
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/me") || true
    [[ $code == 200 ]] || server_fail "GET /api/v1/me: HTTP $code"
    log "wrk -t2 -c50 -d${WRK_SECONDS}s on GET /api/v1/me"
    run "$DIR/wrk.out" wrk -t2 -c50 -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $TOKEN" "$URL/api/v1/me" ||
        server_fail "wrk failed"
    WRK_OUT=$(cat "$DIR/wrk.out")
    RPS=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$WRK_OUT")
    P99=$(awk '$1 == "99%" { print $2 }' <<<"$WRK_OUT")
    NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$WRK_OUT")
    SOCKERR=$(sed -n 's/^ *Socket errors: *//p' <<<"$WRK_OUT")
    [[ -n $RPS && -n $P99 ]] || server_fail "could not read wrk's output: $WRK_OUT"
    RSS_WRK=$(rss_mib)

    # Small files, the common case: a 1 KiB file through its share link and
    # its authenticated content route, keep-alive and one connection per
    # request, each against GET /me in the same mode as its ceiling.
    small_wrk() { # NAME ARGS...: wrk on a small-file case; appends "NAME RPS P99" to $DIR/small.txt
        local name=$1 out
        shift
        run "$DIR/small.out" wrk -t2 -c50 -d"${SMALL_SECONDS}s" --latency "$@" || server_fail "wrk failed on $name"
        out=$(cat "$DIR/small.out")
        grep -q 'Non-2xx' <<<"$out" && server_fail "$name: non-2xx answers under wrk: $out"
        echo "$name $(awk '/^Requests\/sec:/ { r = $2 } $1 == "99%" { p = $2 } END { print r, p }' <<<"$out")" >>"$DIR/small.txt"
    }
    head -c 1024 /dev/urandom >"$DIR/small.bin"
    upload_and_share "$DIR/small.bin" small.bin
    SMALL_ID=$UPLOADED_ID
    SHARE_RAW=$SHARE_URL/raw
    # A 1 KiB text clip for GET /api/v1/buffer, and a small PNG shared for
    # the share page's preview route.
    head -c 768 /dev/urandom | base64 -w 0 | head -c 1024 >"$DIR/clip.txt"
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'X-Data-Type: text' \
        -T "$DIR/clip.txt" "$URL/api/v1/buffer") || server_fail "PUT /api/v1/buffer failed"
    [[ $code == 201 ]] || server_fail "PUT /api/v1/buffer: HTTP $code"
    python3 -c 'import sys, zlib, struct
def chunk(kind, data): return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
raw = b"".join(b"\0" + bytes((x * 7 + y) % 256 for x in range(48)) for y in range(16))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))' >"$DIR/small.png"
    upload_and_share "$DIR/small.png" small.png
    SHARE_PREVIEW=$SHARE_URL/preview
    code=$(curl -sS -o /dev/null -w '%{http_code}' "$SHARE_PREVIEW") || server_fail "GET $SHARE_PREVIEW failed"
    [[ $code == 200 ]] || server_fail "GET $SHARE_PREVIEW: HTTP $code"
    : >"$DIR/small.txt"
    for mode in keep-alive close; do
        conn=()
        [[ $mode == close ]] && conn=(-H 'Connection: close')
        log "wrk on small files ($mode)"
        small_wrk "me/$mode" "${conn[@]}" -H "Authorization: Bearer $TOKEN" "$URL/api/v1/me"
        small_wrk "share/$mode" "${conn[@]}" "$SHARE_RAW"
        small_wrk "content/$mode" "${conn[@]}" -H "Authorization: Bearer $TOKEN" "$URL/api/v1/files/$SMALL_ID/content"
        small_wrk "buffer/$mode" "${conn[@]}" -H "Authorization: Bearer $TOKEN" "$URL/api/v1/buffer"
        small_wrk "preview/$mode" "${conn[@]}" "$SHARE_PREVIEW"
        # A file of the web app: no account, no database, a body from
        # memory. What hyper, tokio and wrk cost here: the floor under
        # every figure above.
        small_wrk "static/$mode" "${conn[@]}" "$URL/app/manifest.webmanifest"
    done

    if command -v b3sum >/dev/null 2>&1; then
        log "checking the stored hash with b3sum"
        B3=$(b3sum "$FILE" | awk '{ print $1 }')
        if [[ $B3 == "$FILE_HASH" ]]; then HASH_CHECK="OK (FileInfo hash = b3sum)"; else HASH_CHECK="MISMATCH: server $FILE_HASH, b3sum $B3"; fi
    else
        HASH_CHECK="skipped (b3sum not installed)"
    fi
    stop "$SERVER_PID"
fi

# --- report -------------------------------------------------------------------------
verdict() { awk -v v="$1" -v lim="$2" -v op="$3" 'BEGIN { ok = (op == "ge") ? v >= lim : v <= lim; print ok ? "PASS" : "MISS" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }

echo
echo "Cloud Buffer benchmark: $SIZE_MIB MiB random file, $(nproc) CPUs, temp dir on $FSTYPE ($BASE)"
echo "MB = 10^6 bytes; speeds are curl's averages over the whole transfer."
echo
echo "Limits of this machine"
printf '  %-40s %10s MB/s\n' "disk write (dd bs=1M conv=fsync)" "$DD"
printf '  %-40s %10s MB/s\n' "upload to sink (curl -T)" "$SINK"
printf '  %-40s %10s MB/s\n' "multipart upload to sink (curl -F)" "$SINK_MP"
printf '  %-40s %10s MB/s\n' "upload to storing sink (write + fsync)" "$STORE"
printf '  %-40s %10s MB/s\n' "multipart to storing sink" "$STORE_MP"
printf '  %-40s %10s MB/s\n' "download from sendfile (curl)" "$SENDFILE"
if [[ $SKIP_SERVER == 1 ]]; then
    echo
    echo "Server: skipped (BENCH_SKIP_SERVER=1)"
    exit 0
fi
echo
echo "Server ($SERVER_BIN)"
printf '  %-40s %10s MB/s\n' "upload (PUT /api/v1/files/bench.bin)" "$UP"
printf '  %-40s %10s MB/s\n' "download (GET /api/v1/files/ID/content)" "$DOWN"
printf '  %-40s %10s MiB\n' "peak RSS after upload (VmHWM)" "$RSS_UP"
printf '  %-40s %10s MiB\n' "peak RSS after download" "$RSS_DOWN"
printf '  %-40s %10s MB/s\n' "multipart upload (POST /api/v1/files)" "$UP_MP"
printf '  %-40s %10s MiB\n' "peak RSS after multipart upload" "$RSS_MP"
printf '  %-40s %10s MiB\n' "peak RSS after wrk" "$RSS_WRK"
printf '  %-40s %10s req/s, p99 %s\n' "GET /api/v1/me (wrk -t2 -c50 -d${WRK_SECONDS}s)" "$RPS" "$P99"
[[ -z $NON2XX ]] || printf '  %-40s %10s  (req/s counts them: not a clean figure)\n' "  non-2xx responses" "$NON2XX"
[[ -z $SOCKERR ]] || printf '  %-40s %s\n' "  socket errors" "$SOCKERR"
printf '  %-40s %s\n' "content hash" "$HASH_CHECK"

UP_LIMIT=$(awk -v a="$SINK" -v b="$DD" 'BEGIN { print (a < b) ? a : b }')
UP_TARGET=$(awk -v l="$UP_LIMIT" 'BEGIN { printf "%.1f", 0.8 * l }')
MP_LIMIT=$(awk -v a="$SINK_MP" -v b="$DD" 'BEGIN { print (a < b) ? a : b }')
MP_TARGET=$(awk -v l="$MP_LIMIT" 'BEGIN { printf "%.1f", 0.8 * l }')
ST_TARGET=$(awk -v l="$STORE" 'BEGIN { printf "%.1f", 0.8 * l }')
STMP_TARGET=$(awk -v l="$STORE_MP" 'BEGIN { printf "%.1f", 0.8 * l }')
DOWN_TARGET=$(awk -v l="$SENDFILE" 'BEGIN { printf "%.1f", 0.8 * l }')
echo
echo "Targets"
printf '  %-52s %-32s %s\n' \
    "upload >= 80% of min(sink, dd) = $UP_TARGET MB/s" "$UP MB/s = $(pct "$UP" "$UP_LIMIT") of $UP_LIMIT" "$(verdict "$UP" "$UP_TARGET" ge)" \
    "download >= 80% of sendfile = $DOWN_TARGET MB/s" "$DOWN MB/s = $(pct "$DOWN" "$SENDFILE") of $SENDFILE" "$(verdict "$DOWN" "$DOWN_TARGET" ge)" \
    "multipart >= 80% of min(sink -F, dd) = $MP_TARGET MB/s" "$UP_MP MB/s = $(pct "$UP_MP" "$MP_LIMIT") of $MP_LIMIT" "$(verdict "$UP_MP" "$MP_TARGET" ge)" \
    "upload >= 80% of storing sink = $ST_TARGET MB/s" "$UP MB/s = $(pct "$UP" "$STORE") of $STORE" "$(verdict "$UP" "$ST_TARGET" ge)" \
    "multipart >= 80% of storing sink -F = $STMP_TARGET MB/s" "$UP_MP MB/s = $(pct "$UP_MP" "$STORE_MP") of $STORE_MP" "$(verdict "$UP_MP" "$STMP_TARGET" ge)" \
    "peak RSS (uploads + download) <= 64 MiB" "$RSS_MP MiB" "$(verdict "$RSS_MP" 64 le)"
printf '  %-52s %-32s %s\n' "GET /api/v1/me under wrk (no target)" "$RPS req/s, p99 $P99" "info"

# Small files: keep-alive >= 0.8x GET /me with p99 <= 5 ms; with a connection
# per request >= 1.5x the best peer's figure (microbin, 10,229 req/s, issue 15).
echo
echo "Small files (1 KiB, wrk -t2 -c50 -d${SMALL_SECONDS}s; ratio to GET /me in the same mode)"
small() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$DIR/small.txt"; }
for mode in keep-alive close; do
    me=$(small "me/$mode" 2)
    printf '  %-52s %-32s %s\n' "GET /api/v1/me, $mode (the ceiling)" "$me req/s, p99 $(small "me/$mode" 3)" "info"
    printf '  %-52s %-32s %s\n' "GET /app/manifest.webmanifest, $mode (no auth, no DB)" \
        "$(small "static/$mode" 2) req/s, p99 $(small "static/$mode" 3)" "floor"
    for case in share content buffer preview; do
        rps=$(small "$case/$mode" 2) p99=$(small "$case/$mode" 3)
        ratio=$(awk -v a="$rps" -v b="$me" 'BEGIN { printf "%.2f", a / b }')
        if [[ $mode == keep-alive ]]; then
            p99_ms=$(awk -v p="$p99" 'BEGIN { v = p + 0; if (p ~ /us$/) v /= 1000; else if (p ~ /[0-9]s$/ && p !~ /ms$/) v *= 1000; print v }')
            ok=$( [[ $(verdict "$ratio" 0.8 ge) == PASS && $(verdict "$p99_ms" 5 le) == PASS ]] && echo PASS || echo MISS)
            label="$case $mode >= 0.8x me, p99 <= 5 ms"
        else
            ok=$(verdict "$rps" 15344 ge)
            label="$case $mode >= 15,344 req/s (1.5x microbin)"
        fi
        printf '  %-52s %-32s %s\n' "$label" "$rps req/s = ${ratio}x, p99 $p99" "$ok"
    done
done

# A wrong hash is a broken server, not a slow one.
[[ $HASH_CHECK != MISMATCH* ]] || die "the server's content hash does not match b3sum"
