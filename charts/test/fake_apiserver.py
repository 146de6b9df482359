"""Test double of the Kubernetes API, just enough for `helm template --dry-run=server`.

helm asks for /version and API discovery (to map every rendered kind to a resource), then the chart's `lookup`
GETs the serving Secret. This server answers discovery for the kinds the chart renders, returns the Secrets it
was given, and 404 for everything else. Plain HTTP on 127.0.0.1 only; it changes nothing and stores nothing.
"""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from urllib.parse import urlparse

RESOURCES = {  # group/version -> [(resource, kind, namespaced)]
    "v1": [("secrets", "Secret", True), ("services", "Service", True), ("serviceaccounts", "ServiceAccount", True),
           ("configmaps", "ConfigMap", True), ("namespaces", "Namespace", False)],
    "apps/v1": [("deployments", "Deployment", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "rbac.authorization.k8s.io/v1": [("clusterroles", "ClusterRole", False),
                                     ("clusterrolebindings", "ClusterRoleBinding", False)],
    "admissionregistration.k8s.io/v1": [("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False),
                                        ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False)],
}


def _resource_list(group_version: str) -> dict:
    return {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
        "resources": [{"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                       "verbs": ["get", "list"]} for name, kind, namespaced in RESOURCES[group_version]],
    }


def _group_list() -> dict:
    groups: dict[str, list[dict]] = {}
    for group_version in RESOURCES:
        if "/" in group_version:
            group, version = group_version.split("/")
            groups.setdefault(group, []).append({"groupVersion": group_version, "version": version})
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [{"name": g, "versions": vs, "preferredVersion": vs[0]} for g, vs in groups.items()]}


class FakeAPIServer:
    """`with FakeAPIServer(secrets) as server:` then use server.kubeconfig(directory) as KUBECONFIG."""

    def __init__(self, secrets: list[dict]):
        self.secrets = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in secrets}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(f"{self.command} {self.path}")
                code, body = server.answer(urlparse(self.path).path)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, dict]:
        if path == "/version":
            return 200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if path == "/apis":
            return 200, _group_list()
        if path == "/api/v1":
            return 200, _resource_list("v1")
        if path.startswith("/apis/") and path[len("/apis/"):] in RESOURCES:
            return 200, _resource_list(path[len("/apis/"):])
        parts = path.strip("/").split("/")
        if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "secrets":
            secret = self.secrets.get((parts[3], parts[5]))
            if secret is not None:
                return 200, {"apiVersion": "v1", "kind": "Secret", **secret}
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}

    def kubeconfig(self, directory: Path) -> Path:
        path = directory / "kubeconfig"
        host, port = self.httpd.server_address
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": f"http://{host}:{port}"}}],
            "users": [{"name": "fake", "user": {"token": "fake"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        }))
        return path

    def __enter__(self) -> "FakeAPIServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
