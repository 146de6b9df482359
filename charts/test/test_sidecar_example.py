"""examples/sidecar: a workload with backendtls-sidecar, rendered by helm and validated like the chart."""

from __future__ import annotations

import pytest

from chartlib import KUBE_VERSIONS, SIDECAR_CHART, container, find, lint, render, template, validate

NAMESPACE = "shop"
SCENARIOS = {
    "defaults": {},
    "secrets-strict-tcp": {"sidecar": {"secretCARefs": True, "requirePolicy": True, "logLevel": "debug",
                                       "routes": ["127.0.0.1:9443=db.data:5432"], "extraArgs": ["--rules=upstream"]}},
    "custom-app": {"name": "orders", "app": {"image": "registry.example/orders:1.2", "command": [], "args": [],
                                             "env": [{"name": "BACKEND_URL", "value": "http://payments.shop:8443"}],
                                             "noProxy": "localhost,127.0.0.1,.internal"},
                   "sidecar": {"listenPort": 18080, "image": {"repository": "registry.example/backendtls",
                                                             "tag": "0.2.0"}}},
}


def docs_for(values=None, kube_version=KUBE_VERSIONS[-1]):
    return render(SIDECAR_CHART, values, kube_version, namespace=NAMESPACE, release="example")


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lints_and_renders_valid_objects(scenario, kube_version):
    result = lint(SIDECAR_CHART, SCENARIOS[scenario], kube_version)
    assert result.returncode == 0, result.output
    docs = docs_for(SCENARIOS[scenario], kube_version)
    assert validate(docs, kube_version) == []
    assert sorted(d["kind"] for d in docs) == ["Deployment", "Role", "RoleBinding", "ServiceAccount"]


def test_native_sidecar_is_a_restartable_init_container():
    docs = docs_for({"sidecar": {"native": True}}, "1.29.0")
    validate(docs, "1.29.0")
    pod = find(docs, "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["backendtls-sidecar"]
    assert pod["initContainers"][0]["restartPolicy"] == "Always"
    assert [c["name"] for c in pod["containers"]] == ["app"]


def test_native_sidecar_needs_kubernetes_1_29():
    result = template(SIDECAR_CHART, {"sidecar": {"native": True}}, "1.28.0", namespace=NAMESPACE)
    assert result.returncode != 0
    assert "sidecar.native needs Kubernetes 1.29 or later" in result.output


def test_app_sends_plain_http_through_the_sidecar():
    for values, port in [(None, 15001), (SCENARIOS["custom-app"], 18080)]:
        docs = docs_for(values)
        env = {e["name"]: e.get("value") for e in container(docs, "app")["env"]}
        assert env["HTTP_PROXY"] == env["http_proxy"] == f"http://127.0.0.1:{port}"
        assert env["NO_PROXY"] == env["no_proxy"]
        assert f"--listen=127.0.0.1:{port}" in container(docs, "backendtls-sidecar")["args"]
    custom = {e["name"]: e.get("value") for e in container(docs_for(SCENARIOS["custom-app"]), "app")["env"]}
    assert custom["BACKEND_URL"] == "http://payments.shop:8443" and custom["NO_PROXY"].endswith(".internal")


def test_sidecar_runs_in_cluster_mode_in_the_pod_namespace():
    sidecar = container(docs_for(), "backendtls-sidecar")
    assert sidecar["command"] == ["/usr/local/bin/backendtls-sidecar"]
    args = sidecar["args"]
    assert "--kube" in args and "--namespace=$(POD_NAMESPACE)" in args
    assert {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}} in sidecar["env"]
    assert [a for a in args if a.startswith("--ca-ref-kind")] == ["--ca-ref-kind=ConfigMap"]
    assert "--require-policy" not in args and not any(a.startswith("--route") for a in args)
    assert sidecar["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "sidecar-metrics"}
    assert "--metrics-listen=0.0.0.0:15090" in args  # the kubelet probes the pod IP, not 127.0.0.1
    security = sidecar["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"] and security["capabilities"] == {
        "drop": ["ALL"]}

    tuned = container(docs_for(SCENARIOS["secrets-strict-tcp"]), "backendtls-sidecar")["args"]
    for flag in ("--ca-ref-kind=Secret", "--require-policy", "--route=127.0.0.1:9443=db.data:5432",
                 "--log-level=debug", "--rules=upstream"):
        assert flag in tuned, flag


def test_role_is_namespaced_and_grants_secrets_only_when_asked():
    docs = docs_for()
    role = find(docs, "Role")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["backendtlspolicies"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "watch"]},
    ]
    with_secrets = find(docs_for(SCENARIOS["secrets-strict-tcp"]), "Role")["rules"]
    assert with_secrets[-1] == {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}
    binding = find(docs, "RoleBinding")
    pod = find(docs, "Deployment")["spec"]["template"]["spec"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": pod["serviceAccountName"],
                                    "namespace": NAMESPACE}]
    assert find(docs, "ServiceAccount")["metadata"]["name"] == pod["serviceAccountName"]


@pytest.mark.parametrize("values,message", [
    ({"sidecar": {"routes": ["oops"]}}, "at '/sidecar/routes/0': 'oops' does not match pattern"),
    ({"sidecar": {"listenPort": 0}}, "at '/sidecar/listenPort': minimum: got 0, want 1"),
    ({"sidecar": {"secretCARefs": "yes"}}, "at '/sidecar/secretCARefs': got string, want boolean"),
    ({"sidecar": {"extraArgs": ["rules=upstream"]}}, "at '/sidecar/extraArgs/0'"),
    ({"name": "Orders"}, "at '/name': 'Orders' does not match pattern"),
    ({"sidecar": {"port": 1}}, "at '/sidecar': additional properties 'port' not allowed"),
])
def test_schema_rejects_invalid_values(values, message):
    for result in (lint(SIDECAR_CHART, values), template(SIDECAR_CHART, values, namespace=NAMESPACE)):
        assert result.returncode != 0, f"{values} was accepted"
        assert message in result.output, result.output
