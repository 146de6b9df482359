# Shared by the sidecar scripts under bench/ (sourced, after `set -euo pipefail`): a temporary work directory
# cleaned up on exit with every process in PIDS, port and process helpers, the bench PKI, the nginx backend's
# configuration blocks and the sidecar's manifests. Set FIXTURE_NAME (for messages and the directory) and NAME
# (the backend's DNS name) before sourcing.

# --- bookkeeping -----------------------------------------------------------------------------------
WORK=$(mktemp -d "/tmp/backendtls-$FIXTURE_NAME.XXXXXX")
chmod 755 "$WORK"
PIDS=()
cleanup() {  # KEEP_WORK=1 keeps the work directory (logs, configuration) for a look after a failure
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "$FIXTURE_NAME: FAILED: $*" >&2; exit 1; }

# install_missing TOOL[=PACKAGE]...: installs the Debian package of each tool not found (the package is named
# after the tool unless given)
install_missing() {
    local spec missing=() sudo=
    for spec in "$@"; do command -v "${spec%%=*}" >/dev/null || missing+=("${spec#*=}"); done
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "installing: ${missing[*]}" >&2
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >/dev/null
    # RUNLEVEL=1 keeps invoke-rc.d from starting the packaged nginx service on port 80.
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

stop() {  # pid
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

free_ports() {  # count -> ports, one per line
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s); print(s.getsockname()[1])
PY
}
wait_port() {  # port pid what
    local i
    for i in $(seq 100); do
        kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (log: $(tail -5 "$WORK/$3.log" 2>/dev/null))"
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    die "$3 is not listening on 127.0.0.1:$1 after 10 s"
}

# make_pki: a CA ($WORK/ca.crt) and a server certificate for $NAME ($WORK/server.crt, server.key)
make_pki() {
    cat >"$WORK/openssl.cnf" <<EOF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:$NAME
EOF
    (
        cd "$WORK"
        export OPENSSL_CONF="$WORK/openssl.cnf"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 30 \
            -subj "/CN=backendtls bench CA" -extensions ca
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
            -subj "/CN=$NAME"
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out server.crt \
            -extfile openssl.cnf -extensions server
    ) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log" >&2; die "openssl"; }
}

nginx_common() {  # prefix
    mkdir -p "$1/logs"
    cat <<EOF
worker_processes auto;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 4096; }
EOF
}
http_common() {  # prefix
    cat <<EOF
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
EOF
}
backend_server() {  # port [extra directives...]: the backend's TLS server block, reporting SNI and resumption
    local port=$1
    shift
    cat <<EOF
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $WORK/server.crt;
        ssl_certificate_key $WORK/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
$(printf '        %s\n' "$@")
        location / {
            default_type text/plain;
            add_header X-Backend-SNI "\$ssl_server_name" always;
            add_header X-Session-Reused "\$ssl_session_reused" always;
            return 200 "ok\n";
        }
    }
EOF
}
# start_backend PORT < server blocks (backend_server ...): the backend nginx, in $WORK/backend, serving those
# blocks; returns once it listens on PORT. Call it in the main shell (redirect its input, do not pipe into it):
# in a subshell its PIDS entry would be lost and the backend left running.
start_backend() {
    {
        nginx_common "$WORK/backend"
        echo "http {"
        http_common "$WORK/backend"
        cat
        echo "}"
    } >"$WORK/backend.conf"
    nginx -p "$WORK/backend" -e "$WORK/backend/logs/error.log" -c "$WORK/backend.conf" >"$WORK/backend.log" 2>&1 &
    BACKEND_PID=$!
    PIDS+=("$BACKEND_PID")
    wait_port "$1" "$BACKEND_PID" backend
}
# write_sidecar_config NAME=PORT...: $WORK/config with the Service backend (clusterIP 127.0.0.1, those ports), the
# ConfigMap backend-ca with $WORK/ca.crt and a BackendTLSPolicy for it with hostname $NAME
write_sidecar_config() {
    mkdir -p "$WORK/config"
    cat >"$WORK/config/service.yaml" <<EOF
apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: default
spec:
  clusterIP: 127.0.0.1
  ports:
$(for named in "$@"; do printf '    - name: %s\n      port: %s\n' "${named%%=*}" "${named#*=}"; done)
EOF
    {
        cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: backend-ca
  namespace: default
data:
  ca.crt: |
EOF
        sed 's/^/    /' "$WORK/ca.crt"
    } >"$WORK/config/ca.yaml"
    cat >"$WORK/config/policy.yaml" <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata:
  name: backend
  namespace: default
spec:
  targetRefs:
    - group: ""
      kind: Service
      name: backend
  validation:
    caCertificateRefs:
      - group: ""
        kind: ConfigMap
        name: backend-ca
    hostname: $NAME
EOF
}

SIDECAR_PID=
sidecar_pids() { echo "$SIDECAR_PID"; }
# start_sidecar [WRAPPER...]: $BIN (run by WRAPPER when given) on $SIDECAR_PORT, metrics on $METRICS_PORT, the TCP
# route $ROUTE_PORT to the backend on $BACKEND_PORT, configured from $WORK/config; returns once it is ready
start_sidecar() {
    "$@" "$BIN" --config-dir "$WORK/config" --listen "127.0.0.1:$SIDECAR_PORT" --metrics-listen "127.0.0.1:$METRICS_PORT" \
        --route "127.0.0.1:$ROUTE_PORT=backend.default:$BACKEND_PORT" --log-level warning >"$WORK/sidecar.log" 2>&1 &
    SIDECAR_PID=$!
    PIDS+=("$SIDECAR_PID")
    wait_port "$METRICS_PORT" "$SIDECAR_PID" sidecar
    local i
    for i in $(seq 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/readyz")" = 200 ] && return 0
        sleep 0.1
    done
    die "sidecar not ready after 10 s: $(tail -5 "$WORK/sidecar.log")"
}

# verify URL [curl args...]: one request must come back 200 with our body, and the backend must have seen
# the SNI backend.default.svc — i.e. the bytes did cross TLS set up with the policy's settings.
verify() {
    local what=$1 url=$2
    shift 2
    local code sni body
    code=$(curl -sS -o "$WORK/verify.body" -D "$WORK/verify.headers" -w '%{http_code}' --max-time 10 "$@" "$url") \
        || die "$what: curl $url failed"
    body=$(cat "$WORK/verify.body")
    sni=$(tr -d '\r' <"$WORK/verify.headers" | awk -F': ' 'tolower($1) == "x-backend-sni" {print $2}')
    if [ "$code" != 200 ] || [ "$body" != ok ] || [ "$sni" != "$NAME" ]; then
        echo "--- $what: HTTP $code, SNI seen by the backend: '${sni}'" >&2
        cat "$WORK/verify.headers" "$WORK/verify.body" >&2
        die "$what does not return 200 through TLS to $NAME"
    fi
}
