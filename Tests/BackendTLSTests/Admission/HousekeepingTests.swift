import Testing

@testable import BackendTLS

/// Regression (review): an UPDATE that only removes a finalizer or edits labels, or touches an object being
/// deleted, must not be denied for findings that were already true — that would wedge namespace teardown.
struct HousekeepingTests {
    static func request(_ object: JSONValue, old: JSONValue?, operation: ValidationContext.Operation)
        -> AdmissionRequest
    {
        AdmissionRequest(
            uid: "u", kind: .init(group: "gateway.networking.k8s.io", version: "v1", kind: "BackendTLSPolicy"),
            resource: nil, subResource: nil, name: "policy", namespace: "default", operation: operation,
            userInfo: .init(username: "someone", groups: []), object: object, oldObject: old, dryRun: false)
    }

    static let broken = Fixtures.spec(caConfigMap: "missing-key")
    static let store: StoreSnapshot = {
        var store = StoreSnapshot()
        store.insert(Fixtures.configMap(name: "missing-key", data: ["tls.crt": "x"]))
        return store
    }()

    func evaluate(_ request: AdmissionRequest) -> AdmissionDecision {
        AdmissionEvaluator(configuration: ValidationConfiguration())
            .evaluate(request, endpoint: .validate, context: Fixtures.context(Self.store))
    }

    @Test func createOfABrokenPolicyIsDenied() {
        let object = Fixtures.policyJSON(spec: Self.broken)
        #expect(!evaluate(Self.request(object, old: nil, operation: .create)).allowed)
    }

    @Test func updateLeavingSpecUnchangedIsAllowedWithWarnings() {
        let old = Fixtures.policyJSON(spec: Self.broken)
        guard case .object(var root) = old, case .object(var metadata)? = root["metadata"] else { return }
        metadata["labels"] = ["team": "payments"]
        root["metadata"] = .object(metadata)
        let decision = evaluate(Self.request(.object(root), old: old, operation: .update))
        #expect(decision.allowed)
        #expect(decision.diagnostics.contains { $0.reason == .invalidCACertificateRef && !$0.isError })
    }

    @Test func updateOfADeletingObjectIsAllowed() {
        let old = Fixtures.policyJSON(spec: Self.broken)
        guard case .object(var root) = old, case .object(var metadata)? = root["metadata"] else { return }
        metadata["deletionTimestamp"] = "2026-06-01T00:00:00Z"
        root["metadata"] = .object(metadata)
        #expect(evaluate(Self.request(.object(root), old: old, operation: .update)).allowed)
    }

    @Test func updateChangingSpecIsStillJudged() {
        let old = Fixtures.policyJSON(spec: Fixtures.spec(caConfigMap: nil, wellKnown: "System"))
        let new = Fixtures.policyJSON(spec: Self.broken)
        #expect(!evaluate(Self.request(new, old: old, operation: .update)).allowed)
    }
}
