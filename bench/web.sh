#!/usr/bin/env bash
# Cloud Buffer benchmark of the web app (/app), against the release server on loopback:
#   weight  - the app's text files as a browser finds them from /app/ (the HTML, what it
#             links, the modules they import, the service worker, the manifest; not the
#             icons), each compressed with gzip -9 (and as the server sends it gzipped): the sums
#   pairing - a fresh headless Chromium profile (a phone that never saw the app) opens a
#             new pairing URL: time to the app screen with the user name, and to its
#             live events socket. BENCH_WEB_PAIRINGS [7] runs; median and worst
#   upload  - a BENCH_WEB_UPLOAD_MIB [100] MiB random file picked in the page (PUT
#             /api/v1/buffer through XMLHttpRequest with its progress bar) against
#             `curl -T` of a file of the same size to the same route of the same
#             server, alternately, BENCH_WEB_UPLOADS [3] times each (a new random file
#             each time: the store dedups by content); the ratio of the medians. Beside
#             them, the browser's floor: the same PUT from a bare XMLHttpRequest
# and prints the figures with PASS/MISS per target. Misses are results, not errors.
#
# Knobs (environment): BENCH_WEB_PAIRINGS [7], BENCH_WEB_UPLOADS [3], BENCH_WEB_UPLOAD_MIB
# [100], BENCH_DIR [/var/tmp], BENCH_SERVER_BIN, BENCH_KEEP=1,
# CARGO_TARGET_DIR [$HOME/.cache/cloudbuffer/target]. See bench/README.md.
set -euo pipefail

PAIRINGS=${BENCH_WEB_PAIRINGS:-7}
UPLOADS=${BENCH_WEB_UPLOADS:-3}
UPLOAD_MIB=${BENCH_WEB_UPLOAD_MIB:-100}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}
WEIGHT_TARGET=50000 # bytes (50 KB)
PAIR_TARGET_MS=1000 # scan to signed in, on loopback
RATIO_TARGET=0.5    # the page at least half as fast as curl
API_USER=webbench
API_PASSWORD=web-bench-password-123

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh" # log, die, cleanup trap, run/stop, start_server, ...

positive BENCH_WEB_PAIRINGS "$PAIRINGS"
positive BENCH_WEB_UPLOADS "$UPLOADS"
positive BENCH_WEB_UPLOAD_MIB "$UPLOAD_MIB"

# --- tools, build, server ---------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust: https://rustup.rs)"
"$REPO/scripts/system-deps.sh" chromium chromium-driver python3 curl openssl || die "could not install the browser"
CHROME=$(command -v chromium || command -v chromium-browser) || die "no chromium"
DRIVER=$(command -v chromedriver) || die "no chromedriver"
if [[ -z ${BENCH_SERVER_BIN:-} ]]; then
    log "building the server (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$REPO" && cargo build --release -p cloudbuffer-server) || die "build failed"
fi
SERVER_BIN=${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/release/cloudbuffer-server}
[[ -x $SERVER_BIN ]] || die "no server binary at $SERVER_BIN"

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-web-bench.XXXXXX")
export TMPDIR=$DIR # the browser profiles go there too
start_server --max-file-bytes $(((UPLOAD_MIB + 1) * 1048576)) --quota-bytes $((1 << 40)) \
    --auth-attempts-per-minute 10000
curl -fsS -o /dev/null "$URL/api/v1/auth/register" -H 'content-type: application/json' \
    -d "{\"username\":\"$API_USER\",\"password\":\"$API_PASSWORD\"}" || server_fail "register failed"
