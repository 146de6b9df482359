#!/usr/bin/env bash
# Throughput, latency and memory of backendtls-webhook's /validate, next to nginx as the ceiling.
#
#   bench/webhook.sh            # DURATION=15 seconds per run by default
#
# Builds the release binary, starts it in memory mode with a generated PKI and seeds a realistic store
# (100 Services, 100 CA ConfigMaps of 1-3 certificates, 100 BackendTLSPolicies) by POSTing admitted,
# non-dry-run AdmissionReviews. Then drives POST /validate with a real CREATE of a policy whose CA ConfigMap
# is in the store: HTTP/1.1 keep-alive over TLS (wrk) and HTTP/2 (h2load). nginx, serving the webhook's own
# response for that request as a fixed body over the same certificate, runs the same load as the ceiling.
# Everything listens on 127.0.0.1 only; every process started here is stopped on exit.
set -euo pipefail

DURATION=${DURATION:-15}
WARMUP=${WARMUP:-2}
CONNECTIONS=10
STREAMS=10
THREADS=2
POLICIES=100
CA_POOL=40
GOAL_RATIO=0.5
GOAL_P99_MS=5
GOAL_RSS_MIB=40

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELPERS="$ROOT/bench/webhook"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/backendtls-webhook-bench.XXXXXX")
PIDS=()

log() { printf '%s\n' "$*" >&2; }
die() {
    log "bench/webhook.sh: $*"
    exit 1
}

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    PIDS=()
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_all
    wait 2>/dev/null || true
    if [ "$status" != 0 ] && [ -d "$WORK" ]; then
        for file in webhook.log nginx/error.log; do
            [ -s "$WORK/$file" ] && { log "--- $file (last lines)"; tail -n 20 "$WORK/$file" >&2; }
        done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Forgets a PID once its process is gone.
forget() {
    local pid kept=()
    for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
    PIDS=("${kept[@]}")
}

# Runs a command in the background and waits for it, so a signal to this script is handled at once.
run() {
    "$@" &
    local pid=$! status=0
    PIDS+=("$pid")
    wait "$pid" || status=$?
    forget "$pid"
    return "$status"
}

## Tools: install only what is missing (Debian packages).
declare -A PACKAGE=([wrk]=wrk [h2load]=nghttp2-client [nginx]=nginx [curl]=curl [openssl]=openssl [python3]=python3)
missing=()
for tool in wrk h2load nginx curl openssl python3; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("${PACKAGE[$tool]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    # RUNLEVEL=1 keeps invoke-rc.d from starting the packaged nginx service on port 80.
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

## Build.
log "building release (swift build -c release --scratch-path .build-release --product backendtls-webhook)"
cd "$ROOT"
if ! swift build -c release --scratch-path .build-release --product backendtls-webhook >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    die "release build failed"
fi
tail -n 1 "$WORK/build.log" >&2
BINARY="$(swift build -c release --scratch-path .build-release --show-bin-path)/backendtls-webhook"
[ -x "$BINARY" ] || die "no binary at $BINARY"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
WEBHOOK_PORT=$(free_port)
PROBE_PORT=$(free_port)
METRICS_PORT=$(free_port)
NGINX_PORT=$(free_port)

## CA pool for the bundles: half RSA-2048, half P-256 roots.
mkdir -p "$WORK/cas"
for i in $(seq 0 $((CA_POOL - 1))); do
    if [ $((i % 2)) = 0 ]; then key=(-newkey rsa:2048); else key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); fi
    openssl req -x509 "${key[@]}" -nodes -keyout /dev/null -out "$(printf '%s/cas/ca-%02d.pem' "$WORK" "$i")" \
        -days 3650 -subj "/O=backendtls bench/CN=Bench Root CA $i" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
done

## Webhook.
"$BINARY" --dev-certificate "$WORK/pki" --listen "127.0.0.1:$WEBHOOK_PORT" \
    --probe-listen "127.0.0.1:$PROBE_PORT" --metrics-listen "127.0.0.1:$METRICS_PORT" --log-level warning \
    >"$WORK/webhook.log" 2>&1 &
WEBHOOK_PID=$!
PIDS+=("$WEBHOOK_PID")
for _ in $(seq 300); do
    kill -0 "$WEBHOOK_PID" 2>/dev/null || die "the webhook exited during start-up"
    curl -fsS "http://127.0.0.1:$PROBE_PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$PROBE_PORT/readyz" >/dev/null || die "the webhook is not ready after 30 s"
python3 "$HELPERS/seed.py" --port "$WEBHOOK_PORT" --cafile "$WORK/pki/ca.crt" --pool "$WORK/cas" \
    --policies "$POLICIES" --out "$WORK"
for protocol in --http1.1 --http2; do
    curl -fsS "$protocol" --cacert "$WORK/pki/ca.crt" -H 'content-type: application/json' \
        --data-binary "@$WORK/request.json" "https://localhost:$WEBHOOK_PORT/validate" | grep -q '"allowed":true' ||
        die "webhook: $protocol request not allowed"
