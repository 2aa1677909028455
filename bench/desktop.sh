#!/usr/bin/env bash
# Cloud Buffer benchmark of the desktop app (src-tauri/), built as shipped (the `desktop`
# profile, with tauri/custom-protocol), on a private Xvfb display against a real server:
#   size    - the release binary's size
#   start   - exec to first paint: the app prints "first-paint <unix ms>" on stderr
#             (with CLOUDBUFFER_DESKTOP_TIMING set) once the UI has rendered its first
#             frame (two requestAnimationFrame callbacks after the page's script ran).
#             BENCH_DESKTOP_STARTS [5] starts on the sign-in screen (first run) and as
#             many signed in (the saved session restored, clip history loaded); the
#             first start of all is the coldest; with BENCH_DESKTOP_COLD=1 (root) the
#             page cache is dropped before it, as after a reboot. Then STARTS signed-in
#             starts as on a desktop: a display that is kept between apps (GTK's cached
#             GL visuals) and a session bus. The app's own marks say where the time goes
#   idle    - the app signed in with sync on, left alone for BENCH_DESKTOP_IDLE_SECONDS
#             [300]; then the CPU it used over the last BENCH_DESKTOP_CPU_SECONDS [60]
#             and its RSS, the app process alone and with its WebKit child processes
#   tray    - the same with the window closed to the tray (a StatusNotifier watcher on
#             the bus plays the panel) for BENCH_DESKTOP_TRAY_SECONDS [120]: the page is
#             unloaded a minute after the window is hidden
# and prints the figures with PASS/MISS per target. Misses are results, not errors.
#
# Knobs (environment): BENCH_DESKTOP_STARTS [5], BENCH_DESKTOP_IDLE_SECONDS [300],
# BENCH_DESKTOP_TRAY_SECONDS [120], BENCH_DESKTOP_COLD [0],
# BENCH_DESKTOP_APP (a built app to measure instead of building one),
# BENCH_DESKTOP_CPU_SECONDS [60], BENCH_DIR [/var/tmp], BENCH_SERVER_BIN, BENCH_KEEP=1,
# CARGO_TARGET_DIR [$HOME/.cache/cloudbuffer/target]. See bench/README.md.
set -euo pipefail

STARTS=${BENCH_DESKTOP_STARTS:-5}
COLD=${BENCH_DESKTOP_COLD:-0}
IDLE_SECONDS=${BENCH_DESKTOP_IDLE_SECONDS:-300}
TRAY_SECONDS=${BENCH_DESKTOP_TRAY_SECONDS:-120}
CPU_SECONDS=${BENCH_DESKTOP_CPU_SECONDS:-60}
BASE=${BENCH_DIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}
SIZE_TARGET_MIB=15
START_TARGET_MS=1000
CPU_TARGET_PCT=1
RSS_TARGET_MIB=150

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$REPO/bench/lib.sh" # log, die, cleanup trap, run/stop, ensure_cmds, start_server, ...

for v in STARTS IDLE_SECONDS TRAY_SECONDS CPU_SECONDS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_DESKTOP_$v must be a positive integer, not '${!v}'"
done
((CPU_SECONDS <= IDLE_SECONDS && CPU_SECONDS <= TRAY_SECONDS)) ||
    die "BENCH_DESKTOP_CPU_SECONDS must not exceed BENCH_DESKTOP_IDLE_SECONDS or BENCH_DESKTOP_TRAY_SECONDS"

# --- tools, build ------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust: https://rustup.rs)"
ensure_cmds curl
"$REPO/scripts/desktop-deps.sh" >/dev/null || die "could not install the desktop app's packages"
"$REPO/scripts/system-deps.sh" xvfb xauth python3-gi gir1.2-webkit2-4.1 python3-xlib >&2 ||
    die "could not install Xvfb and the Python bindings of WebKitGTK and X"

log "building (the desktop profile, as shipped; CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
[[ -n ${BENCH_DESKTOP_APP:-} ]] ||
    (cd "$REPO" && cargo build --profile desktop -p cloudbuffer-desktop --features tauri/custom-protocol) ||
    die "desktop build failed"
