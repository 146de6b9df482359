"""charts/backendtls: lint, render, validate against the Kubernetes schemas, and check what the objects say."""

from __future__ import annotations

import datetime
import subprocess

import celpy
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chartlib import (CHART, FULLNAME, KUBE_VERSIONS, NAMESPACE, RELEASE, SERVICE_DNS, b64decode, container, default_docs,
                      find, find_all, helm, lint, render, template, validate, webhooks)
from fake_apiserver import FakeAPIServer

POLICY_HOOK, CA_HOOK, MUTATE_HOOK = "validate.backendtls.dev", "ca-objects.backendtls.dev", "mutate.backendtls.dev"


def external_ca_pem() -> str:
    """A CA certificate for certificates.external.caBundle (the chart only passes it through)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "external webhook CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


EXTERNAL_CA = external_ca_pem()

# Value sets every test below renders; "tuned" changes every webhook setting away from its default.
SCENARIOS = {
    "defaults": {},
    "tuned": {
        "caRefs": {"secrets": {"enabled": True}},
        "webhook": {"rules": "upstream", "enforcement": "warn", "gatewayAPIVersion": "v1.4",
                    "knownTargetKinds": ["ServiceImport.multicluster.x-k8s.io"], "expiryWarningDays": 14,
                    "lookupTimeoutSeconds": 3, "whenApiUnavailable": "deny", "watchNamespace": "apps",
                    "resyncIntervalSeconds": 300, "logLevel": "debug", "extraArgs": ["--disable-http2"]},
        "webhooks": {"timeoutSeconds": 10, "excludeNamespaces": ["monitoring", "legacy"],
                     "policies": {"failurePolicy": "Ignore"}, "caObjects": {"failurePolicy": "Fail"},
                     "defaulting": {"failurePolicy": "Ignore"}},
        "priorityClassName": "system-cluster-critical",
        "podAntiAffinity": "hard",
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
    },
    "certManager": {"certificates": {"mode": "certManager"}},
    "certManager-clusterIssuer": {"certificates": {"mode": "certManager", "certManager": {
        "issuerRef": {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}}}},
    "external": {"certificates": {"mode": "external",
                                  "external": {"secretName": "webhook-tls", "caBundle": EXTERNAL_CA}}},
    "minimal": {
        "replicaCount": 3,
        "image": {"repository": "registry.example/backendtls", "digest": "sha256:" + "ab" * 32},
        "webhooks": {"caObjects": {"enabled": False}, "defaulting": {"enabled": False}},
        "podDisruptionBudget": {"enabled": False},
        "rbac": {"create": False},
        "serviceAccount": {"create": False, "name": "backendtls-existing"},
        "service": {"exposeMetrics": False},
    },
}
EXPECTED_CUSTOM_RESOURCES = {
    "tuned": ["ServiceMonitor"],
    "certManager": ["Certificate", "Certificate", "Issuer", "Issuer"],
    "certManager-clusterIssuer": ["Certificate"],
}


def scenario_docs(name: str) -> list[dict]:
    return default_docs() if name == "defaults" else render(values=SCENARIOS[name])


# -- lint and schema validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint_strict_passes(scenario, kube_version):
    result = lint(values=SCENARIOS[scenario], kube_version=kube_version)
    assert result.returncode == 0, result.output
    assert "0 chart(s) failed" in result.output


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_rendered_object_is_valid(scenario, kube_version):
    docs = render(values=SCENARIOS[scenario], kube_version=kube_version)
    custom = validate(docs, kube_version)
    assert sorted(custom) == EXPECTED_CUSTOM_RESOURCES.get(scenario, [])
    # Only RBAC follows webhook.watchNamespace into the namespace the webhook reads.
    watched = SCENARIOS[scenario].get("webhook", {}).get("watchNamespace")
    assert all(d["metadata"].get("namespace") in (None, NAMESPACE) for d in docs if d["kind"] not in ("Role", "RoleBinding"))
    assert all(d["metadata"]["namespace"] == watched for d in docs if d["kind"] in ("Role", "RoleBinding"))


def test_validation_catches_invalid_objects():
    deployment = find(default_docs(), "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(AssertionError, match="replica"):
        validate([broken], KUBE_VERSIONS[-1])
    hooks = find(default_docs(), "ValidatingWebhookConfiguration")
    wrong_type = {**hooks, "webhooks": [{**hooks["webhooks"][0], "timeoutSeconds": "five"}]}
    with pytest.raises(AssertionError, match="timeoutSeconds"):
        validate([wrong_type], KUBE_VERSIONS[-1])


def test_kube_version_below_floor_is_refused():
    result = template(kube_version="1.25.0")
    assert result.returncode != 0
    assert "kubeVersion" in result.output and ">=1.26.0-0" in result.output


SCHEMA_REJECTIONS = [
    ({"webhooks": {"timeoutSeconds": 31}}, "at '/webhooks/timeoutSeconds': maximum: got 31, want 30"),
    ({"webhooks": {"timeoutSeconds": 0}}, "at '/webhooks/timeoutSeconds': minimum: got 0, want 1"),
    ({"webhooks": {"policies": {"failurePolicy": "Sometimes"}}},
     "at '/webhooks/policies/failurePolicy': value must be one of 'Fail', 'Ignore'"),
    ({"webhooks": {"caObjects": {"failurePolicy": "fail"}}},
     "at '/webhooks/caObjects/failurePolicy': value must be one of 'Fail', 'Ignore'"),
    ({"certificates": {"mode": "bogus"}},
     "at '/certificates/mode': value must be one of 'selfSigned', 'certManager', 'external'"),
    ({"certificates": {"mode": "external"}}, "at '/certificates/external/secretName': minLength: got 0, want 1"),
    ({"certificates": {"mode": "external", "external": {"secretName": "tls", "caBundle": "not a PEM"}}},
     "at '/certificates/external/caBundle': 'not a PEM' does not match pattern"),
    ({"webhook": {"enforcement": "block"}}, "at '/webhook/enforcement': value must be one of 'deny', 'warn'"),
    ({"webhook": {"rules": "lenient"}}, "at '/webhook/rules': value must be one of 'strict', 'upstream'"),
    ({"webhook": {"whenApiUnavailable": "ignore"}}, "at '/webhook/whenApiUnavailable': value must be one of"),
    ({"webhook": {"expiryWarningDays": "30"}}, "at '/webhook/expiryWarningDays': got string, want integer"),
    ({"webhook": {"knownTargetKinds": ["service"]}}, "at '/webhook/knownTargetKinds/0': 'service' does not match"),
    ({"caRefs": {"secrets": {"enabled": "yes"}}}, "at '/caRefs/secrets/enabled': got string, want boolean"),
    ({"webhooks": {"excludeNamespaces": ["Not_A_Namespace"]}}, "at '/webhooks/excludeNamespaces/0'"),
    ({"replicaCount": 0}, "at '/replicaCount': minimum: got 0, want 1"),
    ({"podAntiAffinity": "always"}, "at '/podAntiAffinity': value must be one of 'soft', 'hard'"),
    ({"webhook": {"timeoutSeconds": 5}}, "at '/webhook': additional properties 'timeoutSeconds' not allowed"),
    ({"certificates": {"certManager": {"issuerRef": {"kind": "ClusterIssuer"}}}}, "at '/certificates/certManager/issuerRef'"),
]


@pytest.mark.parametrize("values,message", SCHEMA_REJECTIONS, ids=[m.split(":")[0] for _, m in SCHEMA_REJECTIONS])
def test_schema_rejects_invalid_values(values, message):
    for result in (lint(values=values), template(values=values)):
        assert result.returncode != 0, f"{values} was accepted"
        assert message in result.output, result.output


VALUE_CONFLICTS = [
    ({"podDisruptionBudget": {"minAvailable": 2}},
     "podDisruptionBudget.minAvailable (2) must come to fewer pods than replicaCount (2): otherwise no webhook pod"),
    # Rounded up, as Kubernetes rounds it: 60% of 2 is 2.
    ({"podDisruptionBudget": {"minAvailable": "60%"}},
     "podDisruptionBudget.minAvailable (60%) must come to fewer pods than replicaCount (2)"),
    ({"podDisruptionBudget": {"minAvailable": "100%"}, "replicaCount": 3},
     "podDisruptionBudget.minAvailable (100%) must come to fewer pods than replicaCount (3)"),
    ({"certificates": {"selfSigned": {"validityDays": 30, "renewBeforeDays": 30}}},
     "certificates.selfSigned.validityDays (30) must exceed renewBeforeDays (30): otherwise every upgrade reissues the CA"),
    ({"webhook": {"watchNamespace": NAMESPACE}},
     f'webhook.watchNamespace "{NAMESPACE}" is a namespace no webhook may see'),
    ({"webhook": {"watchNamespace": "legacy"}, "webhooks": {"excludeNamespaces": ["legacy"]}},
     'webhook.watchNamespace "legacy" is a namespace no webhook may see'),
]


@pytest.mark.parametrize("values,message", VALUE_CONFLICTS, ids=[m.split(" ")[0] for _, m in VALUE_CONFLICTS])
def test_values_that_contradict_each_other_are_refused(values, message):
    result = template(values=values)
    assert result.returncode != 0, f"{values} was accepted"
    assert message in result.output, result.output


def test_one_replica_gets_no_disruption_budget_that_would_block_drains():
    docs = render(values={"replicaCount": 1})
    assert find_all(docs, "PodDisruptionBudget") == []
    assert find(docs, "Deployment")["spec"]["replicas"] == 1
    # A percentage that leaves a pod to evict is taken: 50% of 2 is 1.
    assert find(render(values={"podDisruptionBudget": {"minAvailable": "50%"}}), "PodDisruptionBudget")["spec"][
        "minAvailable"] == "50%"


def test_one_replica_keeps_the_surge_even_with_hard_anti_affinity():
    # Replacing the only pod first would leave no webhook to answer until the new one is ready.
    docs = render(values={"replicaCount": 1, "podAntiAffinity": "hard"})
    assert find(docs, "Deployment")["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_lookup_timeout_must_stay_below_webhook_timeout():
    result = template(values={"webhook": {"lookupTimeoutSeconds": 5}, "webhooks": {"timeoutSeconds": 5}})
    assert result.returncode != 0
    assert "webhook.lookupTimeoutSeconds (5) must be below webhooks.timeoutSeconds (5)" in result.output


# -- webhook configurations ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_webhook_shares_the_safe_fields(scenario):
    values = SCENARIOS[scenario]
    timeout = values.get("webhooks", {}).get("timeoutSeconds", 5)
    excluded = ["kube-system", NAMESPACE, *values.get("webhooks", {}).get("excludeNamespaces", [])]
    hooks = webhooks(scenario_docs(scenario))
    assert POLICY_HOOK in hooks
    for name, hook in hooks.items():
        assert hook["sideEffects"] == "None", name
        assert hook["admissionReviewVersions"] == ["v1"], name
        assert hook["matchPolicy"] == "Equivalent", name
        assert hook["timeoutSeconds"] == timeout, name
        service = hook["clientConfig"]["service"]
        assert (service["name"], service["namespace"], service["port"]) == (FULLNAME, NAMESPACE, 443), name
        assert service["path"] == ("/mutate" if name == MUTATE_HOOK else "/validate"), name
        # With webhook.watchNamespace, only that namespace: the webhook knows no other's policies and Services.
        watched = values.get("webhook", {}).get("watchNamespace")
        only = [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": [watched]}] if watched else []
        assert hook["namespaceSelector"] == {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": excluded}, *only]}, name


def test_failure_policy_per_webhook():
    hooks = webhooks(default_docs())
    assert {n: h["failurePolicy"] for n, h in hooks.items()} == {
        POLICY_HOOK: "Fail", CA_HOOK: "Ignore", MUTATE_HOOK: "Fail"}
    tuned = webhooks(scenario_docs("tuned"))
    assert {n: h["failurePolicy"] for n, h in tuned.items()} == {
        POLICY_HOOK: "Ignore", CA_HOOK: "Fail", MUTATE_HOOK: "Ignore"}


def test_policy_webhooks_cover_every_served_version():
    hooks = webhooks(default_docs())
    for name in (POLICY_HOOK, MUTATE_HOOK):
        assert hooks[name]["rules"] == [{
            "apiGroups": ["gateway.networking.k8s.io"], "apiVersions": ["v1", "v1alpha3", "v1alpha2"],
            "resources": ["backendtlspolicies"], "operations": ["CREATE", "UPDATE"], "scope": "Namespaced"}], name
    assert hooks[MUTATE_HOOK]["reinvocationPolicy"] == "IfNeeded"
    assert find(default_docs(), "MutatingWebhookConfiguration")["webhooks"] == [hooks[MUTATE_HOOK]]


def test_ca_object_webhook_sees_secrets_only_when_enabled():
    def resources(docs):
        (rule,) = webhooks(docs)[CA_HOOK]["rules"]
        assert rule["operations"] == ["CREATE", "UPDATE", "DELETE"]
        assert (rule["apiGroups"], rule["apiVersions"]) == ([""], ["v1"])
        return rule["resources"]

    assert resources(default_docs()) == ["configmaps"]
    assert resources(scenario_docs("tuned")) == ["configmaps", "secrets"]


def test_optional_webhooks_can_be_left_out():
    docs = scenario_docs("minimal")
    assert list(webhooks(docs)) == [POLICY_HOOK]
    assert find_all(docs, "MutatingWebhookConfiguration") == []


@pytest.mark.parametrize("kube_version,present", [("1.27.0", False), ("1.28.0", True), ("1.35.0", True)])
def test_match_conditions_only_where_the_api_server_knows_them(kube_version, present):
    hook = webhooks(render(kube_version=kube_version))[CA_HOOK]
    assert ("matchConditions" in hook) == present


def configmap(data=None, labels=None, name="app-config", binary_data=None):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "apps"}}
    if labels is not None:
        obj["metadata"]["labels"] = labels
    if data is not None:
        obj["data"] = data
    if binary_data is not None:
        obj["binaryData"] = binary_data
    return obj


CA = configmap({"ca.crt": "-----BEGIN CERTIFICATE-----"}, name="backend-ca")
LOCK = configmap(labels={"app": "operator"}, name="operator-lock")
LOCK.setdefault("metadata", {})["annotations"] = {"control-plane.alpha.kubernetes.io/leader": "{}"}
# operation, object, oldObject, expected: does the request reach the webhook?
MATCH_CASES = [
    ("CREATE", CA, None, True),
    ("UPDATE", CA, CA, True),
    ("UPDATE", configmap({"tls.crt": "x"}, name="backend-ca"), CA, True),  # ca.crt removed: the breaking write
    ("UPDATE", CA, configmap({}, name="backend-ca"), True),
    ("DELETE", None, CA, True),
    ("CREATE", configmap(labels={"backendtls.dev/ca-bundle": "true"}), None, True),
    ("DELETE", None, configmap(labels={"backendtls.dev/ca-bundle": ""}), True),
    ("CREATE", configmap(binary_data={"ca.crt": "AAAA"}), None, True),
    ("CREATE", LOCK, None, False),
    ("UPDATE", LOCK, LOCK, False),
    ("DELETE", None, LOCK, False),
    ("CREATE", configmap({"config.yaml": "a: b"}, labels={}), None, False),
    ("CREATE", configmap(), None, False),
    ("UPDATE", configmap({"ca.crt": "x"}, name="kube-root-ca.crt"), configmap({"ca.crt": "y"}, name="kube-root-ca.crt"),
     False),
]


@pytest.fixture
def cel_go_has(monkeypatch):
    """cel-python answers has(x.f) with false when x is null; cel-go (the API server's CEL) answers with an error,
    and an erroring matchCondition fails the request under failurePolicy Fail. Make has() strict like cel-go, so a
    condition that touches `object` on DELETE or `oldObject` on CREATE shows up as an error here."""
    original = celpy.evaluation.Evaluator.macro_has_eval

    def strict_has(self, exprlist):
        field_selection = next(exprlist.iter_subtrees_topdown(), None)
        while field_selection is not None and field_selection.data != "member_dot":
            field_selection = next((c for c in field_selection.children if hasattr(c, "data")), None)
        if field_selection is not None:
            parent = self.visit(field_selection.children[0])
            if parent is None or isinstance(parent, celpy.evaluation.CELEvalError):
                return celpy.evaluation.CELEvalError("has() on a null value")
        return original(self, exprlist)

    monkeypatch.setattr(celpy.evaluation.Evaluator, "macro_has_eval", strict_has)


def evaluate_cel(expression: str, activation: dict):
    """The expression's value, or the CELEvalError it ends in."""
    env = celpy.Environment()
    try:
        return env.program(env.compile(expression)).evaluate(activation)
    except celpy.evaluation.CELEvalError as error:
        return error


def test_strict_has_reports_null_objects(cel_go_has):
    run = lambda expr, obj: evaluate_cel(expr, {"object": celpy.json_to_cel(obj)})
    assert run("has(object.data)", {"data": {}}) == celpy.celtypes.BoolType(True)
    assert run("has(object.data)", {"metadata": {}}) == celpy.celtypes.BoolType(False)
    assert isinstance(run("has(object.data)", None), celpy.evaluation.CELEvalError)
    assert run("false && has(object.data)", None) == celpy.celtypes.BoolType(False)


@pytest.mark.parametrize("operation,obj,old,expected", MATCH_CASES)
def test_match_conditions_let_only_ca_objects_through(operation, obj, old, expected, cel_go_has):
    """The rendered CEL, run by cel-python: every condition must hold for the request to reach the webhook."""
    conditions = webhooks(default_docs())[CA_HOOK]["matchConditions"]
    assert [c["name"] for c in conditions] == ["not-kube-root-ca", "holds-ca-bundle"]
    name = (obj or old)["metadata"]["name"]
    activation = {
        "request": celpy.json_to_cel({"operation": operation, "name": name, "namespace": "apps",
                                      "resource": {"group": "", "version": "v1", "resource": "configmaps"}}),
        "object": celpy.json_to_cel(obj), "oldObject": celpy.json_to_cel(old)}
    results = [evaluate_cel(c["expression"], activation) for c in conditions]
    assert all(isinstance(r, celpy.celtypes.BoolType) for r in results), results  # an error is not a verdict
    assert all(results) == expected, [(c["name"], bool(r)) for c, r in zip(conditions, results)]


# -- certificates --------------------------------------------------------------------------------------------------

def ca_bundles(docs) -> set[bytes]:
    return {b64decode(h["clientConfig"]["caBundle"]) for h in webhooks(docs).values()}


def serving_secret(docs) -> dict:
    return find(docs, "Secret", f"{FULLNAME}-serving-cert")


def openssl_verify(cert_pem: bytes, bundle: bytes, dns_name: str, tmp_path) -> tuple[bool, str]:
    """openssl's verdict on the chain from cert_pem to a CA in bundle, as a TLS server for dns_name."""
    (tmp_path / "bundle.pem").write_bytes(bundle)
    (tmp_path / "tls.crt").write_bytes(cert_pem)
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "bundle.pem"), "-purpose", "sslserver",
                             "-verify_hostname", dns_name, str(tmp_path / "tls.crt")], capture_output=True, text=True)
    return verify.returncode == 0 and ": OK" in verify.stdout, verify.stdout + verify.stderr


