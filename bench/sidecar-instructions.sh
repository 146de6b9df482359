#!/usr/bin/env bash
# Instructions per request of the release sidecar, counted by valgrind's callgrind. Timings on this shared 2-CPU
# machine move by ±10% from run to run, more than most single changes to the request path; instruction counts
# repeat to within a few hundred per request, so two builds can be compared. They are not time: an instruction
# that waits for memory or an atomic reference count costs more than others.
#   bench/sidecar-instructions.sh        (builds the release sidecar with `make sidecar-release` unless BIN is set)
#   BASELINE=/path/to/an/older/backendtls-sidecar bench/sidecar-instructions.sh    (both, and their ratios)
# For each binary: HTTP mode, and TCP mode (the same event loop and TLS, without HTTP: the floor HTTP mode adds
# to). REQUESTS (10,000) keep-alive requests over 4 connections (h2load), after 2,000 that are not counted; the
# count is every user-space instruction of the process (BoringSSL's included) in between, per request. The
# backend keeps its connections open, so HTTP mode's pooled upstream connections make no handshakes among the
# counted requests; TCP mode's count includes four (one upstream connection per client connection).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
NAME=backend.default.svc
REQUESTS=${REQUESTS:-10000}

FIXTURE_NAME=sidecar-instructions
. "$ROOT/bench/sidecar-fixture.sh"
install_missing valgrind h2load=nghttp2-client nginx curl

if [ -z "${BIN:-}" ]; then
    make --no-print-directory sidecar-release >/dev/null
    BIN=$ROOT/.build-static/release/backendtls-sidecar
fi
[ -x "$BIN" ] || { echo "sidecar binary $BIN not found" >&2; exit 1; }
[ -z "${BASELINE:-}" ] || [ -x "$BASELINE" ] || { echo "baseline binary $BASELINE not found" >&2; exit 1; }

read -r BACKEND_PORT SIDECAR_PORT METRICS_PORT ROUTE_PORT <<<"$(free_ports 4 | tr '\n' ' ')"
make_pki
# In the main shell (not the end of a pipeline), so that the backend joins PIDS and is stopped on exit.
# Connections are never closed by the backend (nginx's default closes one every 1,000 requests): a new upstream
# connection's handshake costs as much as a few hundred requests, and where the reconnections fall among the counted
# requests would move the count by thousands per request. bench/sidecar.sh measures new connections apart.
start_backend "$BACKEND_PORT" < <(backend_server "$BACKEND_PORT" "keepalive_requests 1000000;")
write_sidecar_config https="$BACKEND_PORT"

# count BINARY -> "HTTP TCP": instructions per request in each mode
count() {
    # valgrind cannot read the DWARF of Swift 6 objects; the symbol table is all callgrind needs.
    mkdir -p "$WORK/bin"
    BIN=$WORK/bin/backendtls-sidecar
    strip --strip-debug -o "$BIN" "$1"
    rm -f "$WORK"/callgrind.out*
    start_sidecar valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out"
    verify "HTTP mode" "http://127.0.0.1:$SIDECAR_PORT/" -H "Host: backend:$BACKEND_PORT"
    verify "TCP mode" "http://127.0.0.1:$ROUTE_PORT/"
    local mode url result=()
    for mode in http tcp; do
        if [ "$mode" = http ]; then url=http://127.0.0.1:$SIDECAR_PORT/; else url=http://127.0.0.1:$ROUTE_PORT/; fi
        h2load --h1 -n 2000 -c 4 -H ":authority: backend:$BACKEND_PORT" "$url" >"$WORK/h2load.log" \
            || die "h2load $mode warm-up"
        callgrind_control --instr=on "$SIDECAR_PID" >/dev/null 2>&1 || die "callgrind_control"
        h2load --h1 -n "$REQUESTS" -c 4 -H ":authority: backend:$BACKEND_PORT" "$url" >"$WORK/h2load.log" \
            || die "h2load $mode"
        grep -q "^requests: $REQUESTS total, $REQUESTS started, $REQUESTS done, $REQUESTS succeeded" "$WORK/h2load.log" \
            || die "$mode: not every request succeeded: $(grep '^requests:' "$WORK/h2load.log")"
        callgrind_control --instr=off "$SIDECAR_PID" >/dev/null 2>&1 || die "callgrind_control"
        callgrind_control --dump="$mode" "$SIDECAR_PID" >/dev/null 2>&1 || die "callgrind_control"
        # A dump per call, numbered; the counts between an --instr=on and its dump are this mode's alone (the
        # dump zeroes them).
        local total=
        for _ in $(seq 100); do
            total=$(cat "$WORK"/callgrind.out.* 2>/dev/null | awk -v m="$mode" '
                /^desc: Trigger: / {trigger = $0} /^totals:/ && trigger ~ m {t += $2} END {if (t) printf "%d", t}')
            [ -n "$total" ] && break
            sleep 0.1
        done
        [ -n "$total" ] || die "callgrind wrote no dump for $mode"
        result+=($((total / REQUESTS)))
    done
    stop "$SIDECAR_PID"
    echo "${result[*]}"
}

read -r HTTP TCP <<<"$(count "$BIN")"
if [ -n "${BASELINE:-}" ]; then read -r BASE_HTTP BASE_TCP <<<"$(count "$BASELINE")"; fi

echo "sidecar instructions per request (callgrind), $REQUESTS keep-alive requests over 4 connections (h2load)"
printf '%-10s %12s %12s %10s\n' binary "HTTP mode" "TCP mode" "HTTP/TCP"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
printf '%-10s %12s %12s %10s\n' this "$HTTP" "$TCP" "$(ratio "$HTTP" "$TCP")"
if [ -n "${BASELINE:-}" ]; then
    printf '%-10s %12s %12s %10s\n' baseline "$BASE_HTTP" "$BASE_TCP" "$(ratio "$BASE_HTTP" "$BASE_TCP")"
    echo "this build against the baseline: HTTP mode $(ratio "$HTTP" "$BASE_HTTP"), TCP mode $(ratio "$TCP" "$BASE_TCP")"
fi
