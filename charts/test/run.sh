#!/usr/bin/env bash
# The chart tests: helm lint/template for charts/backendtls and examples/sidecar, every rendered object validated
# against the Kubernetes schemas, and assertions on what the objects say (pytest). `make chart-test` runs this.
#   charts/test/run.sh [pytest arguments, e.g. -k certificates]
set -euo pipefail
cd "$(dirname "$0")/../.."
charts/test/fetch-tools.sh
# helm keeps its cache and configuration inside tools/, never in the home directory.
export HELM=$PWD/tools/bin/helm
export HELM_CACHE_HOME=$PWD/tools/helm/cache HELM_CONFIG_HOME=$PWD/tools/helm/config HELM_DATA_HOME=$PWD/tools/helm/data
unset KUBECONFIG
TMPDIR=$(mktemp -d)
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
exec tools/venv/bin/python -m pytest -p no:cacheprovider -q charts/test "$@"
