#!/usr/bin/env bash
# Sidecar throughput, latency and memory, side by side with nginx, HAProxy and stunnel in the same run.
#   bench/sidecar.sh           (builds the release sidecar as the Dockerfile does, `make sidecar-release`, into
#                               .build-static, unless BIN is set; DURATION=15s per path by default, ROUNDS=3)
# One nginx TLS backend (tiny fixed response, keep-alive) serves every run. Paths compared with each other run
# alternately, in ROUNDS rounds of `wrk -t2 -c16 -d<DURATION/ROUNDS, in whole seconds rounded up> --latency` each
# (after a short warm-up the first time), so that a spell of other load on this shared machine falls on all of
# them alike:
#   1 direct to the backend over TLS (the ceiling), 2 sidecar HTTP mode, 3 nginx as proxy, 4 HAProxy: alternately
#   5 sidecar TCP mode, 6 stunnel client mode: alternately (a sidecar started anew, for its own RSS figures)
#   7/8 sidecar HTTP mode against a backend that closes every connection after one response (so each request
#       is a new upstream TLS connection), with session tickets (resumed) and without (full handshakes): alternately
# req/s is each path's requests over its rounds' time; p50 and p99 are the median of its rounds' figures.
# Every proxy verifies the chain against the bench CA and the name backend.default.svc, and sends it as SNI.
# Memory: VmRSS of the proxy process (nginx: master + workers), idle after one request and the maximum of
# samples taken every 0.5 s under load; CPU us/req is the proxy's user + system time per request (useful when
# the machine is shared and req/s is noisy). Ratios > 1 mean we are faster. Loopback only; everything started
# here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=${DURATION:-15s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
[[ "$DURATION" =~ ^[0-9]+s$ ]] && [ "$((10#${DURATION%s}))" -ge 1 ] ||
    { echo "DURATION is in whole seconds, at least 1: 15s" >&2; exit 1; }
