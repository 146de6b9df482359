#!/usr/bin/env bash
# `make run`, last step: start the webhook in memory mode with a freshly generated development PKI and
# print ready-to-paste curl commands. Ctrl-C stops it (graceful shutdown).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/debug}
PKI=${PKI:-.run/pki}
PORT=${PORT:-8443}
GENERATED=examples/admission/.generated
rm -rf "$GENERATED" && mkdir -p "$GENERATED"
# Every example as AdmissionReview requests (CA bundles included), for the memory store to learn from.
for dir in examples/0*/ examples/1*/; do
    name=$(basename "$dir")
    "$BIN/backendtls" admission-review -f "$dir" --output-dir "$GENERATED/$name" >/dev/null
done
cat <<MSG

backendtls-webhook starts on https://localhost:$PORT (probes :8081, metrics :9090).
CA bundle of its generated serving certificate: $PKI/ca.crt

Try it (in another terminal):
  curl -s --cacert $PKI/ca.crt https://localhost:$PORT/validate -H 'content-type: application/json' \\
       --data-binary @examples/admission/ip-hostname-policy-create.json | python3 -m json.tool
  curl -s --cacert $PKI/ca.crt https://localhost:$PORT/mutate --data-binary @examples/admission/defaults-missing-group-mutate.json
  for f in $GENERATED/01-in-cluster-ca/*.json; do curl -s --cacert $PKI/ca.crt https://localhost:$PORT/validate --data-binary @\$f; echo; done
  curl -s http://localhost:9090/metrics | grep backendtls_webhook_requests_total

MSG
# The memory store, as the README says, even where KUBERNETES_SERVICE_HOST is set (a dev container in a pod).
exec "$BIN/backendtls-webhook" --dev-certificate "$PKI" --store memory --listen "0.0.0.0:$PORT"