def check_serving_pair(secret: dict, bundle: bytes, tmp_path) -> x509.Certificate:
    """The serving certificate chains to a CA in the bundle (openssl, hostname included) and matches its key."""
    data = {k: b64decode(v) for k, v in secret["data"].items()}
    cert = x509.load_pem_x509_certificate(data["tls.crt"])
    key = serialization.load_pem_private_key(data["tls.key"], password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers(), "tls.key does not match tls.crt"
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert SERVICE_DNS in sans
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    ok, output = openssl_verify(data["tls.crt"], bundle, SERVICE_DNS, tmp_path)
    assert ok, output
    return cert


def test_self_signed_ca_bundle_is_the_ca_that_signed_the_serving_certificate(tmp_path):
    docs = default_docs()
    secret = serving_secret(docs)
    assert secret["type"] == "kubernetes.io/tls"
    (bundle,) = ca_bundles(docs)  # one CA for all three webhooks
    assert bundle == b64decode(secret["data"]["ca.crt"])
    ca = x509.load_pem_x509_certificate(bundle)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert = check_serving_pair(secret, bundle, tmp_path)
    cert.verify_directly_issued_by(ca)
    assert secret["metadata"]["annotations"]["backendtls.dev/dns-name"] == SERVICE_DNS
    not_after = datetime.datetime.fromisoformat(secret["metadata"]["annotations"]["backendtls.dev/not-after"])
    assert abs((not_after - cert.not_valid_after_utc).total_seconds()) < 120


def test_openssl_check_refuses_another_name_and_another_ca(tmp_path):
    """The openssl check above can fail: the pair is valid for this release's Service only, under its own CA."""
    secret = serving_secret(default_docs())
    cert, ca = b64decode(secret["data"]["tls.crt"]), b64decode(secret["data"]["ca.crt"])
    assert openssl_verify(cert, ca, SERVICE_DNS, tmp_path)[0]
    ok, output = openssl_verify(cert, ca, f"{FULLNAME}.elsewhere.svc", tmp_path)
    assert not ok and "hostname mismatch" in output
    ok, output = openssl_verify(cert, EXTERNAL_CA.encode(), SERVICE_DNS, tmp_path)
    assert not ok and "unable to get local issuer certificate" in output


def test_serving_secret_is_mounted_as_a_directory_for_reload():
    for scenario, secret_name in [("defaults", f"{FULLNAME}-serving-cert"), ("certManager", f"{FULLNAME}-serving-cert"),
                                  ("external", "webhook-tls")]:
        docs = scenario_docs(scenario)
        pod = find(docs, "Deployment")["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "serving-cert"]
        assert volume["secret"]["secretName"] == secret_name, scenario
        webhook = container(docs, "webhook")
        (mount,) = [m for m in webhook["volumeMounts"] if m["name"] == "serving-cert"]
        assert "subPath" not in mount and mount["readOnly"] is True
        args = webhook["args"]
        assert f"--tls-cert-file={mount['mountPath']}/tls.crt" in args
        assert f"--tls-key-file={mount['mountPath']}/tls.key" in args
        if scenario == "certManager":
            assert find(docs, "Certificate", f"{FULLNAME}-serving")["spec"]["secretName"] == secret_name


def render_against_cluster(secrets: list[dict], tmp_path) -> tuple[list[dict], list[str]]:
    """helm template --dry-run=server against the fake API server, so that `lookup` sees these Secrets."""
    with FakeAPIServer(secrets) as server:
        docs = render(extra=("--dry-run=server", "--disable-openapi-validation"),
                      env={"KUBECONFIG": str(server.kubeconfig(tmp_path))})
    return docs, server.requests


def stored(secret: dict, **annotations) -> dict:
    """The Secret as the API server returns it after `helm install` (Helm's ownership annotations), with
    annotations changed."""
    ownership = {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": NAMESPACE}
    metadata = {**secret["metadata"], "annotations": {**secret["metadata"]["annotations"], **ownership, **annotations}}
    return {**secret, "metadata": metadata}


def test_self_signed_pair_is_reused_on_upgrade(tmp_path):
    installed = serving_secret(render())
    docs, requests = render_against_cluster([stored(installed)], tmp_path)
    assert f"GET /api/v1/namespaces/{NAMESPACE}/secrets/{FULLNAME}-serving-cert" in requests
    assert serving_secret(docs)["data"] == installed["data"]
    assert ca_bundles(docs) == {b64decode(installed["data"]["ca.crt"])}


def test_self_signed_pair_is_renewed_before_expiry_and_both_cas_are_trusted_meanwhile(tmp_path):
    installed = serving_secret(render())
    soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    docs, _ = render_against_cluster([stored(installed, **{"backendtls.dev/not-after": soon})], tmp_path)
    renewed = serving_secret(docs)
    assert renewed["data"]["tls.crt"] != installed["data"]["tls.crt"]
    assert renewed["data"]["ca.crt"] != installed["data"]["ca.crt"]
    (bundle,) = ca_bundles(docs)
    old_ca, new_ca = b64decode(installed["data"]["ca.crt"]), b64decode(renewed["data"]["ca.crt"])
    assert new_ca.strip() in bundle and old_ca.strip() in bundle
    check_serving_pair(renewed, bundle, tmp_path)
    check_serving_pair(installed, bundle, tmp_path)  # pods still serving the old pair until their volume updates


def test_self_signed_pair_is_reissued_when_the_service_name_changes(tmp_path):
    installed = serving_secret(render())
    moved = stored(installed, **{"backendtls.dev/dns-name": "old-name.backendtls-system.svc"})
    docs, _ = render_against_cluster([moved], tmp_path)
    reissued = serving_secret(docs)
    assert reissued["data"]["tls.crt"] != installed["data"]["tls.crt"]
    check_serving_pair(reissued, b64decode(reissued["data"]["ca.crt"]), tmp_path)


def test_cert_manager_mode_issues_through_its_own_ca():
    docs = scenario_docs("certManager")
    assert find_all(docs, "Secret") == []
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        assert find(docs, kind)["metadata"]["annotations"] == {
            "cert-manager.io/inject-ca-from": f"{NAMESPACE}/{FULLNAME}-serving"}
    assert all("caBundle" not in h["clientConfig"] for h in webhooks(docs).values())
    serving = find(docs, "Certificate", f"{FULLNAME}-serving")["spec"]
    assert SERVICE_DNS in serving["dnsNames"] and serving["commonName"] == SERVICE_DNS
    assert "server auth" in serving["usages"]
    assert serving["issuerRef"] == {"name": f"{FULLNAME}-ca", "kind": "Issuer", "group": "cert-manager.io"}
    ca_issuer = find(docs, "Issuer", f"{FULLNAME}-ca")["spec"]
    ca_cert = find(docs, "Certificate", f"{FULLNAME}-ca")["spec"]
    assert ca_cert["isCA"] is True and ca_issuer["ca"]["secretName"] == ca_cert["secretName"]
    assert ca_cert["issuerRef"]["name"] == f"{FULLNAME}-selfsigned"
    assert find(docs, "Issuer", f"{FULLNAME}-selfsigned")["spec"] == {"selfSigned": {}}


def test_cert_manager_mode_with_a_given_issuer_creates_no_issuer():
    docs = scenario_docs("certManager-clusterIssuer")
    assert find_all(docs, "Issuer") == []
    (certificate,) = find_all(docs, "Certificate")
    assert certificate["spec"]["issuerRef"] == {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}


def test_external_mode_trusts_the_given_ca_and_creates_no_secret():
    docs = scenario_docs("external")
    assert find_all(docs, "Secret") == [] and find_all(docs, "Certificate") == []
    assert ca_bundles(docs) == {EXTERNAL_CA.encode()}
    assert all("annotations" not in find(docs, k)["metadata"]
               for k in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"))


# -- Deployment, Service, RBAC -------------------------------------------------------------------------------------

def test_webhook_flags_follow_the_values():
    args = container(default_docs(), "webhook")["args"]
    assert "--store=kubernetes" in args
    assert [a for a in args if a.startswith("--ca-ref-kind")] == ["--ca-ref-kind=ConfigMap"]
    for flag in ("--rules=strict", "--enforcement=deny", "--lookup-timeout=2", "--when-api-unavailable=warn",
                 "--expiry-warning-days=30", "--resync-interval=600", "--listen=0.0.0.0:8443",
                 "--probe-listen=0.0.0.0:8081", "--metrics-listen=0.0.0.0:9090", "--known-well-known-ca=System"):
        assert flag in args, flag
    assert not any(a.startswith(("--watch-namespace", "--known-target-kind")) for a in args)

    tuned = container(scenario_docs("tuned"), "webhook")["args"]
    assert "--store=kubernetes" in tuned
    assert [a for a in tuned if a.startswith("--ca-ref-kind")] == ["--ca-ref-kind=ConfigMap", "--ca-ref-kind=Secret"]
    for flag in ("--rules=upstream", "--enforcement=warn", "--gateway-api-version=v1.4",
                 "--known-target-kind=ServiceImport.multicluster.x-k8s.io", "--expiry-warning-days=14",
                 "--lookup-timeout=3", "--when-api-unavailable=deny", "--watch-namespace=apps",
                 "--resync-interval=300", "--log-level=debug", "--disable-http2"):
        assert flag in tuned, flag


def cluster_rules(docs) -> list[dict]:
    return find(docs, "ClusterRole")["rules"]


def test_rbac_is_exactly_what_the_webhook_reads():
    assert cluster_rules(default_docs()) == [
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["backendtlspolicies"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    ]
    assert not any("secrets" in r["resources"] for r in cluster_rules(default_docs()))
    assert not find_all(default_docs(), "Role") and not find_all(default_docs(), "RoleBinding")
    # tuned watches one namespace: the same rules, as a Role there, and nothing cluster-wide.
    tuned = scenario_docs("tuned")
    assert not find_all(tuned, "ClusterRole") and not find_all(tuned, "ClusterRoleBinding")
    role = find(tuned, "Role")
    assert role["metadata"]["namespace"] == "apps"
    assert role["rules"][-1] == {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
    assert role["rules"][:3] == cluster_rules(default_docs())
    role_binding = find(tuned, "RoleBinding")
    assert role_binding["metadata"]["namespace"] == "apps"
    assert role_binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": FULLNAME}
    assert role_binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    binding = find(default_docs(), "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": FULLNAME}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    pod = find(default_docs(), "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == find(default_docs(), "ServiceAccount")["metadata"]["name"] == FULLNAME


def test_rbac_and_service_account_can_be_brought_along():
    docs = scenario_docs("minimal")
    assert not find_all(docs, "ClusterRole") and not find_all(docs, "ServiceAccount")
    assert find(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "backendtls-existing"
    assert container(docs, "webhook")["image"] == "registry.example/backendtls@sha256:" + "ab" * 32


def test_deployment_is_highly_available_and_locked_down():
    docs = default_docs()
    deployment = find(docs, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (term,) = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"] == {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": selector}}
    pdb = find(docs, "PodDisruptionBudget")["spec"]
    assert pdb == {"minAvailable": 1, "selector": {"matchLabels": selector}}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    webhook = container(docs, "webhook")
    security = webhook["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]} and security["runAsNonRoot"] is True
    assert webhook["resources"]["requests"] and webhook["resources"]["limits"]["memory"]
    ports = {p["name"]: p["containerPort"] for p in webhook["ports"]}
    assert ports == {"webhook": 8443, "probes": 8081, "metrics": 9090}
    assert webhook["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert webhook["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    assert "priorityClassName" not in pod
    # A terminating pod answers for the delay while the endpoints drop it, then gets its grace period.
    assert "--shutdown-delay=5" in webhook["args"]
    assert pod["terminationGracePeriodSeconds"] == 25
    service = find(docs, "Service")["spec"]
    assert service["selector"] == selector
    assert {p["name"]: (p["port"], p["targetPort"]) for p in service["ports"]} == {
        "webhook": (443, "webhook"), "metrics": (9090, "metrics")}


def test_tuned_deployment_spreads_strictly_and_is_prioritised():
    docs = scenario_docs("tuned")
    pod = find(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    # A surge pod would need a node without a webhook pod: with one per node required, replace one at a time.
    rolling = find(docs, "Deployment")["spec"]["strategy"]["rollingUpdate"]
    assert rolling == {"maxSurge": 0, "maxUnavailable": 1}
    minimal = scenario_docs("minimal")
    assert find(minimal, "Deployment")["spec"]["replicas"] == 3
    assert find_all(minimal, "PodDisruptionBudget") == []
    assert [p["name"] for p in find(minimal, "Service")["spec"]["ports"]] == ["webhook"]


def test_service_monitor_scrapes_the_metrics_port():
    docs = scenario_docs("tuned")
    monitor = find(docs, "ServiceMonitor")
    service = find(docs, "Service")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert all(service["metadata"]["labels"][k] == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in [p["name"] for p in service["spec"]["ports"]] and endpoint["path"] == "/metrics"
    assert find_all(default_docs(), "ServiceMonitor") == []


def test_notes_show_how_to_try_it():
    install = helm("install", "bt", str(CHART), "--namespace", NAMESPACE, "--dry-run=client")
    assert install.returncode == 0, install.output
    notes = install.stdout.split("NOTES:", 1)[1]
    assert f"rollout status deployment/{FULLNAME}" in notes
    assert 'admission webhook "validate.backendtls.dev" denied' in notes
    warn = helm("install", "bt", str(CHART), "--namespace", NAMESPACE, "--dry-run=client",
                "--set", "webhook.enforcement=warn")
    assert 'Enforcement is "warn"' in warn.stdout.split("NOTES:", 1)[1]
