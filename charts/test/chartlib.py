"""Rendering and validating the charts for the tests: helm from tools/bin, schemas from kubernetes-validate."""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
HELM = Path(os.environ.get("HELM", REPO / "tools" / "bin" / "helm"))
CHART = REPO / "charts" / "backendtls"
SIDECAR_CHART = REPO / "examples" / "sidecar"
RELEASE = "bt"
NAMESPACE = "backendtls-system"
FULLNAME = "bt-backendtls"
SERVICE_DNS = f"{FULLNAME}.{NAMESPACE}.svc"

# The chart's floor (Chart.yaml kubeVersion) and the newest version kubernetes-validate and helm know.
KUBE_VERSIONS = ("1.26.0", "1.35.0")

# Custom resources have no schema in kubernetes-validate; the tests check them field by field instead.
CUSTOM_RESOURCE_GROUPS = ("cert-manager.io/", "monitoring.coreos.com/")


@dataclass(frozen=True)
class HelmResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def helm(*args: str, env: dict[str, str] | None = None) -> HelmResult:
    run = subprocess.run([str(HELM), *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    return HelmResult(run.returncode, run.stdout, run.stderr)


def values_args(values: dict | None) -> list[str]:
    """Values go through a file (-f), so nested structures and PEM text need no --set escaping."""
    if not values:
        return []
    handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, dir=os.environ.get("TMPDIR"))
    with handle:
        yaml.safe_dump(values, handle)
    return ["-f", handle.name]


def template(chart: Path = CHART, values: dict | None = None, kube_version: str = KUBE_VERSIONS[-1],
             namespace: str = NAMESPACE, release: str = RELEASE, extra: tuple[str, ...] = (),
             env: dict[str, str] | None = None) -> HelmResult:
    return helm("template", release, str(chart), "--namespace", namespace, "--kube-version", kube_version,
                *values_args(values), *extra, env=env)


def render(chart: Path = CHART, values: dict | None = None, kube_version: str = KUBE_VERSIONS[-1],
           **kwargs) -> list[dict]:
    """The rendered objects; fails the test with helm's message when rendering fails."""
    result = template(chart, values, kube_version, **kwargs)
    assert result.returncode == 0, f"helm template failed for {values}:\n{result.output}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def lint(chart: Path = CHART, values: dict | None = None, kube_version: str = KUBE_VERSIONS[-1]) -> HelmResult:
    return helm("lint", "--strict", str(chart), "--namespace", NAMESPACE, "--kube-version", kube_version,
                *values_args(values))


def validate(docs: list[dict], kube_version: str) -> list[str]:
    """Strict schema validation (unknown fields are errors) of every built-in object; returns the kinds of the
    custom resources it could not validate. A built-in kind without a schema is an error, never a silent skip."""
    custom = []
    for doc in docs:
        name = f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        if doc["apiVersion"].startswith(CUSTOM_RESOURCE_GROUPS):
            custom.append(doc["kind"])
            assert doc["metadata"].get("name"), f"{name}: custom resource without a name"
            assert isinstance(doc.get("spec"), dict), f"{name}: custom resource without a spec"
            continue
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            raise AssertionError(f"{name} is invalid for Kubernetes {kube_version}: {path}: {error.message}") from None
    return custom


def find(docs: list[dict], kind: str, name: str | None = None) -> dict:
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def find_all(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def webhooks(docs: list[dict]) -> dict[str, dict]:
    """Every webhook of every webhook configuration, by name."""
    found = {}
    for doc in docs:
        if doc["kind"] in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            for hook in doc["webhooks"]:
                assert hook["name"] not in found, f"webhook {hook['name']} appears twice"
                found[hook["name"]] = hook
    return found


def container(docs: list[dict], name: str, kind: str = "Deployment") -> dict:
    pod = find(docs, kind)["spec"]["template"]["spec"]
    matches = [c for c in pod.get("containers", []) + pod.get("initContainers", []) if c["name"] == name]
    assert len(matches) == 1, f"expected one container {name}, found {len(matches)}"
    return matches[0]


def b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@functools.cache
def default_docs() -> list[dict]:
    return render()


def dump_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