[[ -n ${BENCH_SERVER_BIN:-} ]] || (cd "$REPO" && cargo build --release -p cloudbuffer-server -p cloudbuffer-client) ||
    die "server build failed"
BIN=$(cd "$CARGO_TARGET_DIR/release" && pwd)
APP=${BENCH_DESKTOP_APP:-$CARGO_TARGET_DIR/desktop/cloudbuffer-desktop}
SERVER_BIN=${BENCH_SERVER_BIN:-$BIN/cloudbuffer-server}
[[ -x $APP && -x $SERVER_BIN ]] || die "no app or server binary in $BIN"
APP_BYTES=$(stat -c %s "$APP")

mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/cloudbuffer-desktop.XXXXXX")
kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

start_server --auth-attempts-per-minute 100000

# --- a private X display -------------------------------------------------------------------
start_xvfb 1280x800x24
export DISPLAY=$XDISPLAY
# The app's config, data and WebKit caches in the temp dir, never the user's.
export XDG_CONFIG_HOME=$DIR/xdg/config XDG_DATA_HOME=$DIR/xdg/data XDG_CACHE_HOME=$DIR/xdg/cache
export CLOUDBUFFER_CONFIG_DIR=$DIR/session CLOUDBUFFER_DESKTOP_TIMING=1
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"

