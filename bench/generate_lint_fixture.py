#!/usr/bin/env python3
"""Writes N Services, CA ConfigMaps (1-3 certificates each) and BackendTLSPolicies for bench/lint.sh.

Certificates come from a pool made with openssl by lint.sh; bundles combine them at random so most
bundles are distinct (the inspector's content cache cannot hide the work).
Usage: generate_lint_fixture.py POOL_DIR OUT_DIR COUNT
"""
import json
import os
import random
import sys

pool_dir, out_dir, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
pool = [open(os.path.join(pool_dir, name)).read() for name in sorted(os.listdir(pool_dir)) if name.endswith(".crt")]
rng = random.Random(1897)
objects = []
for i in range(count):
    ns = f"team-{i % 50}"
    name = f"backend-{i}"
    bundle = "".join(rng.sample(pool, rng.randint(1, 3)))
    objects.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                    "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP", "appProtocol": "https"}]}})
    objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-ca", "namespace": ns},
                    "data": {"ca.crt": bundle}})
    objects.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "BackendTLSPolicy",
                    "metadata": {"name": f"{name}-tls", "namespace": ns,
                                 "creationTimestamp": f"2026-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}Z"},
                    "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": name, "sectionName": "https"}],
                             "validation": {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": f"{name}-ca"}],
                                            "hostname": f"{name}.{ns}.svc",
                                            "subjectAltNames": [{"type": "Hostname", "hostname": f"{name}.{ns}.svc"},
                                                                {"type": "URI", "uri": f"spiffe://cluster.local/ns/{ns}/sa/{name}"}]},
                             "options": {"backendtls.dev/min-tls-version": "1.2"}}})

os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "objects.json"), "w") as f:
    json.dump({"apiVersion": "v1", "kind": "List", "items": objects}, f)


def yaml_scalar(value):
    return json.dumps(value)  # JSON strings are valid YAML double-quoted scalars


def to_yaml(value, indent=0):
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 1))
            elif isinstance(item, str) and "\n" in item:
                body = "\n".join(f"{pad}  {line}" for line in item.rstrip("\n").split("\n"))
                lines.append(f"{pad}{key}: |\n{body}")
            else:
                lines.append(f"{pad}{key}: {yaml_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            text = to_yaml(item, indent + 1).lstrip()
            lines.append(f"{pad}- {text}")
        return "\n".join(lines)
    return pad + yaml_scalar(value)


with open(os.path.join(out_dir, "objects.yaml"), "w") as f:
    f.write("\n---\n".join(to_yaml(o) for o in objects) + "\n")
print(f"wrote {count} policies, {count} ConfigMaps, {count} Services to {out_dir}")