done

## nginx: the same certificate, the webhook's own answer as a fixed response.
mkdir -p "$WORK/nginx"
chmod 755 "$WORK" "$WORK/nginx"
RESPONSE=$(cat "$WORK/response.json")
case $RESPONSE in *'$'* | *"'"* | *'\'*) die "response.json holds characters nginx's return would mangle" ;; esac
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $(nproc);
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 90s;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        ssl_certificate $WORK/pki/tls.crt;
        ssl_certificate_key $WORK/pki/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 7m;
        location = /validate {
            default_type application/json;
            return 200 '$RESPONSE';
        }
    }
}
EOF
"$NGINX" -t -q -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' ||
    die "nginx rejects its configuration"
"$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
for _ in $(seq 100); do
    curl -fsS --cacert "$WORK/pki/ca.crt" --data-binary "@$WORK/request.json" \
        "https://localhost:$NGINX_PORT/validate" >/dev/null 2>&1 && break
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited during start-up"
    sleep 0.1
done
for protocol in --http1.1 --http2; do
    curl -fsS "$protocol" --cacert "$WORK/pki/ca.crt" --data-binary "@$WORK/request.json" \
        "https://localhost:$NGINX_PORT/validate" | cmp -s - "$WORK/response.json" || die "nginx: wrong answer"
done

## Measurements.
# Max VmRSS (KiB) of a process, sampled every 100 ms into a file until stopped.
sample_rss() {
    local pid=$1 out=$2 max=0 value
    while kill -0 "$pid" 2>/dev/null; do
        value=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        if [ "${value:-0}" -gt "$max" ]; then max=$value; fi
        echo "$max" >"$out"
        sleep 0.1
    done
}

# RSS (KiB) of nginx: master and workers.
nginx_rss() {
    local total=0 pid value
    for pid in "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true); do
        value=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

# wrk's latency figures come as 412.00us, 1.23ms or 1.02s; print milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) printf "%.3f", substr(v, 1, length(v) - 2) / 1000
        else if (v ~ /ms$/) printf "%.3f", substr(v, 1, length(v) - 2)
        else if (v ~ /s$/) printf "%.3f", substr(v, 1, length(v) - 1) * 1000
        else print "nan" }'
}

declare -A RPS P50 P99 RSS
# $1 name, $2 port, $3 pid whose RSS to sample (or "")
measure_http1() {
    local name=$1 port=$2 pid=$3 body=${4:-$WORK/request.json} out="$WORK/wrk-$1.txt"
    local url="https://127.0.0.1:$port/validate"
    BENCH_BODY="$body" run wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$HELPERS/post.lua" \
        "$url" >/dev/null
    start_sampler "$name" "$pid"
    BENCH_BODY="$body" run wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$HELPERS/post.lua" "$url" >"$out"
    stop_sampler
    if [ -n "$pid" ]; then RSS[$name]=$(cat "$WORK/rss-$name"); else RSS[$name]=$(nginx_rss); fi
    RPS[$name]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    P50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    if grep -q -E 'Non-2xx|Socket errors' "$out"; then
        log "warning: $name: $(grep -E 'Non-2xx|Socket errors' "$out" | tr -s ' ')"
    fi
    log "--- wrk, $name"
    sed 's/^/    /' "$out" >&2
}

