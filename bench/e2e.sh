#!/usr/bin/env bash
# Cloud Buffer benchmark: what end-to-end encryption costs a big transfer.
#
# One server, two accounts signed in with the real `cloudbuffer` CLI: one with E2E off,
# one with E2E on (`cloudbuffer e2e enable`). Each round uploads the same random file
# (`cloudbuffer send --no-share`) and downloads it again (`cloudbuffer get -o`) with
# each account, alternating, and checks the bytes. Prints the medians in MB/s and the
# E2E-on/off ratios against the issue's target (>= 0.8x). The E2E upload encrypts on the
# client (AES-256-GCM records, ring) while the server hashes and fsyncs the ciphertext;
# the download decrypts into a .part file renamed at the end: both sides' real work.
#
# Knobs (environment): BENCH_SIZE_MIB [1024], BENCH_ROUNDS [3], BENCH_DIR [/var/tmp],
# BENCH_SERVER_BIN / BENCH_CLI_BIN (use these binaries, don't build), BENCH_KEEP=1,
# CARGO_TARGET_DIR [$HOME/.cache/cloudbuffer/target]. See bench/README.md.
set -euo pipefail

SIZE_MIB=${BENCH_SIZE_MIB:-1024}
ROUNDS=${BENCH_ROUNDS:-3}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh" # log, die, cleanup trap, start_server, ...

positive BENCH_SIZE_MIB "$SIZE_MIB"
positive BENCH_ROUNDS "$ROUNDS"
BYTES=$((SIZE_MIB * 1048576))
ensure_cmds curl b3sum

if [[ -z ${BENCH_SERVER_BIN:-} || -z ${BENCH_CLI_BIN:-} ]]; then
    log "building (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    # From the repository, like the other scripts: its .cargo/config.toml sets how
    # SQLite is compiled, and a build from elsewhere would rebuild it without.
    (cd "$REPO" && cargo build --release --quiet -p cloudbuffer-server -p cloudbuffer-client) || die "build failed"
fi
SERVER_BIN=${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/release/cloudbuffer-server}
CLI_BIN=${BENCH_CLI_BIN:-$CARGO_TARGET_DIR/release/cloudbuffer}
[[ -x $SERVER_BIN && -x $CLI_BIN ]] || die "no binaries at $SERVER_BIN / $CLI_BIN"

DIR=$(mktemp -d "$BASE/cloudbuffer-e2e-bench.XXXXXX")
# The source file, its stored blob and one download at a time.
free_kib=$(df -Pk "$DIR" | awk 'NR == 2 { print $4 }')
need_kib=$(((3 * SIZE_MIB + 256) * 1024))
((free_kib >= need_kib)) || die "$DIR: $((free_kib / 1024)) MiB free, need $((need_kib / 1024)) MiB (lower BENCH_SIZE_MIB)"

log "creating a $SIZE_MIB MiB random test file in $DIR"
head -c "$BYTES" /dev/urandom >"$DIR/source.bin"
SOURCE_HASH=$(b3sum --no-names "$DIR/source.bin")

start_server --max-file-bytes $((BYTES * 2)) --quota-bytes $((1 << 40)) --max-files 1000

cli() { # MODE ARGS...: the CLI signed in as MODE's account
    local mode=$1
    shift
    CLOUDBUFFER_CONFIG_DIR=$DIR/cli-$mode "$CLI_BIN" --server "$URL" "$@"
}

for mode in plain e2e; do
    CLOUDBUFFER_PASSWORD=bench-password-123 cli "$mode" login --username "bench-$mode" --register \
        >"$DIR/login-$mode.out" 2>&1 || server_fail "login ($mode): $(cat "$DIR/login-$mode.out")"
done
CLOUDBUFFER_E2E_PASSPHRASE=bench-e2e-passphrase cli e2e e2e enable >"$DIR/enable.out" 2>&1 ||
    server_fail "e2e enable: $(cat "$DIR/enable.out")"

declare -A UP DOWN
transfer() { # MODE: one upload and one download, appending MB/s to UP[MODE] and DOWN[MODE]
    local mode=$1 t0 t1 id out=$DIR/download-$1.bin
    sync
    t0=$(now_ns)
    cli "$mode" send --no-share "$DIR/source.bin" >"$DIR/send.out" 2>"$DIR/send.err" ||
        server_fail "send ($mode): $(cat "$DIR/send.err")"
    t1=$(now_ns)
    UP[$mode]+="$(mbps "$BYTES" $((t1 - t0))) "
    id=$(grep -oE '\b[0-9a-f]{24}\b' "$DIR/send.out" | head -n 1) ||
        die "send ($mode) printed no file id: $(cat "$DIR/send.out")"
    rm -f "$out"
    t0=$(now_ns)
    cli "$mode" get "$id" -o "$out" >/dev/null 2>"$DIR/get.err" || server_fail "get ($mode): $(cat "$DIR/get.err")"
    t1=$(now_ns)
    DOWN[$mode]+="$(mbps "$BYTES" $((t1 - t0))) "
    [[ $(b3sum --no-names "$out") == "$SOURCE_HASH" ]] || die "$mode: the download differs from the upload"
    rm -f "$out"
    cli "$mode" rm "$id" >/dev/null 2>&1 || true
}

for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round of $ROUNDS"
    transfer plain
    transfer e2e
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r >= 0.8) ? "PASS" : "MISS" }'; }

echo "Cloud Buffer E2E benchmark: $SIZE_MIB MiB random file, $ROUNDS rounds (medians), $(nproc) CPUs, the real CLI"
for dir in upload download; do
    if [[ $dir == upload ]]; then plain=$(median "${UP[plain]}") e2e=$(median "${UP[e2e]}"); else plain=$(median "${DOWN[plain]}") e2e=$(median "${DOWN[e2e]}"); fi
    r=$(ratio "$e2e" "$plain")
    printf '  %-9s E2E off %8s MB/s   E2E on %8s MB/s   on/off = %sx (>= 0.8x) %s\n' "$dir" "$plain" "$e2e" "$r" "$(verdict "$r")"
done
printf '  all runs, MB/s: upload off [%s] on [%s]; download off [%s] on [%s]\n' \
    "${UP[plain]% }" "${UP[e2e]% }" "${DOWN[plain]% }" "${DOWN[e2e]% }"