APP_PID=""
launch() { # LOG [CMD...]: start CMD [the app], log to LOG; sets APP_PID, START_MS (exec to
    # first paint) and STEPS (the app's start-up marks, "name=ms ..." after exec; see steps_report)
    local t0 i line log=$1
    shift
    (($# > 0)) || set -- "$APP"
    t0=$(($(now_ns) / 1000000))
    "$@" >"$log" 2>&1 &
    APP_PID=$!
    PIDS+=("$APP_PID")
    for ((i = 0; ; i++)); do
        line=$(grep -m 1 '^first-paint ' "$log" || true)
        [[ -n $line ]] && break
        kill -0 "$APP_PID" 2>/dev/null || die "the app exited during start-up: $(tail -n 20 "$log")"
        ((i < 3000)) || die "no first paint after 30 s: $(tail -n 20 "$log")"
        sleep 0.01
    done
    START_MS=$((${line#first-paint } - t0))
    STEPS=""
    grep -q '^mark main ' "$log" || return 0 # not the app
    for ((i = 0; i < 100; i++)); do          # printed just after first-paint
        grep -q '^start-marks ' "$log" && break
        sleep 0.01
    done
    STEPS=$(awk -v t0="$t0" '$1 == "mark" { printf "%s=%d ", $2, $3 - t0 }
        $1 == "start-marks" { for (i = 2; i <= NF; i++) { split($i, kv, "="); printf "%s=%d ", kv[1], kv[2] - t0 } }
        $1 == "first-paint" { paint = $2 - t0 } END { printf "paint=%d\n", paint }' "$log")
}
starts() { # NAME [CMD...]: STARTS starts of CMD [the app]; the times in $DIR/NAME.ms, one
    # per line, the app's marks in $DIR/NAME.steps
    local n name=$1
    shift
    : >"$DIR/$name.ms"
    : >"$DIR/$name.steps"
    for ((n = 0; n < STARTS; n++)); do
        launch "$DIR/$name-$n.log" "$@"
        echo "$START_MS" >>"$DIR/$name.ms"
        [[ -z $STEPS ]] || echo "$STEPS" >>"$DIR/$name.steps"
        stop "$APP_PID"
    done
}
steps_report() { # FILE: the median of each step of the app's start-up over the starts in FILE
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); t[NR, kv[1]] = kv[2] } }
    function median(from, to,   n, i, j, v, x) {
        n = 0
        for (i = 1; i <= NR; i++) v[++n] = t[i, to] - ((from == "") ? 0 : t[i, from])
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
        return (n % 2) ? v[(n + 1) / 2] : int((v[n / 2] + v[n / 2 + 1]) / 2)
    }
    function step(label, from, to) { printf "      %-52s %4d ms\n", label, median(from, to) }
    END {
        if (NR == 0) exit
        step("exec to main() (loading WebKitGTK and its libraries)", "", "main")
        step("to Tauri setup (GTK start-up, the X display)", "main", "setup")
        step("to the page starting to load (window, WebKit processes)", "setup", "navigation")
        step("to the page script running (page, styles, scripts)", "navigation", "script")
        step("to the session known (event listeners, session_info)", "script", "session")
        step("to the first frame drawn (style, layout, paint)", "session", "paint")
    }' "$1"
}
stat_ms() { # FILE: "median M  max X  (first F)" of the numbers in FILE
    sort -n "$1" | awk -v first="$(head -n 1 "$1")" '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "median %d ms  max %d ms  (first %d ms)", m, v[NR], first }'
}
max_ms() { sort -n "$1" | tail -n 1; }

log "start to first paint: $STARTS starts on the sign-in screen"
if [[ $COLD == 1 ]]; then
    # The libraries (WebKitGTK, Mesa, ~300 MB) come from disk, as on the first start after a boot.
    sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || die "BENCH_DESKTOP_COLD=1 needs root (to drop the page cache)"
    log "page cache dropped: the first start reads everything from disk"
fi
starts signin
# Signed in: the saved session (the CLI writes the same file the app reads), with a
# few clips to show.
CLOUDBUFFER_PASSWORD=desktop-bench-password "$BIN/cloudbuffer" login --server "$URL" --username desk --register \
    >"$DIR/login.out" 2>&1 || server_fail "cloudbuffer login failed: $(cat "$DIR/login.out")"
for i in 1 2 3 4 5; do
    "$BIN/cloudbuffer" copy "clip $i from bench/desktop.sh" >/dev/null || server_fail "cloudbuffer copy failed"
done
log "start to first paint: $STARTS starts signed in"
starts signedin

# The floor: a blank WebKitGTK window (WEBKIT_DISABLE_COMPOSITING_MODE=1 as the app sets it).
BLANK=(env WEBKIT_DISABLE_COMPOSITING_MODE=1 /usr/bin/python3 "$REPO/bench/blank_webkit.py")

# --- starts as on a desktop ------------------------------------------------------------------
# Above, the display resets whenever its last client leaves, so every start probes GLX
# and there is no session bus. A desktop keeps its display (GTK caches the GL visuals it
# chose on the root window: later apps skip the probe) and has a session bus; here the
# first GTK app of the "session" (a blank WebKitGTK window) pays for the probe.
dbus-daemon --session --nofork --nopidfile --address="unix:path=$DIR/bus" >"$DIR/dbus.log" 2>&1 &
PIDS+=("$!")
start_xvfb 1280x800x24 -noreset
RESET_DISPLAY=$DISPLAY DESKTOP_DISPLAY=$XDISPLAY
export DISPLAY=$XDISPLAY DBUS_SESSION_BUS_ADDRESS=unix:path=$DIR/bus
log "start to first paint as on a desktop ($DISPLAY kept, a session bus): $STARTS starts signed in"
launch "$DIR/prime.log" "${BLANK[@]}" && stop "$APP_PID"
starts desktop
starts desktop-blank "${BLANK[@]}"
export DISPLAY=$RESET_DISPLAY
unset DBUS_SESSION_BUS_ADDRESS

# --- idle -----------------------------------------------------------------------------------
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime of PID
children() { # PID: its descendants (WebKitWebProcess, WebKitNetworkProcess, ...)
    local c
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        echo "$c"
        children "$c"
    done
}
sum_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(ticks "$p"))); done; echo "$t"; }
sum_rss() { # PIDS: total VmRSS in KiB
    local t=0 p r
    for p in "$@"; do
        r=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        t=$((t + ${r:-0}))
    done
    echo "$t"
}
# RSS counts the shared libraries (WebKitGTK's ~100 MiB) in every process that maps
# them; PSS splits shared pages between the processes sharing them (the sum is what
# the app costs the machine), USS counts private pages only (what quitting frees).
sum_smaps() { # FIELD PIDS: total FIELD (Pss, Private_Clean, Private_Dirty) of smaps_rollup, in KiB
    local field=$1 t=0 p r
    shift
    for p in "$@"; do
        r=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
        t=$((t + ${r:-0}))
    done
    echo "$t"
}
top_mappings() { # PIDS: the 8 largest mappings by RSS summed over PIDS: "RSS PSS NAME" in KiB
    local p
    for p in "$@"; do cat "/proc/$p/smaps" 2>/dev/null || true; done | awk '
        /^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "") ? "[anonymous]" : $6; sub(".*/", "", name) }
        $1 == "Rss:" { rss[name] += $2 }
        $1 == "Pss:" { pss[name] += $2 }
        END { for (n in rss) printf "%d %d %s\n", rss[n], pss[n], n }' | sort -rn | awk 'NR <= 8'
    # (not head: with pipefail, sort killed by SIGPIPE once head has quit would end the run)
}
log "idle: the app signed in with sync on for ${IDLE_SECONDS} s (CPU over the last ${CPU_SECONDS} s)"
launch "$DIR/idle.log"
grep -qi 'sync' "$DIR/idle.log" && log "app log: $(grep -i -m 3 'sync' "$DIR/idle.log")"
HZ=$(getconf CLK_TCK)
pct() { awk -v c="$1" -v hz="$HZ" -v ns="$2" 'BEGIN { printf "%.2f", (c / hz) / (ns / 1e9) * 100 }'; } # TICKS NS
measure() { # PREFIX PID: the CPU that PID and its descendants use over the next CPU_SECONDS,
    # then their memory (KiB); sets PREFIX{APP,ALL}_PCT, PREFIX{APP,ALL}_RSS, PREFIX{APP,ALL}_PSS,
    # PREFIXALL_USS, PREFIXTOP_MAPPINGS and PREFIXKID_NAMES. Fails if PID has died.
    local n=$1 pid=$2 t0 t1 a0 a1 k0 k1 kids
    mapfile -t kids < <(children "$pid")
    t0=$(now_ns) a0=$(ticks "$pid") k0=$(sum_ticks "${kids[@]}")
    sleep "$CPU_SECONDS"
    t1=$(now_ns) a1=$(ticks "$pid") k1=$(sum_ticks "${kids[@]}")
    kill -0 "$pid" 2>/dev/null || return 1
    printf -v "${n}APP_PCT" %s "$(pct $((a1 - a0)) $((t1 - t0)))"
    printf -v "${n}ALL_PCT" %s "$(pct $((a1 - a0 + k1 - k0)) $((t1 - t0)))"
    printf -v "${n}APP_RSS" %s "$(sum_rss "$pid")"
    printf -v "${n}ALL_RSS" %s "$(sum_rss "$pid" "${kids[@]}")"
    printf -v "${n}APP_PSS" %s "$(sum_smaps Pss "$pid")"
    printf -v "${n}ALL_PSS" %s "$(sum_smaps Pss "$pid" "${kids[@]}")"
    printf -v "${n}ALL_USS" %s $(($(sum_smaps Private_Clean "$pid" "${kids[@]}") + $(sum_smaps Private_Dirty "$pid" "${kids[@]}")))
    printf -v "${n}TOP_MAPPINGS" %s "$(top_mappings "$pid" "${kids[@]}")"
    printf -v "${n}KID_NAMES" %s "$(for p in "${kids[@]}"; do cat "/proc/$p/comm" 2>/dev/null; done | sort | uniq -c |
        awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')"
}
sleep $((IDLE_SECONDS - CPU_SECONDS))
measure "" "$APP_PID" || die "the app died while idle: $(tail -n 20 "$DIR/idle.log")"
stop "$APP_PID"