measure_http2() {
    local name=$1 port=$2 pid=$3 out="$WORK/h2load-$1.txt" requests="$WORK/h2load-$1.log"
    start_sampler "$name" "$pid"
    run h2load -c"$CONNECTIONS" -m"$STREAMS" -t"$THREADS" -D "$DURATION" --warm-up-time="$WARMUP" \
        -d "$WORK/request.json" -H 'content-type: application/json' --log-file="$requests" \
        "https://127.0.0.1:$port/validate" >"$out"
    stop_sampler
    if [ -n "$pid" ]; then RSS[$name]=$(cat "$WORK/rss-$name"); else RSS[$name]=$(nginx_rss); fi
    RPS[$name]=$(awk '/^finished in/ { gsub(",", "", $4); printf "%.0f", $4 }' "$out")
    # h2load prints min/max/mean/sd only; the percentiles come from its per-request log (µs, column 3).
    read -r P50[$name] P99[$name] < <(cut -f3 "$requests" | sort -n | awk '
        { v[NR] = $1 } END {
            if (NR == 0) { print "nan nan"; exit }
            i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
            printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }')
    if ! grep -q -E '^status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx' "$out" || ! grep -q ' 0 failed, 0 errored' "$out"; then
        log "warning: $name: $(grep -E '^(requests|status codes):' "$out" | tr '\n' ' ')"
    fi
    log "--- h2load, $name"
    grep -v -E '^(starting|spawning|progress|Warm-up|Main benchmark)' "$out" | sed 's/^/    /' >&2
}

SAMPLER=""
start_sampler() {
    [ -n "$2" ] || return 0
    echo 0 >"$WORK/rss-$1"
    sample_rss "$2" "$WORK/rss-$1" &
    SAMPLER=$!
    PIDS+=("$SAMPLER")
}
stop_sampler() {
    [ -n "$SAMPLER" ] || return 0
    kill -TERM "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    forget "$SAMPLER"
    SAMPLER=""
}

IDLE_RSS=$(awk '/^VmRSS:/ { print $2 }' "/proc/$WEBHOOK_PID/status")
log "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
measure_http1 webhook-h1 "$WEBHOOK_PORT" "$WEBHOOK_PID"
measure_http1 nginx-h1 "$NGINX_PORT" ""
# Diagnostic, not a goal: the same request as a dry run, which the memory store does not learn from.
measure_http1 webhook-h1-dry-run "$WEBHOOK_PORT" "$WEBHOOK_PID" "$WORK/request-dry-run.json"
measure_http2 webhook-h2 "$WEBHOOK_PORT" "$WEBHOOK_PID"
measure_http2 nginx-h2 "$NGINX_PORT" ""
kill -0 "$WEBHOOK_PID" 2>/dev/null || die "the webhook died under load"

## Report.
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
verdict() {
    case $1 in *nan*) echo "NOT MET (no figure)" ;; *) if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT MET"; fi ;; esac
}

echo
echo "backendtls-webhook /validate benchmark — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ' (Sources modified)')"
echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), server and load generator share them"
echo "tools: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $(h2load --version 2>&1 | head -n 1), $("$NGINX" -v 2>&1 | cut -d' ' -f3)"
echo "store: $POLICIES policies, $POLICIES CA ConfigMaps of 1-3 certificates, $((POLICIES + 1)) Services (memory mode)"
echo "request: CREATE BackendTLSPolicy, $(wc -c <"$WORK/request.json") bytes; response $(wc -c <"$WORK/response.json") bytes"
echo "HTTP/1.1: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/webhook/post.lua (after a ${WARMUP} s warm-up)"
echo "HTTP/2:   h2load -c$CONNECTIONS -m$STREAMS -t$THREADS -D $DURATION --warm-up-time=$WARMUP -d request.json"
echo "          (h2load reports only min/max/mean/sd; p50/p99 here are computed from its --log-file)"
echo
printf '%-26s %10s %10s %10s %12s %10s\n' "" "req/s" "p50" "p99" "RSS (max)" "vs nginx"
for protocol in h1 h2; do
    for server in webhook nginx; do
        name="$server-$protocol"
        label="$server $([ "$protocol" = h1 ] && echo 'HTTP/1.1 (wrk)' || echo 'HTTP/2 (h2load)')"
        rss_label="$(mib "${RSS[$name]}")"
        [ "$server" = nginx ] && rss_label="$rss_label*"
        printf '%-26s %10s %7s ms %7s ms %12s %10s\n' "$label" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" \
            "$rss_label" "$(ratio "${RPS[$name]}" "${RPS[nginx-$protocol]}")x"
    done
done
name=webhook-h1-dry-run
printf '%-26s %10s %7s ms %7s ms %12s %10s\n' "webhook HTTP/1.1 dry run" "${RPS[$name]}" "${P50[$name]}" \
    "${P99[$name]}" "$(mib "${RSS[$name]}")" "$(ratio "${RPS[$name]}" "${RPS[nginx-h1]}")x"
echo "(dry run: diagnostic only; the memory store learns from every admitted non-dry-run request)"
echo "webhook RSS idle after seeding: $(mib "$IDLE_RSS"); *nginx: master + workers after the run"
echo
echo "goals:"
for protocol in h1 h2; do
    name="webhook-$protocol"
    label=$([ "$protocol" = h1 ] && echo "HTTP/1.1" || echo "HTTP/2  ")
    r=$(ratio "${RPS[$name]}" "${RPS[nginx-$protocol]}")
    printf '  %s req/s >= %s x nginx: %5sx  %s\n' "$label" "$GOAL_RATIO" "$r" "$(verdict "$r >= $GOAL_RATIO")"
    printf '  %s p99 <= %s ms:         %5s ms %s\n' "$label" "$GOAL_P99_MS" "${P99[$name]}" \
        "$(verdict "${P99[$name]} <= $GOAL_P99_MS")"
done
max_rss=$(printf '%s\n' "${RSS[webhook-h1]}" "${RSS[webhook-h2]}" | sort -n | tail -n 1)
printf '  RSS under load <= %s MiB:   %s %s\n' "$GOAL_RSS_MIB" "$(mib "$max_rss")" \
    "$(verdict "$max_rss <= $GOAL_RSS_MIB * 1024")"
