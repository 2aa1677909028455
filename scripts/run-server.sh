#!/usr/bin/env bash
# Builds (release) and runs the Cloud Buffer server on an embedded SQLite
# database in ./data, listening on http://127.0.0.1:8080. Any arguments are
# passed to cloudbuffer-server (try --help). Builds go to the same target dir
# as scripts/test.sh, outside the clone: set CARGO_TARGET_DIR to choose another.
#
# --lan [PORT]: for phones on the same network. Listens on every interface
# (0.0.0.0:PORT, 8080 by default), sets the public URL (share links, QR codes,
# pairing links) to this machine's LAN address, and prints the web app's LAN
# URL with a QR code to scan (drawn by qrencode, installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudbuffer/target}"

usage() {
    cat <<'EOF'
scripts/run-server.sh [--lan [PORT]] [cloudbuffer-server options]

  --lan [PORT]  serve phones on this network: listen on 0.0.0.0:PORT (8080 by
                default) with --public-url http://<this machine's LAN address>:PORT,
                and print the web app's LAN URL and a QR code of it

cloudbuffer-server's options:
EOF
}

# This machine's address on its LAN: the source address of its default
# route, else the first address `hostname -I` lists.
lan_address() {
    local address
    address=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1) || true
    if [ -z "$address" ]; then
        address=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n 1) || true
    fi
    printf '%s' "$address"
}

lan=""
port=8080
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --lan)
            lan=1
            if [[ "${2:-}" =~ ^[0-9]+$ ]]; then
                port="$2"
                shift
            fi
            ;;
        --lan=*)
            lan=1
            port="${1#--lan=}"
            ;;
        -h | --help)
            usage
            args+=("$1")
            ;;
        *) args+=("$1") ;;
    esac
    shift
done

if [ -n "$lan" ]; then
    if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
        echo "run-server: --lan takes a port number (1-65535), not \"$port\"" >&2
        exit 2
    fi
    for arg in "${args[@]+"${args[@]}"}"; do
        case "$arg" in
            --bind | --bind=* | --public-url | --public-url=*)
                echo "run-server: --lan sets --bind and --public-url itself; give one or the other" >&2
                exit 2
                ;;
        esac
    done
    address=$(lan_address)
    if [ -z "$address" ]; then
        echo "run-server: cannot find this machine's LAN address (no default route, and \`hostname -I\` lists none);" \
            "give --bind 0.0.0.0:$port --public-url http://ADDRESS:$port yourself" >&2
        exit 1
    fi
    args=(--bind "0.0.0.0:$port" --public-url "http://$address:$port" "${args[@]+"${args[@]}"}")
    scripts/system-deps.sh qrencode || echo "run-server: no qrencode, so no QR code below" >&2
else
    scripts/system-deps.sh
fi

# Built first, so that what is printed below is not scrolled away by the build.
cargo build --release --locked -p cloudbuffer-server
server="$CARGO_TARGET_DIR/release/cloudbuffer-server"

if [ -n "$lan" ]; then
    url="http://$address:$port/app/"
    echo
    echo "Cloud Buffer for phones on this network: $url"
    if command -v qrencode >/dev/null; then
        qrencode -t ansiutf8 -m 2 "$url"
    fi
    echo "(Scan it with a phone on the same Wi-Fi; a firewall must let port $port in.)"
    echo
fi
exec "$server" "${args[@]+"${args[@]}"}"
