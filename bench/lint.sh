#!/usr/bin/env bash
# Lint throughput and CA-bundle inspection time, each side by side with a baseline in the same run.
#   bench/lint.sh [COUNT]      (default 10000 policies; builds release unless BIN is set)
# Baselines: PyYAML's C loader / Python's json parsing the same manifests (parse only, no checks), and
# `openssl storeutl` reading the system bundle (parse only). Ratios > 1 mean we are slower than the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-10000}
WORK=${WORK:-$(mktemp -d /tmp/backendtls-bench.XXXXXX)}
if [ -z "${BIN:-}" ]; then
    swift build -c release --product backendtls >/dev/null
    BIN=.build/release/backendtls
fi
mkdir -p "$WORK/pool"
POOL=${POOL:-1000}
if [ "$(ls "$WORK/pool" | wc -l)" -lt "$POOL" ]; then
    for i in $(seq -w 0 $((POOL - 1))); do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -out "$WORK/pool/$i.crt" \
            -days 3650 -subj "/CN=Bench CA $i/O=backendtls bench" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
    done
fi
python3 -c "import yaml" 2>/dev/null || pip install -q pyyaml
python3 bench/generate_lint_fixture.py "$WORK/pool" "$WORK" "$COUNT"

now() { date +%s.%N; }
seconds() { python3 -c "print(f'{$2 - $1:.3f}')"; }

run_lint() {  # file -> seconds
    local start end status
    start=$(now)
    set +e
    "$BIN" lint -f "$1" >/dev/null 2>"$WORK/lint.err"
    status=$?
    set -e
    end=$(now)
    if [ "$status" -ne 0 ]; then echo "lint failed ($status):" >&2; head -5 "$WORK/lint.err" >&2; exit 1; fi
    seconds "$start" "$end"
}

yaml_time=$(run_lint "$WORK/objects.yaml")
json_time=$(run_lint "$WORK/objects.json")
py_yaml=$(python3 - "$WORK/objects.yaml" <<'PY'
import sys, time, yaml
start = time.perf_counter()
with open(sys.argv[1]) as f:
    docs = list(yaml.load_all(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
print(f"{time.perf_counter() - start:.3f}")
PY
)
py_json=$(python3 - "$WORK/objects.json" <<'PY'
import sys, time, json
start = time.perf_counter()
with open(sys.argv[1]) as f:
    json.load(f)
print(f"{time.perf_counter() - start:.3f}")
PY
)
BUNDLE=/etc/ssl/certs/ca-certificates.crt
ours_ms=$("$BIN" inspect "$BUNDLE" --repeat 50 | sed -E 's/.*: ([0-9.]+) ms.*/\1/')
certs=$(grep -c 'BEGIN CERTIFICATE' "$BUNDLE")
start=$(now)
for _ in $(seq 20); do openssl storeutl -noout -certs "$BUNDLE" >/dev/null; done
end=$(now)
openssl_ms=$(python3 -c "print(f'{($end - $start) / 20 * 1000:.3f}')")

python3 - "$COUNT" "$yaml_time" "$json_time" "$py_yaml" "$py_json" "$ours_ms" "$openssl_ms" "$certs" <<'PY'
import sys
count = int(sys.argv[1])
yaml_t, json_t, py_yaml, py_json, ours_ms, openssl_ms = map(float, sys.argv[2:8])
certs = sys.argv[8]
print(f"lint, {count} policies + {count} CA ConfigMaps + {count} Services, one process, strict rules:")
print(f"  YAML input: {yaml_t:.3f} s = {count / yaml_t:,.0f} policies/s   (PyYAML C loader, parse only: {py_yaml:.3f} s; ratio ours/baseline {yaml_t / py_yaml:.2f})")
print(f"  JSON input: {json_t:.3f} s = {count / json_t:,.0f} policies/s   (Python json, parse only: {py_json:.3f} s; ratio ours/baseline {json_t / py_json:.2f})")
print(f"system CA bundle ({certs} certificates), cold inspection: {ours_ms:.3f} ms   (openssl storeutl, parse only, incl. process start: {openssl_ms:.1f} ms; ratio {ours_ms / openssl_ms:.2f})")
print(f"goals: >= 20,000 policies/s: {'met' if count / min(yaml_t, json_t) >= 20000 else 'NOT met'}; system bundle < 10 ms: {'met' if ours_ms < 10 else 'NOT met'}")
PY
