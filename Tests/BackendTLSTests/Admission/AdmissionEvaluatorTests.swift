import BackendTLS
import TestCertificates
import Testing

private let evaluatorCA = TestPKI.certificateAuthority(name: "Evaluator CA")

/// A store in which `Fixtures.spec()` policies are valid: the Service and the CA ConfigMap exist.
private func healthyStore(policies: [BackendTLSPolicy] = []) -> StoreSnapshot {
    StoreSnapshot(
        policies: policies,
        configMaps: [Fixtures.configMap(data: ["ca.crt": evaluatorCA.pem])],
        services: [Fixtures.service(ports: [Service.Port(name: "https", port: 443)])]
    )
}

private func request(
    kind: AdmissionRequest.GroupVersionKind,
    operation: ValidationContext.Operation,
    object: JSONValue?,
    oldObject: JSONValue? = nil,
    username: String = "alice"
) -> AdmissionRequest {
    // Built through the decoder, as the webhook does: AdmissionRequest has no public memberwise init.
    var members: [(key: String, value: JSONValue)] = [
        ("uid", "u-1"),
        ("kind", ["group": .string(kind.group), "version": .string(kind.version), "kind": .string(kind.kind)]),
        ("operation", .string(operation.rawValue)),
        ("userInfo", ["username": .string(username)]),
    ]
    if let object { members.append(("object", object)) }
    if let oldObject { members.append(("oldObject", oldObject)) }
    let review: JSONValue = [
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": .object(JSONObject(members)),
    ]
    return try! AdmissionReview(json: review).request
}

private extension AdmissionRequest.GroupVersionKind {
    static var policy: Self { kind(group: BackendTLSPolicyVersion.group, version: "v1", kind: "BackendTLSPolicy") }
    static var configMap: Self { kind(group: "", version: "v1", kind: "ConfigMap") }
    static var secret: Self { kind(group: "", version: "v1", kind: "Secret") }
    static var pod: Self { kind(group: "", version: "v1", kind: "Pod") }

    static func kind(group: String, version: String, kind: String) -> Self {
        let json: JSONValue = [
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": [
                "uid": "k", "kind": ["group": .string(group), "version": .string(version), "kind": .string(kind)],
                "operation": "DELETE",
            ],
        ]
        return try! AdmissionReview(json: json).request.kind
    }
}

private let evaluator = AdmissionEvaluator(configuration: .init())