api() { curl -fsS -u "$API_USER:$API_PASSWORD" "$@"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# --- page weight ------------------------------------------------------------------------------
log "page weight"
run "$DIR/weight" python3 "$REPO/bench/web_driver.py" weight "$URL" || server_fail "fetching the app's files failed"
read -r WEIGHT_FILES WEIGHT_RAW WEIGHT_GZ WEIGHT_WIRE < <(awk '{ n++; r += $2; g += $3; w += $4 } END { print n, r, g, w }' "$DIR/weight")
grep -q '^/app/app.js ' "$DIR/weight" || die "page weight: app.js was not found from /app/"

# --- pairing ----------------------------------------------------------------------------------
log "pairing: $PAIRINGS fresh browsers open a pairing URL"
run "$DIR/pair.ms" python3 "$REPO/bench/web_driver.py" pair "$DRIVER" "$CHROME" "$URL" "$API_USER" "$API_PASSWORD" \
    "$PAIRINGS" || die "the pairing runs failed"
[[ $(wc -l <"$DIR/pair.ms") == "$PAIRINGS" ]] || die "pairing: $(wc -l <"$DIR/pair.ms") results of $PAIRINGS"
PAIR_MED=$(awk '{ print $1 }' "$DIR/pair.ms" | median)
PAIR_MAX=$(awk '{ print $1 }' "$DIR/pair.ms" | sort -n | tail -n 1)
LIVE_MED=$(awk '{ print $2 }' "$DIR/pair.ms" | median)
PAIR_MARKS=$(for c in 3 4 5 6; do awk -v c=$c '{ print $c }' "$DIR/pair.ms" | median; done | tr '\n' ' ')

# --- uploads ----------------------------------------------------------------------------------
BYTES=$((UPLOAD_MIB * 1048576))
random_file() { # PATH: UPLOAD_MIB MiB of random data
    openssl rand -out "$1" "$BYTES" || die "openssl rand failed"
}
uploaded() { # NAME: the size the server lists for the newest file named NAME
    api "$URL/api/v1/files" | python3 -c 'import json, sys; n = sys.argv[1]; print(next((f["size"] for f in json.load(sys.stdin) if f["name"] == n), 0))' "$1"
}
: >"$DIR/curl.ms"
: >"$DIR/page.ms"
for ((i = 1; i <= UPLOADS; i++)); do
    log "upload $i of $UPLOADS: curl -T, then the page ($UPLOAD_MIB MiB each)"
    file=$DIR/curl-$i.bin
    random_file "$file"
    start=$(now_ns)
    api -o /dev/null -T "$file" -H 'x-data-type: file' -H "x-filename: curl-$i.bin" "$URL/api/v1/buffer" ||
        server_fail "curl upload failed"
    echo $((($(now_ns) - start) / 1000000)) >>"$DIR/curl.ms"
    [[ $(uploaded "curl-$i.bin") == "$BYTES" ]] || die "curl-$i.bin: wrong size on the server"
    rm -f "$file"

    file=$DIR/page-$i.bin
    random_file "$file"
    random_file "$DIR/xhr-$i.bin"
    run "$DIR/page-$i.out" python3 "$REPO/bench/web_driver.py" upload "$DRIVER" "$CHROME" "$URL" "$API_USER" \
        "$API_PASSWORD" "$file" "$DIR/xhr-$i.bin" || die "the page upload failed"
    cat "$DIR/page-$i.out" >>"$DIR/page.ms"
    [[ $(uploaded "page-$i.bin") == "$BYTES" ]] || die "page-$i.bin: wrong size on the server"
    [[ $(uploaded "xhr-$i.bin") == "$BYTES" ]] || die "xhr-$i.bin: wrong size on the server"
    rm -f "$file" "$DIR/xhr-$i.bin"
done
CURL_MED=$(median <"$DIR/curl.ms")
PAGE_MED=$(awk '{ print $1 }' "$DIR/page.ms" | median)
REQ_MED=$(awk '{ print $2 }' "$DIR/page.ms" | median)
XHR_MED=$(awk '{ print $3 }' "$DIR/page.ms" | median)
rate() { awk -v b="$BYTES" -v ms="$1" 'BEGIN { printf "%.0f", b / 1e6 / (ms / 1e3) }'; } # MB/s
RATIO=$(awk -v c="$CURL_MED" -v p="$PAGE_MED" 'BEGIN { printf "%.2f", c / p }')
FLOOR_RATIO=$(awk -v c="$CURL_MED" -v p="$XHR_MED" 'BEGIN { printf "%.2f", c / p }')

# --- report -----------------------------------------------------------------------------------
at_most() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v <= lim) ? "PASS" : "MISS" }'; }
at_least() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v >= lim) ? "PASS" : "MISS" }'; }
echo
echo "Cloud Buffer web app benchmark: $(nproc) CPUs, $("$CHROME" --version 2>/dev/null | head -n 1), server $URL"
echo
printf '  %-40s %s bytes, gzip -9 %s bytes, as the server sends them gzipped %s bytes (%s files)\n' \
    "page weight (text files)" "$WEIGHT_RAW" "$WEIGHT_GZ" "$WEIGHT_WIRE" "$WEIGHT_FILES"
awk '{ printf "    %-28s %7s bytes, gzip -9 %6s, sent %6s\n", $1, $2, $3, $4 }' "$DIR/weight"
printf '  %-40s median %s ms, worst %s ms (live: median %s ms); runs: %s\n' "pairing URL to signed in" \
    "$PAIR_MED" "$PAIR_MAX" "$LIVE_MED" "$(awk '{ printf "%s%s", sep, $1; sep = " " }' "$DIR/pair.ms")"
# shellcheck disable=SC2086 # four numbers
printf '    %-38s HTML %s ms, DOMContentLoaded %s ms, POST /auth/pair %s-%s ms\n' "page marks (medians)" $PAIR_MARKS
printf '  %-40s median %s ms = %s MB/s; runs: %s\n' "curl -T $UPLOAD_MIB MiB" "$CURL_MED" "$(rate "$CURL_MED")" \
    "$(tr '\n' ' ' <"$DIR/curl.ms")"
printf '  %-40s median %s ms = %s MB/s (the PUT alone: %s ms); runs: %s\n' "the page, pick to listed" "$PAGE_MED" \
    "$(rate "$PAGE_MED")" "$REQ_MED" "$(awk '{ printf "%s%s", sep, $1; sep = " " }' "$DIR/page.ms")"
printf '  %-40s median %s ms = %s MB/s; runs: %s\n' "a bare XMLHttpRequest PUT (the floor)" "$XHR_MED" \
    "$(rate "$XHR_MED")" "$(awk '{ printf "%s%s", sep, $3; sep = " " }' "$DIR/page.ms")"
echo
echo "Targets"
printf '  %-48s %-26s %s\n' \
    "page weight (gzip -9) <= $WEIGHT_TARGET bytes" "$WEIGHT_GZ bytes" "$(at_most "$WEIGHT_GZ" "$WEIGHT_TARGET")" \
    "pairing URL to signed in <= $PAIR_TARGET_MS ms (median)" "$PAIR_MED ms" "$(at_most "$PAIR_MED" "$PAIR_TARGET_MS")" \
    "page upload >= $RATIO_TARGET x curl's rate" "$RATIO x" "$(at_least "$RATIO" "$RATIO_TARGET")" \
    "  a bare XMLHttpRequest (the browser's floor)" "$FLOOR_RATIO x" "$(at_least "$FLOOR_RATIO" "$RATIO_TARGET")"
