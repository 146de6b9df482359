#!/usr/bin/env bash
# Regenerates Sources/backendtls-sidecar/hot-functions.order, the list of functions the release sidecar runs in
# service, which the release link (Package.swift) places next to each other at the start of the binary's code.
#
#   bench/sidecar-order.sh     (builds the release sidecar with `make sidecar-release` unless BIN is set)
#
# Why: the kernel maps a binary's code into a process in 64 KiB runs around each page it touches (fault-around),
# so code touched once here and once there across an 80 MiB binary makes a large RSS; packed together, the same
# functions take a few MiB. Run this after changes to the sidecar's request path or its dependencies: functions
# not in the list still work, they are only placed among the cold code.
#
# How: the sidecar runs under valgrind's callgrind (which records every function executed) against an nginx TLS
# backend, as the benchmark runs it: start-up from --config-dir, HTTP mode over kept-alive and new upstream
# connections (full and resumed handshakes, TLS 1.3 and 1.2), clients resetting mid-request, TCP mode, metrics
# and probes, a configuration reload, shutdown.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
NAME=backend.default.svc
OUT=Sources/backendtls-sidecar/hot-functions.order

missing=()
for tool in valgrind nginx curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ -z "${BIN:-}" ]; then
    make --no-print-directory sidecar-release >/dev/null
    BIN=$ROOT/.build-static/release/backendtls-sidecar
fi
[ -x "$BIN" ] || { echo "sidecar binary $BIN not found" >&2; exit 1; }
BUILT=$BIN

FIXTURE_NAME=sidecar-order
. "$ROOT/bench/sidecar-fixture.sh"
read -r BACKEND_PORT CLOSING_PORT TLS12_PORT SIDECAR_PORT METRICS_PORT ROUTE_PORT <<<"$(free_ports 6 | tr '\n' ' ')"
make_pki
# In the main shell (not the end of a pipeline), so that the backend joins PIDS and is stopped on exit.
start_backend "$BACKEND_PORT" < <(
    backend_server "$BACKEND_PORT"
    backend_server "$CLOSING_PORT" "keepalive_requests 1;"
    backend_server "$TLS12_PORT" "ssl_conf_command MaxProtocol TLSv1.2;"
)
write_sidecar_config https="$BACKEND_PORT" closing="$CLOSING_PORT" tls12="$TLS12_PORT"

# valgrind cannot read the DWARF of Swift 6 objects; the symbol table is all callgrind needs.
strip --strip-debug -o "$WORK/sidecar" "$BUILT"
BIN=$WORK/sidecar
start_sidecar valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/callgrind.out"

urls() {  # count url -> a curl config asking for the url count times (one connection, reused), bodies discarded
    local i
    for i in $(seq "$1"); do printf '%s\n' "url = \"$2\"" 'output = "/dev/null"'; done
}
verify "HTTP mode" "http://127.0.0.1:$SIDECAR_PORT/" -H "Host: backend:$BACKEND_PORT"
verify "TCP mode" "http://127.0.0.1:$ROUTE_PORT/"
run_requests() {  # what: keep-alive and parallel HTTP mode, new upstream connections, TCP mode, probes and metrics
    urls 200 "http://127.0.0.1:$SIDECAR_PORT/" | curl -sf --no-progress-meter -H "Host: backend:$BACKEND_PORT" -K - \
        || die "$1: HTTP mode, keep-alive"
    urls 200 "http://127.0.0.1:$SIDECAR_PORT/" | curl -sf --no-progress-meter -H "Host: backend:$BACKEND_PORT" \
        --parallel --parallel-max 8 -K - || die "$1: HTTP mode, parallel"
    urls 20 "http://127.0.0.1:$SIDECAR_PORT/" | curl -sf --no-progress-meter -H "Host: backend.default.svc:$CLOSING_PORT" \
        -K - || die "$1: HTTP mode, a new upstream connection per request"
    urls 20 "http://127.0.0.1:$SIDECAR_PORT/" | curl -sf --no-progress-meter -H "Host: backend:$TLS12_PORT" -K - \
        || die "$1: HTTP mode, TLS 1.2"
    urls 100 "http://127.0.0.1:$ROUTE_PORT/" | curl -sf --no-progress-meter --parallel --parallel-max 4 -K - \
        || die "$1: TCP mode"
    # Clients that reset their connection with a request in flight, as wrk does when it stops.
    python3 - "$SIDECAR_PORT" "$BACKEND_PORT" <<'PY' || die "$1: resets"
import socket, struct, sys, time
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(f"GET / HTTP/1.1\r\nHost: backend:{sys.argv[2]}\r\n\r\n".encode())
    time.sleep(0.01)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
PY
    curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics" || die "$1: metrics"
    curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/healthz" || die "$1: healthz"
}
run_requests "before reload"
reloads() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk '/^backendtls_sidecar_config_reloads_total/ {n += $2} END {print n + 0}'; }
before=$(reloads)
sed -i 's/^  name: backend$/  name: backend\n  labels: {reloaded: "yes"}/' "$WORK/config/policy.yaml"
for _ in $(seq 100); do [ "$(reloads)" -gt "$before" ] && break; sleep 0.2; done
[ "$(reloads)" -gt "$before" ] || die "the sidecar did not reload its configuration"
run_requests "after reload"
stop "$SIDECAR_PID"
[ -s "$WORK/callgrind.out" ] || die "callgrind wrote no profile: $(tail -5 "$WORK/sidecar.log")"

# Every function callgrind saw (fn= and cfn= lines, each name spelled out once) that the binary defines in its
# code, sorted: the order within the hot code made no measurable difference, and a regenerated list then differs
# only where the functions do.
nm --defined-only "$BUILT" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$WORK/defined"
python3 - "$WORK/callgrind.out" "$WORK/defined" "$OUT" <<'PY'
import re, sys
profile, defined, out = sys.argv[1:4]
known = set(open(defined).read().split())
seen, names = set(), []
for line in open(profile, errors="replace"):
    m = re.match(r"c?fn=\(\d+\) (\S+)$", line.rstrip("\n"))
    if m and m.group(1) in known and m.group(1) not in seen:
        seen.add(m.group(1))
        names.append(m.group(1))
if len(names) < 1000:
    sys.exit(f"only {len(names)} functions of the sidecar in the profile: is this the sidecar's symbol table?")
with open(out, "w") as f:
    f.write("# Generated by bench/sidecar-order.sh: functions the release sidecar runs in service, placed together by\n")
    f.write("# the linker (--symbol-ordering-file, Package.swift). Regenerate after changing the request path.\n")
    f.write("\n".join(sorted(names)) + "\n")
print(f"{out}: {len(names)} functions", file=sys.stderr)
PY
