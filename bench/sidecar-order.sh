#!/usr/bin/env bash
# Regenerates the release sidecar's code layout: Sources/backendtls-sidecar/hot-functions.order (symbols) and
# hot-sections.ld (sections no unique symbol names), the code the sidecar runs, which the release link
# (Package.swift) places together at the start of the binary's code.
#
#   bench/sidecar-order.sh     (builds the release sidecar with `make sidecar-release`, with a link map)
#
# Why: the kernel maps a binary's code into a process in 64 KiB runs around each page it touches (fault-around),
# so code touched once here and once there across an 80 MiB binary makes a large RSS; packed together, the same
# functions take a few MiB. Those run up to idle (start-up, the first requests) come first. Run this after changes
# to the sidecar's request path or its dependencies: code not in the lists still works, it is only placed among the
# cold code.
#
# How: the sidecar runs under valgrind's callgrind (which records every instruction executed) against an nginx TLS
# backend, as the benchmark runs it: start-up from --config-dir, HTTP mode over kept-alive and new upstream
# connections (full and resumed handshakes, TLS 1.3 and 1.2), clients resetting mid-request, TCP mode, metrics
# and probes, a configuration reload, shutdown. bench/sidecar-order.py maps the addresses to the link's input
# sections and writes both files.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
NAME=backend.default.svc
ORDER=Sources/backendtls-sidecar/hot-functions.order
SCRIPT=Sources/backendtls-sidecar/hot-sections.ld

FIXTURE_NAME=sidecar-order
. "$ROOT/bench/sidecar-fixture.sh"
install_missing valgrind nginx curl
# The map says which input section (object file, section name) each address of this link lies in.
make --no-print-directory sidecar-release \
    SIDECAR_LINK_FLAGS="-Xlinker -Map=$WORK/sidecar.map -Xlinker --no-demangle" >/dev/null
BUILT=$ROOT/.build-static/release/backendtls-sidecar
read -r BACKEND_PORT CLOSING_PORT TLS12_PORT SIDECAR_PORT METRICS_PORT ROUTE_PORT <<<"$(free_ports 6 | tr '\n' ' ')"
make_pki
# In the main shell (not the end of a pipeline), so that the backend joins PIDS and is stopped on exit.
start_backend "$BACKEND_PORT" < <(
    backend_server "$BACKEND_PORT"
    backend_server "$CLOSING_PORT" "keepalive_requests 1;"
    backend_server "$TLS12_PORT" "ssl_conf_command MaxProtocol TLSv1.2;"
)
write_sidecar_config https="$BACKEND_PORT" closing="$CLOSING_PORT" tls12="$TLS12_PORT"

# valgrind cannot read the DWARF of Swift 6 objects; the symbol table is all callgrind needs. Same file name, so
# that the profile's object names match the binary's.
mkdir -p "$WORK/bin"
strip --strip-debug -o "$WORK/bin/backendtls-sidecar" "$BUILT"
BIN=$WORK/bin/backendtls-sidecar
# Every instruction address, spelled out in every dump (not relative to or compressed into an earlier line): each
# dump is read alone.
start_sidecar valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no \
    --callgrind-out-file="$WORK/callgrind.out"

urls() {  # count url -> a curl config asking for the url count times (one connection, reused), bodies discarded
    local i
    for i in $(seq "$1"); do printf '%s\n' "url = \"$2\"" 'output = "/dev/null"'; done
}
verify "HTTP mode" "http://127.0.0.1:$SIDECAR_PORT/" -H "Host: backend:$BACKEND_PORT"
verify "TCP mode" "http://127.0.0.1:$ROUTE_PORT/"
curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics" || die "metrics"
# What ran so far is what an idle sidecar has run (the benchmark's idle RSS is taken at this point): dumped
# apart, so that these functions go first and its pages are few.
callgrind_control --dump=idle "$SIDECAR_PID" >/dev/null || die "callgrind_control could not dump the profile"
for _ in $(seq 100); do [ -s "$WORK/callgrind.out.1" ] && break; sleep 0.1; done
[ -s "$WORK/callgrind.out.1" ] || die "callgrind wrote no dump of the idle phase"
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

python3 bench/sidecar-order.py "$BUILT" "$WORK/sidecar.map" "$WORK/callgrind.out.1" "$WORK/callgrind.out" \
    "$ORDER" "$SCRIPT"
