#!/usr/bin/env python3
"""Seeds a memory-mode backendtls-webhook for bench/webhook.sh, and writes the benchmark request.

The memory store learns the objects it admits, so a realistic store is built by POSTing non-dry-run
AdmissionReviews: Services, then CA ConfigMaps (1-3 certificates each), then BackendTLSPolicies.
Every seed request must be allowed; anything else stops the benchmark.
"""
import argparse
import http.client
import json
import pathlib
import ssl
import sys
import uuid

NAMESPACES = 10


def review(obj, operation="CREATE", dry_run=False, uid=None):
    kind = obj["kind"]
    group = "gateway.networking.k8s.io" if kind == "BackendTLSPolicy" else ""
    resource = {"BackendTLSPolicy": "backendtlspolicies", "ConfigMap": "configmaps", "Service": "services"}[kind]
    version = obj["apiVersion"].split("/")[-1]
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid or str(uuid.uuid4()),
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {
                "username": "system:serviceaccount:argocd:argocd-application-controller",
                "uid": "4a1f9c1e-2b8e-4f65-9d41-6f1c0c3a7f11",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"],
            },
            "object": obj,
            "oldObject": None,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions", "fieldManager": "argocd-controller"},
        },
    }


def service(name, namespace):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": name}},
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [
                {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP", "appProtocol": "https"},
                {"name": "metrics", "port": 9090, "targetPort": 9090, "protocol": "TCP"},
            ],
        },
    }


def config_map(name, namespace, pems):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "trust"}},
        "data": {"ca.crt": "".join(pems)},
    }


def policy(name, namespace, target, ca):
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "BackendTLSPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": target},
            "annotations": {"argocd.argoproj.io/tracking-id": f"{namespace}:gateway.networking.k8s.io/BackendTLSPolicy:{namespace}/{name}"},
        },
        "spec": {
            "targetRefs": [{"group": "", "kind": "Service", "name": target, "sectionName": "https"}],
            "validation": {
                "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": ca}],
                "hostname": f"{target}.{namespace}.svc.cluster.local",
            },
        },
    }


class Client:
    def __init__(self, port, cafile):
        context = ssl.create_default_context(cafile=cafile)
        context.set_alpn_protocols(["http/1.1"])
        self.connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=30)

    def post(self, body):
        self.connection.request("POST", "/validate", body=body, headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        return response.status, response.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True, help="the webhook's serving CA")
    parser.add_argument("--pool", required=True, help="directory of CA certificates (*.pem) for the bundles")
    parser.add_argument("--policies", type=int, default=100)
    parser.add_argument("--out", required=True, help="directory for request.json and response.json")
    args = parser.parse_args()

    pool = [p.read_text() for p in sorted(pathlib.Path(args.pool).glob("*.pem"))]
    if not pool:
        sys.exit(f"seed: no *.pem in {args.pool}")
    client = Client(args.port, args.cafile)

    def admit(obj):
        status, body = client.post(json.dumps(review(obj)).encode())
        answer = json.loads(body) if status == 200 else None
        if status != 200 or not answer["response"]["allowed"]:
            sys.exit(f"seed: {obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}: HTTP {status}: {body.decode()}")
        return answer["response"].get("warnings", [])

    services, config_maps, policies = [], [], []
    certificates = 0
    for index in range(args.policies):
        namespace = f"team-{index % NAMESPACES:02d}"
        count = index % 3 + 1
        pems = [pool[(index + k) % len(pool)] for k in range(count)]
        certificates += count
        services.append(service(f"backend-{index:03d}", namespace))
        config_maps.append(config_map(f"backend-{index:03d}-ca", namespace, pems))
        policies.append(policy(f"backend-{index:03d}-tls", namespace, f"backend-{index:03d}", f"backend-{index:03d}-ca"))
    # The benchmark's own Service; its policy reuses a 3-certificate bundle already in the store.
    bench_namespace = "team-02"
    services.append(service("checkout", bench_namespace))
    warnings = []
    for obj in services + config_maps + policies:
        warnings += admit(obj)

    request = review(policy("checkout-tls", bench_namespace, "checkout", "backend-002-ca"),
                     uid="e911857d-c318-11e8-bbad-025000000001")
    body = json.dumps(request, separators=(",", ":")).encode()
    status, answer = client.post(body)
    decoded = json.loads(answer) if status == 200 else None
    if status != 200 or not decoded["response"]["allowed"] or decoded["response"].get("warnings"):
        sys.exit(f"seed: the benchmark request is not a clean allow: HTTP {status}: {answer.decode()}")
    out = pathlib.Path(args.out)
    (out / "request.json").write_bytes(body)
    (out / "response.json").write_bytes(answer)
    # The same request as a dry run: judged the same, but the memory store does not learn from it.
    request["request"]["dryRun"] = True
    (out / "request-dry-run.json").write_bytes(json.dumps(request, separators=(",", ":")).encode())
    print(f"seeded {len(services)} Services, {len(config_maps)} ConfigMaps ({certificates} CA certificates from a "
          f"pool of {len(pool)}), {len(policies)} BackendTLSPolicies in {NAMESPACES} namespaces; "
          f"{len(warnings)} warnings")
    for warning in warnings[:5]:
        print(f"  warning: {warning}")
    print(f"benchmark request: CREATE BackendTLSPolicy {bench_namespace}/checkout-tls "
          f"(CA ConfigMap backend-002-ca, 3 certificates), {len(body)} bytes -> {len(answer)}-byte response")


if __name__ == "__main__":
    main()