private let badPolicy = Fixtures.policyJSON(name: "x", spec: Fixtures.spec(hostname: "10.0.0.1"))
private let goodPolicy = Fixtures.policyJSON(name: "x", spec: Fixtures.spec())
/// Valid once defaulted: only `targetRefs[0].group` is missing.
private let undefaultedPolicy = Fixtures.policyJSON(
    name: "x",
    spec: #"""
        {"targetRefs":[{"kind":"Service","name":"backend"}],
         "validation":{"hostname":"backend.example.com","caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"backend-ca"}]}}
        """#)

private let brokenCAConfigMap = Fixtures.configMap(data: ["tls.crt": "not a bundle"]).json

struct AdmissionEvaluatorTests {
    @Test func validateDeniesABadPolicy() {
        let decision = evaluator.evaluate(
            request(kind: .policy, operation: .create, object: badPolicy), endpoint: .validate,
            context: Fixtures.context(healthyStore()))
        #expect(decision.handled)
        #expect(!decision.allowed)
        #expect(decision.diagnostics.errors.contains { $0.field == "spec.validation.hostname" })
        #expect(decision.patch.isEmpty)
    }

    @Test(arguments: [ValidationContext.Operation.create, .update])
    func validateAllowsAGoodPolicy(_ operation: ValidationContext.Operation) {
        let decision = evaluator.evaluate(
            request(
                kind: .policy, operation: operation, object: goodPolicy,
                oldObject: operation == .update ? goodPolicy : JSONValue?.none),
            endpoint: .validate, context: Fixtures.context(healthyStore(), operation: operation, oldObject: goodPolicy))
        #expect(decision.handled)
        #expect(decision.allowed, "\(decision.diagnostics.details)")
        #expect(decision.diagnostics.isEmpty, "\(decision.diagnostics.details)")
    }

    @Test func mutateReturnsThePatchAndNoDiagnostics() {
        // Even an object the validator would deny gets only its defaults at the mutating endpoint.
        var object = undefaultedPolicy
        if case .object(var root) = object, case .object(var spec)? = root["spec"],
            case .object(var validation)? = spec["validation"]
        {
            validation["hostname"] = "10.0.0.1"
            spec["validation"] = .object(validation)
            root["spec"] = .object(spec)
            object = .object(root)
        }
        let decision = evaluator.evaluate(
            request(kind: .policy, operation: .create, object: object), endpoint: .mutate,
            context: Fixtures.context(healthyStore()))
        #expect(decision.handled)
        #expect(decision.allowed)
        #expect(decision.diagnostics.isEmpty)
        #expect(
            decision.patch == [JSONPatchOperation(op: .add, path: ["spec", "targetRefs", "0", "group"], value: "")])
    }

    @Test func validateNeverReturnsAPatch() {
        let decision = evaluator.evaluate(
            request(kind: .policy, operation: .create, object: undefaultedPolicy), endpoint: .validate,
            context: Fixtures.context(healthyStore()))
        #expect(decision.patch.isEmpty)
        #expect(decision.diagnostics.errors.contains { $0.field == "spec.targetRefs[0].group" })
    }

    @Test(arguments: [AdmissionEvaluator.Endpoint.validate, .mutate])
    func deleteOfAPolicyIsNotJudged(_ endpoint: AdmissionEvaluator.Endpoint) {
        let decision = evaluator.evaluate(
            request(kind: .policy, operation: .delete, object: nil, oldObject: badPolicy), endpoint: endpoint,
            context: Fixtures.context(healthyStore(), operation: .delete))
        #expect(!decision.handled)
        #expect(decision.allowed)
        #expect(decision.diagnostics.isEmpty)
        #expect(decision.patch.isEmpty)
    }

    @Test(arguments: [AdmissionEvaluator.Endpoint.validate, .mutate])
    func unknownKindIsNotJudged(_ endpoint: AdmissionEvaluator.Endpoint) {
        let pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"]]
        let decision = evaluator.evaluate(
            request(kind: .pod, operation: .create, object: pod), endpoint: endpoint,
            context: Fixtures.context(healthyStore()))
        #expect(!decision.handled)
        #expect(decision.allowed)
    }

    @Test func policyKindFromAnotherGroupIsNotJudged() {
        let decision = evaluator.evaluate(
            request(
                kind: .kind(group: "example.com", version: "v1", kind: "BackendTLSPolicy"), operation: .create,
                object: badPolicy),
            endpoint: .validate, context: Fixtures.context(healthyStore()))
        #expect(!decision.handled)
    }

    @Test func brokenUpdateOfAReferencedConfigMapIsDeniedForUsers() {
        let store = healthyStore(policies: [Fixtures.policy(name: "uses-ca", spec: Fixtures.spec())])
        let decision = evaluator.evaluate(
            request(kind: .configMap, operation: .update, object: brokenCAConfigMap), endpoint: .validate,
            context: Fixtures.context(store, operation: .update))
        #expect(decision.handled)
        #expect(!decision.allowed)
        #expect(decision.diagnostics.errors.contains { $0.message.contains("default/uses-ca") })
    }

    @Test(arguments: [ValidationContext.Operation.update, .delete])
    func namespaceControllerIsNeverDenied(_ operation: ValidationContext.Operation) {
        let store = healthyStore(policies: [Fixtures.policy(name: "uses-ca", spec: Fixtures.spec())])
        let decision = evaluator.evaluate(
            request(
                kind: .configMap, operation: operation,
                object: operation == .delete ? JSONValue?.none : brokenCAConfigMap,
                oldObject: brokenCAConfigMap, username: AdmissionEvaluator.namespaceControllerUsername),
            endpoint: .validate, context: Fixtures.context(store, operation: operation))
        #expect(decision.allowed)
        #expect(decision.diagnostics.isEmpty)
    }

    @Test func terminatingNamespaceIsNeverDenied() {
        let decision = evaluator.evaluate(
            request(kind: .policy, operation: .create, object: badPolicy), endpoint: .validate,
            context: Fixtures.context(healthyStore()), namespaceTerminating: true)
        #expect(decision.allowed)
    }

    @Test func configMapDeleteIsJudgedOnItsOldObject() {
        let store = healthyStore(policies: [Fixtures.policy(name: "uses-ca", spec: Fixtures.spec())])
        let old = Fixtures.configMap(data: ["ca.crt": evaluatorCA.pem]).json
        let decision = evaluator.evaluate(
            request(kind: .configMap, operation: .delete, object: nil, oldObject: old), endpoint: .validate,
            context: Fixtures.context(store, operation: .delete))
        #expect(decision.handled)
        #expect(decision.allowed)
        #expect(decision.diagnostics.count == 1)
        #expect(decision.diagnostics.first?.reason == .deletesReferencedObject)
        #expect(decision.diagnostics.first?.severity == .warning)
        #expect(
            decision.diagnostics.first?.object
                == ObjectReference(kind: "ConfigMap", namespace: "default", name: "backend-ca"))
        #expect(decision.diagnostics.first?.message.contains("default/uses-ca") == true)
    }

    @Test func configMapDeleteIsNeverDeniedWhateverTheContextOperation() {
        // Bug: the evaluator picks `oldObject` by `request.operation` but CAObjectGuard branches on
        // `context.operation`; with a context built once per snapshot (operation defaults to CREATE), a
        // DELETE of a referenced ConfigMap is judged as a CREATE and denied (BreaksPolicies).
        let store = healthyStore(policies: [Fixtures.policy(name: "uses-ca", spec: Fixtures.spec())])
        let decision = evaluator.evaluate(
            request(kind: .configMap, operation: .delete, object: nil, oldObject: brokenCAConfigMap),
            endpoint: .validate, context: Fixtures.context(store, operation: .create))
        #expect(decision.allowed, "\(decision.diagnostics.details)")
    }

    @Test func configMapDeleteOfAnUnreferencedObjectIsSilent() {
        let old = Fixtures.configMap(name: "other", data: ["ca.crt": evaluatorCA.pem]).json
        let decision = evaluator.evaluate(
            request(kind: .configMap, operation: .delete, object: nil, oldObject: old), endpoint: .validate,
            context: Fixtures.context(
                healthyStore(policies: [Fixtures.policy(spec: Fixtures.spec())]), operation: .delete))
        #expect(decision.handled)
        #expect(decision.diagnostics.isEmpty)
    }

    @Test func configMapsAreNotMutated() {
        let decision = evaluator.evaluate(
            request(kind: .configMap, operation: .create, object: brokenCAConfigMap), endpoint: .mutate,
            context: Fixtures.context(healthyStore()))
        #expect(!decision.handled)
        #expect(decision.patch.isEmpty)
    }

    @Test func secretWithoutCABreakingAPolicyIsDenied() {
        let policy = Fixtures.policy(
            name: "uses-secret",
            spec: Fixtures.spec(
                caConfigMap: nil, extraValidation: #""caCertificateRefs":[{"group":"","kind":"Secret","name":"ca"}]"#))
        let secret = Secret(metadata: ObjectMeta(name: "ca", namespace: "default"), data: ["tls.crt": [1]]).json
        let decision = evaluator.evaluate(
            request(kind: .secret, operation: .update, object: secret), endpoint: .validate,
            context: Fixtures.context(healthyStore(policies: [policy]), operation: .update))
        #expect(!decision.allowed)
        #expect(decision.diagnostics.contains(reason: .breaksPolicies, severity: .error))
    }

    @Test func malformedConfigMapIsOneError() {
        let object: JSONValue = [
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "c", "namespace": "default"],
            "binaryData": ["ca.crt": "%%%"],
        ]
        let decision = evaluator.evaluate(
            request(kind: .configMap, operation: .create, object: object), endpoint: .validate,
            context: Fixtures.context(healthyStore()))
        #expect(decision.diagnostics.count == 1)
        #expect(decision.diagnostics.first?.reason == .malformedObject)
        #expect(decision.diagnostics.first?.field == "binaryData.ca.crt")
    }
}