[[ "$ROUNDS" =~ ^[0-9]+$ ]] && [ "$((10#$ROUNDS))" -ge 1 ] || { echo "ROUNDS is a whole number, at least 1" >&2; exit 1; }
ROUNDS=$((10#$ROUNDS))
# wrk takes whole seconds
ROUND_DURATION=$(((10#${DURATION%s} + ROUNDS - 1) / ROUNDS))s
WRK_ARGS=(-t2 -c16 --latency)
NAME=backend.default.svc

FIXTURE_NAME=sidecar-bench
. "$ROOT/bench/sidecar-fixture.sh"

# --- tools -----------------------------------------------------------------------------------------
tools=(nginx wrk haproxy curl)
command -v stunnel >/dev/null || tools+=(stunnel4)
install_missing "${tools[@]}"
STUNNEL=$(command -v stunnel4 || command -v stunnel)
NGINX=$(command -v nginx)

if [ -z "${BIN:-}" ]; then
    make --no-print-directory sidecar-release >/dev/null
    BIN=$ROOT/.build-static/release/backendtls-sidecar
fi
[ -x "$BIN" ] || { echo "sidecar binary $BIN not found" >&2; exit 1; }

read -r BACKEND_PORT SIDECAR_PORT METRICS_PORT ROUTE_PORT NGINX_PORT HAPROXY_PORT STUNNEL_PORT CLOSING_PORT \
    FULL_HANDSHAKE_PORT <<<"$(free_ports 9 | tr '\n' ' ')"

make_pki

# --- backend: nginx, TLS, tiny fixed response; reports the SNI it saw ------------------------------
# In the main shell (not the end of a pipeline), so that the backend joins PIDS and is stopped on exit.
start_backend "$BACKEND_PORT" < <(
    backend_server "$BACKEND_PORT"
    # One response per connection: every request through the sidecar opens a new upstream TLS connection;
    # one server resumes sessions (tickets, nginx's default), the other forces full handshakes.
    backend_server "$CLOSING_PORT" "keepalive_requests 1;"
    backend_server "$FULL_HANDSHAKE_PORT" "keepalive_requests 1;" "ssl_session_tickets off;" "ssl_session_cache off;"
)

# --- measurement helpers ---------------------------------------------------------------------------
status_sum() {  # FIELD pids... -> FIELD of /proc/PID/status (KiB) summed over the processes
    local field=$1 total=0 pid value
    shift
    for pid in "$@"; do
        value=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}
stat_sum() {  # AWK-EXPRESSION pids... -> the expression over /proc/PID/stat's fields after the name, summed
    local expression=$1 total=0 pid value
    shift
    for pid in "$@"; do
        value=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk "{print $expression}" || true)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}
# RssAnon: private memory, without the shared, file-backed code pages; VmRSS: all of it (nginx: master + workers)
anon_kib() { status_sum RssAnon "$@"; }
rss_kib() { status_sum VmRSS "$@"; }
# minor page faults so far: an upper bound on the pages the process touched itself
faults() { stat_sum '$8' "$@"; }
# user + system CPU time in clock ticks (all threads); each apart
cpu_ticks() { stat_sum '$12 + $13' "$@"; }
user_ticks() { stat_sum '$12' "$@"; }
# the whole machine's busy time in clock ticks (user, nice, system, irq, softirq, steal): the proxy, wrk and the backend
machine_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
proc_tree() {  # pid -> pid and its children
    echo "$1"
    pgrep -P "$1" 2>/dev/null || true
}

declare -A LABEL REQS SECONDS_RUN WALL P50 P99 IDLE PEAK ERRS CPU USER MACHINE REST ANON FAULTS RUNS
ORDER=()

# measure KEY LABEL URL "PIDS-FUNCTION-OR-EMPTY" [wrk -H args...]: one round of KEY, added to its earlier rounds
measure() {
    local key=$1 label=$2 url=$3 pidfn=$4
    shift 4
    local sampler= cpu_before=0 user_before=0 machine_before backend_before
    if [ -z "${LABEL[$key]:-}" ]; then
        ORDER+=("$key")
        LABEL[$key]=$label
        RUNS[$key]=0 REQS[$key]=0 SECONDS_RUN[$key]=0 WALL[$key]=0 MACHINE[$key]=0 REST[$key]=0
        P50[$key]= P99[$key]= ERRS[$key]=
        if [ -n "$pidfn" ]; then
            CPU[$key]=0 USER[$key]=0 PEAK[$key]=0
            sleep 1
            IDLE[$key]=$(rss_kib $($pidfn))
            ANON[$key]=$(anon_kib $($pidfn))
            FAULTS[$key]=$(faults $($pidfn))
        fi
        wrk "${WRK_ARGS[@]}" -d"$WARMUP" "$@" "$url" >/dev/null
    fi
    if [ -n "$pidfn" ]; then
        echo 0 >"$WORK/peak.$key"
        (
            peak=0
            while :; do
                now=$(rss_kib $($pidfn))
                [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" >"$WORK/peak.$key"
                sleep 0.5
            done
        ) &
        sampler=$!
        PIDS+=("$sampler")
        cpu_before=$(cpu_ticks $($pidfn))
        user_before=$(user_ticks $($pidfn))
    fi
    local wall_before
    wall_before=$(date +%s.%N)
    machine_before=$(machine_ticks)
    backend_before=$(cpu_ticks $(proc_tree "$BACKEND_PID"))
    # wrk's own CPU time (its rusage, in clock ticks), for what the load generator costs per request
    python3 -c 'import os, resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
used = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(str(round((used.ru_utime + used.ru_stime) * os.sysconf("SC_CLK_TCK"))))
sys.exit(code)' "$WORK/wrk-cpu.$key" wrk "${WRK_ARGS[@]}" -d"$ROUND_DURATION" "$@" "$url" >"$WORK/wrk.$key" 2>&1 ||
        die "$label: wrk failed: $(cat "$WORK/wrk.$key")"
    MACHINE[$key]=$((MACHINE[$key] + $(machine_ticks) - machine_before))
    # the machine's busy time is over this window, wrk's start and end included
    WALL[$key]=$(awk -v a="${WALL[$key]}" -v b="$wall_before" -v c="$(date +%s.%N)" 'BEGIN {print a + c - b}')
    REST[$key]=$((REST[$key] + $(cpu_ticks $(proc_tree "$BACKEND_PID")) - backend_before + $(cat "$WORK/wrk-cpu.$key")))
    if [ -n "$sampler" ]; then
        CPU[$key]=$((CPU[$key] + $(cpu_ticks $($pidfn)) - cpu_before))
        USER[$key]=$((USER[$key] + $(user_ticks $($pidfn)) - user_before))
        stop "$sampler"
        local kept=() pid
        for pid in "${PIDS[@]}"; do [ "$pid" = "$sampler" ] || kept+=("$pid"); done
        PIDS=("${kept[@]}")
        local peak
        peak=$(cat "$WORK/peak.$key")
        if [ "$peak" -gt "${PEAK[$key]}" ]; then PEAK[$key]=$peak; fi
    fi
    local requests rate seconds
    requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.$key")
    rate=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.$key")
    [ -n "$requests" ] && [ -n "$rate" ] || die "$label: no wrk result: $(cat "$WORK/wrk.$key")"
    # the time wrk ran, exactly as it divided by (the summary line rounds it, in s, m or h)
    seconds=$(awk -v n="$requests" -v r="$rate" 'BEGIN {print (r > 0 ? n / r : 0)}')
    RUNS[$key]=$((RUNS[$key] + 1))
    REQS[$key]=$((REQS[$key] + requests))
    SECONDS_RUN[$key]=$(awk -v a="${SECONDS_RUN[$key]}" -v b="$seconds" 'BEGIN {print a + b}')
    P50[$key]+="$(awk '$1 == "50%" {print $2}' "$WORK/wrk.$key") "
    P99[$key]+="$(awk '$1 == "99%" {print $2}' "$WORK/wrk.$key") "
    ERRS[$key]+=$(awk -v round="${RUNS[$key]}" '/Non-2xx|Socket errors/ {sub(/^ +/, ""); printf "round %s: %s; ", round, $0}' "$WORK/wrk.$key")
    echo "  measured $label, round ${RUNS[$key]}: $rate req/s" >&2
}

write_sidecar_config https="$BACKEND_PORT" closing="$CLOSING_PORT" full-handshake="$FULL_HANDSHAKE_PORT"

echo "backend nginx on 127.0.0.1:$BACKEND_PORT; $(nproc) CPUs; wrk ${WRK_ARGS[*]}, $ROUNDS rounds of -d$ROUND_DURATION per path (after ${WARMUP} warm-up)" >&2

# 1-4. The ceiling and the three HTTP proxies: all started first, then measured in turn, round after round
verify direct "https://$NAME:$BACKEND_PORT/" --cacert "$WORK/ca.crt" --resolve "$NAME:$BACKEND_PORT:127.0.0.1"

# 2. sidecar, HTTP mode
start_sidecar
verify "sidecar HTTP" "http://127.0.0.1:$SIDECAR_PORT/" -H "Host: backend:$BACKEND_PORT"

# 3. nginx as a TLS-originating proxy
{
    nginx_common "$WORK/nginx"
    echo "http {"
    http_common "$WORK/nginx"
    cat <<EOF
    upstream backend_upstream {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass https://backend_upstream;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $WORK/ca.crt;
            proxy_ssl_name $NAME;
            proxy_ssl_server_name on;
            proxy_ssl_verify_depth 2;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
} >"$WORK/nginx.conf"
"$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$WORK/nginx.conf" >"$WORK/nginx.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_port "$NGINX_PORT" "$NGINX_PID" nginx
nginx_pids() { proc_tree "$NGINX_PID"; }
verify "nginx proxy" "http://127.0.0.1:$NGINX_PORT/"

# 4. HAProxy
cat >"$WORK/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
frontend fe
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend be
backend be
    server s1 127.0.0.1:$BACKEND_PORT ssl verify required ca-file $WORK/ca.crt sni str($NAME) verifyhost $NAME
EOF
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!
PIDS+=("$HAPROXY_PID")
wait_port "$HAPROXY_PORT" "$HAPROXY_PID" haproxy
haproxy_pids() { echo "$HAPROXY_PID"; }
verify "HAProxy" "http://127.0.0.1:$HAPROXY_PORT/"
HAPROXY_LABEL="HAProxy $(haproxy -v | awk 'NR == 1 {sub(/-.*/, "", $3); print $3}')"
for _ in $(seq "$ROUNDS"); do
    measure direct "direct TLS (ceiling)" "https://127.0.0.1:$BACKEND_PORT/" ""
    measure sidecar_http "sidecar HTTP mode" "http://127.0.0.1:$SIDECAR_PORT/" sidecar_pids -H "Host: backend:$BACKEND_PORT"
    measure nginx "nginx proxy" "http://127.0.0.1:$NGINX_PORT/" nginx_pids
    measure haproxy "$HAPROXY_LABEL" "http://127.0.0.1:$HAPROXY_PORT/" haproxy_pids
done
stop "$SIDECAR_PID"
stop "$NGINX_PID"
stop "$HAPROXY_PID"

# 5, 6. sidecar TCP mode (a sidecar of its own, for its memory figures) and stunnel, in turn
start_sidecar
verify "sidecar TCP" "http://127.0.0.1:$ROUTE_PORT/"

# 6. stunnel, client mode
cat >"$WORK/stunnel.conf" <<EOF
foreground = yes
pid =
debug = 3
[backend]
client = yes
accept = 127.0.0.1:$STUNNEL_PORT
connect = 127.0.0.1:$BACKEND_PORT
verifyChain = yes
CAfile = $WORK/ca.crt
checkHost = $NAME
sni = $NAME
EOF
"$STUNNEL" "$WORK/stunnel.conf" >"$WORK/stunnel.log" 2>&1 &
STUNNEL_PID=$!
PIDS+=("$STUNNEL_PID")
wait_port "$STUNNEL_PORT" "$STUNNEL_PID" stunnel
stunnel_pids() { echo "$STUNNEL_PID"; }
verify "stunnel" "http://127.0.0.1:$STUNNEL_PORT/"
STUNNEL_LABEL="stunnel $("$STUNNEL" -version 2>&1 | awk '/^stunnel/ {print $2; exit}')"
for _ in $(seq "$ROUNDS"); do
    measure sidecar_tcp "sidecar TCP mode" "http://127.0.0.1:$ROUTE_PORT/" sidecar_pids
    measure stunnel "$STUNNEL_LABEL" "http://127.0.0.1:$STUNNEL_PORT/" stunnel_pids
done
stop "$SIDECAR_PID"
stop "$STUNNEL_PID"

# 7, 8. sidecar HTTP mode, a new upstream connection per request: resumed sessions vs full handshakes, in turn
reused_on_second_request() {  # port -> nginx's $ssl_session_reused for the second request through the sidecar
    local i header
    for i in 1 2; do
        header=$(curl -sS -D - -o /dev/null --max-time 10 -H "Host: backend:$1" "http://127.0.0.1:$SIDECAR_PORT/" \
            | tr -d '\r' | awk -F': ' 'tolower($1) == "x-session-reused" {print $2}')
    done
    echo "$header"
}
start_sidecar
verify "sidecar HTTP, closing backend" "http://127.0.0.1:$SIDECAR_PORT/" -H "Host: backend:$CLOSING_PORT"
[ "$(reused_on_second_request "$CLOSING_PORT")" = r ] || die "the sidecar did not resume a session with the closing backend"
[ "$(reused_on_second_request "$FULL_HANDSHAKE_PORT")" = . ] || die "the full-handshake backend resumed a session"
for _ in $(seq "$ROUNDS"); do
    measure resumed "sidecar, new conn, resumed" "http://127.0.0.1:$SIDECAR_PORT/" sidecar_pids \
        -H "Host: backend:$CLOSING_PORT"
    measure full_handshake "sidecar, new conn, full" "http://127.0.0.1:$SIDECAR_PORT/" sidecar_pids \
        -H "Host: backend:$FULL_HANDSHAKE_PORT"
done
stop "$SIDECAR_PID"

# --- report ----------------------------------------------------------------------------------------
SIZE=$(stat -c %s "$BIN")
strip -o "$WORK/sidecar.stripped" "$BIN"
STRIPPED=$(stat -c %s "$WORK/sidecar.stripped")

{
    for key in "${ORDER[@]}"; do
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "${LABEL[$key]}" \
            "${SECONDS_RUN[$key]}" "${WALL[$key]}" "${P50[$key]}" "${P99[$key]}" "${IDLE[$key]:--}" "${PEAK[$key]:--}" \
            "${CPU[$key]:--}" "${REQS[$key]}" "${ANON[$key]:--}" "${FAULTS[$key]:--}" "${USER[$key]:--}" \
            "${MACHINE[$key]}" "${REST[$key]}" "${ERRS[$key]:-}"
    done
} >"$WORK/results.tsv"

python3 - "$WORK/results.tsv" "$SIZE" "$STRIPPED" "$ROUND_DURATION" "$(nproc)" "$(getconf CLK_TCK)" "$ROUNDS" <<'PY'
import statistics, sys
rows, size, stripped, duration, cpus = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
tick_us = 1e6 / int(sys.argv[6])
rounds = int(sys.argv[7])

def ms(text):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)

r = {}
for line in open(rows):
    key, label, seconds, wall, p50s, p99s, idle, peak, cpu, reqs, anon, faults, user, machine, rest, errs = line.rstrip(
        "\n").split("\t")
    median = lambda figures: statistics.median(ms(f) for f in figures.split())
    r[key] = dict(label=label, rps=int(reqs) / float(seconds), p50=median(p50s), p99=median(p99s),
                  idle=None if idle == "-" else int(idle) / 1024, peak=None if peak == "-" else int(peak) / 1024,
                  cpu=None if cpu == "-" else int(cpu) * tick_us / int(reqs), errs=errs.strip("; "),
                  user=None if user == "-" else int(user) * tick_us / int(reqs),
                  machine=int(machine) * tick_us / int(reqs), rest=int(rest) * tick_us / int(reqs),
                  busy=int(machine) * tick_us / 1e6 / float(wall),
                  anon=None if anon == "-" else int(anon) / 1024, faults=None if faults == "-" else int(faults))

print(f"sidecar bench: one nginx TLS backend, wrk -t2 -c16 --latency, keep-alive, {cpus} CPUs, loopback; per path "
      f"{rounds} alternating rounds of {duration} (req/s over all rounds, p50 and p99 the rounds' median)")
print(f"{'path':<22} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'RSS idle':>9} {'RSS load':>9} {'CPU us/req':>10}")
for key, v in r.items():
    mem = lambda x: "-" if x is None else f"{x:.1f} MiB"
    cpu = "-" if v["cpu"] is None else f"{v['cpu']:.1f}"
    print(f"{v['label']:<22} {v['rps']:>10,.0f} {v['p50']:>8.2f} {v['p99']:>8.2f} {mem(v['idle']):>9} {mem(v['peak']):>9} {cpu:>10}")
    if v["errs"]:
        print(f"   !! {v['label']}: {v['errs']}")

h, t, n, ha, st = r["sidecar_http"], r["sidecar_tcp"], r["nginx"], r["haproxy"], r["stunnel"]
print("ratios (> 1: we are faster / lower latency):")
print(f"  HTTP mode vs nginx    req/s {h['rps'] / n['rps']:.2f}x   p99 {n['p99'] / h['p99']:.2f}x")
print(f"  HTTP mode vs HAProxy  req/s {h['rps'] / ha['rps']:.2f}x   p99 {ha['p99'] / h['p99']:.2f}x")
print(f"  TCP mode vs stunnel   req/s {t['rps'] / st['rps']:.2f}x   p99 {st['p99'] / t['p99']:.2f}x")
print(f"  HTTP mode vs direct   req/s {h['rps'] / r['direct']['rps']:.2f}x of the ceiling")
rs, fh = r["resumed"], r["full_handshake"]
print(f"  new upstream connection per request, resumed vs full handshake: req/s {rs['rps'] / fh['rps']:.2f}x, "
      f"CPU/req {fh['cpu'] / rs['cpu']:.2f}x less")

# What bounds a proxy's req/s on this machine: per request, the proxy's CPU plus that of wrk and the backend
# (measured from their own CPU times) fill the CPUs. System time is the kernel's work for the proxy's reads and
# writes, which any proxy relaying the same bytes pays; user time is its own code.
print("CPU per request, user + system µs of the proxy, and wrk's and the backend's:")
for key in ("sidecar_http", "nginx", "haproxy", "sidecar_tcp"):
    v = r[key]
    print(f"  {v['label']:<18} {v['user']:5.1f} + {v['cpu'] - v['user']:5.1f}   wrk and backend {v['rest']:5.1f}"
          f"   (machine {v['busy']:.2f} of {cpus} CPUs busy)")
nginx_system = n["cpu"] - n["user"]
bound = int(cpus) * 1e6 / (n["rest"] + nginx_system)
print(f"  => with all {cpus} CPUs busy, a proxy with no user time at all and nginx's system time would forward at most "
      f"{bound:,.0f} req/s, {bound / n['rps']:.2f}x nginx's")

ok = lambda c: "met" if c else "NOT met"
print("goals:")
print(f"  HTTP >= 1.2x nginx req/s ({h['rps'] / n['rps']:.2f}x): {ok(h['rps'] >= 1.2 * n['rps'])}")
print(f"  HTTP >= HAProxy req/s ({h['rps'] / ha['rps']:.2f}x): {ok(h['rps'] >= ha['rps'])}")
print(f"  HTTP p99 <= nginx p99 ({h['p99']:.2f} vs {n['p99']:.2f} ms): {ok(h['p99'] <= n['p99'])}")
print(f"  TCP >= 0.9x stunnel req/s ({t['rps'] / st['rps']:.2f}x): {ok(t['rps'] >= 0.9 * st['rps'])}")
idle = max(h["idle"], t["idle"]); peak = max(h["peak"], t["peak"])
print(f"  sidecar RSS idle <= 15 MiB ({idle:.1f} MiB): {ok(idle <= 15)}")
print(f"  sidecar RSS under load <= 30 MiB ({peak:.1f} MiB): {ok(peak <= 30)}")
anon = max(h["anon"], t["anon"])
print(f"sidecar private memory idle (RssAnon): {anon:.1f} MiB; the rest of its RSS is the binary's code pages (shared, file-backed)")
touched = max(h["faults"], t["faults"])
print(f"sidecar pages faulted in by the process until idle: {touched:,} (<= {touched * 4 / 1024:.1f} MiB touched); the kernel "
      "maps cached neighbouring pages of the binary around each fault, which VmRSS counts")
print(f"release binary: {size:,} bytes, stripped {stripped:,} bytes ({stripped / 2**20:.1f} MiB)")
PY