# --- idle in the tray -------------------------------------------------------------------------
# As on a desktop with a panel: a StatusNotifier watcher on the session bus, so the app
# shows a tray icon and closing its window hides it; the page is unloaded a minute later.
log "in the tray: the window closed, the app left alone for ${TRAY_SECONDS} s (CPU over the last ${CPU_SECONDS} s)"
export DISPLAY=$DESKTOP_DISPLAY DBUS_SESSION_BUS_ADDRESS=unix:path=$DIR/bus
/usr/bin/python3 "$REPO/bench/tray_session.py" watcher >"$DIR/watcher.log" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
    grep -q '^watching' "$DIR/watcher.log" && break
    sleep 0.05
done
grep -q '^watching' "$DIR/watcher.log" || die "the StatusNotifier watcher did not start: $(cat "$DIR/watcher.log")"
launch "$DIR/tray.log"
sleep 2 # the tray icon is made after the first paint
/usr/bin/python3 "$REPO/bench/tray_session.py" close "$APP_PID" || die "could not close the app's window"
sleep $((TRAY_SECONDS - CPU_SECONDS))
kill -0 "$APP_PID" 2>/dev/null || die "closing the window quit the app (no tray?): $(tail -n 20 "$DIR/tray.log")"
measure TRAY_ "$APP_PID" || die "the app died in the tray: $(tail -n 20 "$DIR/tray.log")"
stop "$APP_PID"
export DISPLAY=$RESET_DISPLAY
unset DBUS_SESSION_BUS_ADDRESS
stop "$SERVER_PID"

# --- the floor: a blank WebKitGTK window in the same environment ------------------------------
log "the floor: a blank WebKitGTK window (bench/blank_webkit.py), $STARTS starts, then ${CPU_SECONDS} s idle"
if [[ $COLD == 1 ]]; then # its first start from disk too, to compare with the app's
    sync && echo 3 >/proc/sys/vm/drop_caches
    log "page cache dropped"
fi
starts blank "${BLANK[@]}"
launch "$DIR/blank-idle.log" "${BLANK[@]}"
sleep "$CPU_SECONDS"
mapfile -t BLANK_KIDS < <(children "$APP_PID")
BLANK_RSS=$(sum_rss "$APP_PID" "${BLANK_KIDS[@]}")
BLANK_PSS=$(sum_smaps Pss "$APP_PID" "${BLANK_KIDS[@]}")
BLANK_USS=$(($(sum_smaps Private_Clean "$APP_PID" "${BLANK_KIDS[@]}") + $(sum_smaps Private_Dirty "$APP_PID" "${BLANK_KIDS[@]}")))
stop "$APP_PID"

# --- report -----------------------------------------------------------------------------------
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v <= lim) ? "PASS" : "MISS" }'; }
SIZE_MIB=$(awk -v b="$APP_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
SIGNIN_MAX=$(max_ms "$DIR/signin.ms")
SIGNEDIN_MAX=$(max_ms "$DIR/signedin.ms")
APP_RSS_MIB=$(kib_to_mib "$APP_RSS")
ALL_RSS_MIB=$(kib_to_mib "$ALL_RSS")
ALL_PSS_MIB=$(kib_to_mib "$ALL_PSS")

echo
echo "Cloud Buffer desktop app benchmark: $(nproc) CPUs, Xvfb $XDISPLAY, WebKitGTK $(pkg-config --modversion webkit2gtk-4.1 2>/dev/null || echo '?')"
echo "App: $APP"
echo
printf '  %-40s %s MiB (%s bytes)\n' "binary" "$SIZE_MIB" "$APP_BYTES"
printf '  %-40s %s\n' "start to first paint, sign-in screen" "$(stat_ms "$DIR/signin.ms")"
printf '  %-40s %s\n' "start to first paint, signed in" "$(stat_ms "$DIR/signedin.ms")"
echo "    where it goes (medians, signed in):"
steps_report "$DIR/signedin.steps"
printf '  %-40s %s\n' "the same as on a desktop" "$(stat_ms "$DIR/desktop.ms")"
printf '  %-40s %s\n' "  blank WebKitGTK window there" "$(stat_ms "$DIR/desktop-blank.ms")"
echo "    where it goes (medians):"
steps_report "$DIR/desktop.steps"
[[ $COLD == 1 ]] && printf '  %-40s %s ms (the blank WebKitGTK window: %s ms)\n' "first start, page cache dropped" \
    "$(head -n 1 "$DIR/signin.ms")" "$(head -n 1 "$DIR/blank.ms")"
printf '  %-40s app %s %%, with WebKit processes %s %% of a core (last %s s of %s s)\n' "idle CPU, sync on" \
    "$APP_PCT" "$ALL_PCT" "$CPU_SECONDS" "$IDLE_SECONDS"
printf '  %-40s app %s MiB, with WebKit processes %s MiB\n' "RSS after ${IDLE_SECONDS} s" "$APP_RSS_MIB" "$ALL_RSS_MIB"
printf '  %-40s app %s MiB, with WebKit processes %s MiB (USS %s MiB)\n' "PSS after ${IDLE_SECONDS} s" \
    "$(kib_to_mib "$APP_PSS")" "$ALL_PSS_MIB" "$(kib_to_mib "$ALL_USS")"
printf '  %-40s %s\n' "child processes" "${KID_NAMES:-none}"
printf '  %-40s RSS %s MiB, PSS %s MiB (USS %s MiB), CPU %s %% of a core; children: %s\n' \
    "in the tray after ${TRAY_SECONDS} s (page unloaded)" "$(kib_to_mib "$TRAY_ALL_RSS")" "$(kib_to_mib "$TRAY_ALL_PSS")" \
    "$(kib_to_mib "$TRAY_ALL_USS")" "$TRAY_ALL_PCT" "${TRAY_KID_NAMES:-none}"
printf '  %-40s first paint %s; after %s s RSS %s MiB, PSS %s MiB (USS %s MiB)\n' \
    "blank WebKitGTK window (the floor)" "$(stat_ms "$DIR/blank.ms")" "$CPU_SECONDS" \
    "$(kib_to_mib "$BLANK_RSS")" "$(kib_to_mib "$BLANK_PSS")" "$(kib_to_mib "$BLANK_USS")"
printf '  %-40s RSS +%s MiB, PSS +%s MiB, USS +%s MiB\n' "the app above that floor" \
    "$(kib_to_mib $((ALL_RSS - BLANK_RSS)))" "$(kib_to_mib $((ALL_PSS - BLANK_PSS)))" "$(kib_to_mib $((ALL_USS - BLANK_USS)))"
echo "  where the RSS is (all processes; RSS / PSS in MiB):"
while read -r rss pss name; do
    printf '    %-38s %6s / %s\n' "$name" "$(kib_to_mib "$rss")" "$(kib_to_mib "$pss")"
done <<<"$TOP_MAPPINGS"
echo
echo "Targets"
printf '  %-48s %-26s %s\n' \
    "binary <= $SIZE_TARGET_MIB MiB" "$SIZE_MIB MiB" "$(verdict "$SIZE_MIB" "$SIZE_TARGET_MIB")" \
    "first paint <= $START_TARGET_MS ms (slowest start)" "$SIGNIN_MAX / $SIGNEDIN_MAX ms" \
    "$(verdict "$((SIGNIN_MAX > SIGNEDIN_MAX ? SIGNIN_MAX : SIGNEDIN_MAX))" "$START_TARGET_MS")" \
    "  the same as on a desktop (slowest start)" "$(max_ms "$DIR/desktop.ms") ms" \
    "$(verdict "$(max_ms "$DIR/desktop.ms")" "$START_TARGET_MS")" \
    "idle CPU < $CPU_TARGET_PCT % (with WebKit processes)" "$ALL_PCT %" "$(verdict "$ALL_PCT" "$CPU_TARGET_PCT")" \
    "RSS <= $RSS_TARGET_MIB MiB (with WebKit processes)" "$ALL_RSS_MIB MiB" "$(verdict "$ALL_RSS_MIB" "$RSS_TARGET_MIB")" \
    "  the same as PSS (shared pages counted once)" "$ALL_PSS_MIB MiB" "$(verdict "$ALL_PSS_MIB" "$RSS_TARGET_MIB")" \
    "  in the tray, RSS" "$(kib_to_mib "$TRAY_ALL_RSS") MiB" "$(verdict "$(kib_to_mib "$TRAY_ALL_RSS")" "$RSS_TARGET_MIB")" \
    "  in the tray, PSS" "$(kib_to_mib "$TRAY_ALL_PSS") MiB" "$(verdict "$(kib_to_mib "$TRAY_ALL_PSS")" "$RSS_TARGET_MIB")"
