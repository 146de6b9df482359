import BackendTLS
import Foundation
import Testing

struct CAObjectGuardTests {
    private static let ca = TestPKI.certificateAuthority()
    private static let expiredNotAfter = Fixtures.now.addingTimeInterval(-86_400 * 3)
    private static let expired = TestPKI.certificateAuthority(
        name: "Expired CA", notBefore: expiredNotAfter.addingTimeInterval(-86_400 * 365), notAfter: expiredNotAfter)

    private let guardian = CAObjectGuard()

    private static func policy(_ name: String, namespace: String = "default", refs: String) -> BackendTLSPolicy {
        Fixtures.policy(
            name: name, namespace: namespace,
            spec: Fixtures.spec(caConfigMap: nil, extraValidation: #""caCertificateRefs":\#(refs)"#))
    }

    private static let configMapRef = #"[{"group":"","kind":"ConfigMap","name":"backend-ca"}]"#
    private static let secretRef = #"[{"group":"","kind":"Secret","name":"backend-ca"}]"#

    /// A store where `default/policy` trusts ConfigMap `default/backend-ca` (whose stored state is good).
    private static func referencingStore(policies: [BackendTLSPolicy]? = nil) -> StoreSnapshot {
        StoreSnapshot(
            policies: policies ?? [Fixtures.policy(spec: Fixtures.spec())],
            configMaps: [Fixtures.configMap(data: ["ca.crt": ca.pemText])])
    }

    private func validate(
        _ configMap: ConfigMap, store: StoreSnapshot, operation: ValidationContext.Operation = .update
    ) -> [Diagnostic] {
        guardian.validate(.init(configMap), in: Fixtures.context(store, operation: operation))
    }

    // MARK: Referenced objects

    @Test func updateOfReferencedConfigMapWithGoodBundleIsClean() {
        let diagnostics = validate(
            Fixtures.configMap(data: ["ca.crt": Self.ca.pemText + Self.ca.pemText]), store: Self.referencingStore())
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    @Test func updateRemovingCACertBreaksPolicies() throws {
        let diagnostics = validate(
            Fixtures.configMap(data: ["ca.pem": Self.ca.pemText]), store: Self.referencingStore())
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1, "\(diagnostics.details)")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.reason == .breaksPolicies)
        #expect(diagnostic.field == "data")
        #expect(diagnostic.object == ObjectReference(kind: "ConfigMap", namespace: "default", name: "backend-ca"))
        #expect(diagnostic.message.contains("default/policy"))
        #expect(diagnostic.message.contains("keys: ca.pem"))
    }

    @Test func referencedExpiredBundleIsDeniedNamingThePolicy() throws {
        let diagnostics = validate(
            Fixtures.configMap(data: ["ca.crt": Self.expired.pemText]), store: Self.referencingStore())
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1, "\(diagnostics.details)")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.reason == .expiredCertificate)
        #expect(diagnostic.field == "data[ca.crt]")
        #expect(diagnostic.message.contains("BackendTLSPolicy default/policy"))
        #expect(diagnostic.message.contains(RFC3339.format(Self.expiredNotAfter)))
    }

    @Test func referencedBundleInBinaryDataNamesThatField() throws {
        let configMap = ConfigMap(
            metadata: ObjectMeta(name: "backend-ca", namespace: "default"),
            binaryData: ["ca.crt": Array(Self.expired.pemText.utf8)])
        let diagnostics = validate(configMap, store: Self.referencingStore())
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.field == "binaryData[ca.crt]")
    }

    @Test func everyReferencingPolicyIsNamedInOrder() throws {
        let store = Self.referencingStore(policies: [
            Self.policy("zeta", refs: Self.configMapRef),
            Self.policy("alpha", refs: Self.configMapRef),
            Self.policy("unrelated", refs: #"[{"group":"","kind":"ConfigMap","name":"other-ca"}]"#),
        ])
        let diagnostics = validate(Fixtures.configMap(data: ["ca.crt": Self.expired.pemText]), store: store)
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.message.contains("default/alpha, default/zeta"))
        #expect(!diagnostic.message.contains("unrelated"))
    }

    @Test func warningsOfReferencedBundleStayWarningsWithoutConsequence() throws {
        let valid = TestPKI.certificateAuthority(name: "Current CA")
        let diagnostics = validate(
            Fixtures.configMap(data: ["ca.crt": Self.expired.pemText + valid.pemText]), store: Self.referencingStore())
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1, "\(diagnostics.details)")
        #expect(diagnostic.severity == .warning)
        #expect(diagnostic.reason == .expiredCertificate)
        #expect(!diagnostic.message.contains("would break"))
    }

    @Test func referencedBundleWithPrivateKeyIsDeniedWithoutKeyMaterial() throws {
        let key = TestPKI.privateKeyPEM()
        let diagnostics = validate(
            Fixtures.configMap(data: ["ca.crt": Self.ca.pemText + key]), store: Self.referencingStore())
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1, "\(diagnostics.details)")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.reason == .privateKeyInBundle)
        for line in TestPKI.bodyLines(key) { #expect(!diagnostic.message.contains(line)) }
    }

    @Test func referencedSecretIsGuardedToo() throws {
        let store = StoreSnapshot(policies: [Self.policy("policy", refs: Self.secretRef)])
        let secret = Secret(
            metadata: ObjectMeta(name: "backend-ca", namespace: "default"),
            data: ["ca.crt": Array(Self.expired.pemText.utf8)])
        let diagnostics = guardian.validate(.init(secret), in: Fixtures.context(store, operation: .update))
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.reason == .expiredCertificate)
        #expect(diagnostic.object.kind == "Secret")
        #expect(diagnostic.message.contains("default/policy"))
    }

    @Test func referenceWithoutGroupMeansCoreGroup() throws {
        let store = StoreSnapshot(policies: [
            Self.policy("policy", refs: #"[{"kind":"ConfigMap","name":"backend-ca"}]"#)
        ])
        let diagnostics = validate(Fixtures.configMap(data: ["ca.crt": Self.expired.pemText]), store: store)
        #expect(diagnostics.map(\.severity) == [.error], "\(diagnostics.details)")
        #expect(diagnostics.first?.message.contains("default/policy") == true)
    }

    @Test func referenceByAnotherKindDoesNotCount() {
        // The policy trusts Secret "backend-ca"; a ConfigMap of the same name is not its bundle.
        let store = StoreSnapshot(policies: [Self.policy("policy", refs: Self.secretRef)])
        let diagnostics = validate(Fixtures.configMap(data: ["ca.crt": Self.expired.pemText]), store: store)
        #expect(!diagnostics.isEmpty)
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
        #expect(guardian.referencingPolicies(of: .init(Fixtures.configMap(data: [:])), in: store).isEmpty)
    }

    @Test func referenceFromAnotherNamespaceDoesNotCount() {
        let store = StoreSnapshot(policies: [Self.policy("policy", namespace: "other", refs: Self.configMapRef)])
        let diagnostics = validate(Fixtures.configMap(data: ["ca.crt": Self.expired.pemText]), store: store)
        #expect(!diagnostics.isEmpty)
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
    }

    // MARK: Unreferenced objects

    @Test(arguments: [ValidationContext.Operation.create, .update])
    func unreferencedBadBundleOnlyWarns(_ operation: ValidationContext.Operation) {
        let diagnostics = validate(
            Fixtures.configMap(data: ["ca.crt": Self.expired.pemText + TestPKI.privateKeyPEM()]),
            store: StoreSnapshot(),
            operation: operation)
        #expect(diagnostics.count == 2, "\(diagnostics.details)")
        #expect(diagnostics.allSatisfy { $0.severity == .warning }, "\(diagnostics.details)")
        #expect(diagnostics.contains(reason: .privateKeyInBundle, field: "data[ca.crt]"))
        #expect(diagnostics.contains(reason: .expiredCertificate, field: "data[ca.crt]"))
        #expect(!diagnostics.contains { $0.message.contains("would break") })
    }

    @Test func unreferencedObjectWithoutCACertIsIgnored() {
        let diagnostics = validate(Fixtures.configMap(data: ["app.conf": "x"]), store: StoreSnapshot())
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    @Test func labeledUnreferencedBadBundleIsDenied() throws {
        let configMap = Fixtures.configMap(
            data: ["ca.crt": Self.expired.pemText], labels: [CAObjectGuard.caBundleLabel: "true"])
        #expect(CAObjectGuard.caBundleLabel == "backendtls.dev/ca-bundle")
        let diagnostics = validate(configMap, store: StoreSnapshot(), operation: .create)
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1, "\(diagnostics.details)")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.reason == .expiredCertificate)
        #expect(!diagnostic.message.contains("would break"))
    }

    @Test func labeledUnreferencedObjectWithoutCACertIsDenied() throws {
        let configMap = Fixtures.configMap(
            data: ["tls.crt": Self.ca.pemText], labels: [CAObjectGuard.caBundleLabel: "true"])
        let diagnostics = validate(configMap, store: StoreSnapshot(), operation: .create)
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.reason == .invalidCACertificateRef)
        #expect(diagnostic.message.contains("keys: tls.crt"))
    }

    @Test(arguments: ["false", "True", "yes", ""])
    func labelMustBeExactlyTrue(_ value: String) {
        let configMap = Fixtures.configMap(
            data: ["ca.crt": Self.expired.pemText], labels: [CAObjectGuard.caBundleLabel: value])
        let diagnostics = validate(configMap, store: StoreSnapshot(), operation: .create)
        #expect(!diagnostics.isEmpty)
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
    }

    // MARK: DELETE

    @Test func deleteOfReferencedObjectWarnsNamingPolicies() throws {
        let store = Self.referencingStore(policies: [
            Self.policy("b", refs: Self.configMapRef), Self.policy("a", refs: Self.configMapRef),
        ])
        // Even a broken, labeled object: DELETE is never denied.
        let old = Fixtures.configMap(
            data: ["ca.crt": Self.expired.pemText + TestPKI.privateKeyPEM()],
            labels: [CAObjectGuard.caBundleLabel: "true"])
        let diagnostics = validate(old, store: store, operation: .delete)
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1, "\(diagnostics.details)")
        #expect(diagnostic.severity == .warning)
        #expect(diagnostic.reason == .deletesReferencedObject)
        #expect(diagnostic.message.contains("default/a, default/b"))
        #expect(diagnostics.errors.isEmpty)
    }

    @Test func deleteOfUnreferencedObjectIsSilent() {
        let old = Fixtures.configMap(
            data: ["ca.crt": Self.expired.pemText], labels: [CAObjectGuard.caBundleLabel: "true"])
        #expect(validate(old, store: StoreSnapshot(), operation: .delete).isEmpty)
    }

    // MARK: kube-root-ca.crt

    @Test(arguments: [ValidationContext.Operation.create, .update, .delete])
    func kubeRootCAIsNeverJudged(_ operation: ValidationContext.Operation) {
        let store = StoreSnapshot(policies: [
            Self.policy("policy", refs: #"[{"group":"","kind":"ConfigMap","name":"kube-root-ca.crt"}]"#)
        ])
        let broken = Fixtures.configMap(
            name: CAObjectGuard.rootCAConfigMapName,
            data: ["ca.crt": "not a certificate", "extra": TestPKI.privateKeyPEM()],
            labels: [CAObjectGuard.caBundleLabel: "true"])
        #expect(CAObjectGuard.rootCAConfigMapName == "kube-root-ca.crt")
        let diagnostics = validate(broken, store: store, operation: operation)
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
        let withoutKey = Fixtures.configMap(name: CAObjectGuard.rootCAConfigMapName, data: [:])
        #expect(validate(withoutKey, store: store, operation: operation).isEmpty)
    }

    // MARK: Through the admission evaluator

    @Test func admissionEvaluatorRoutesConfigMapsToTheGuard() throws {
        let evaluator = AdmissionEvaluator(configuration: .init())
        let object = Fixtures.json(
            #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"backend-ca","namespace":"default"},"data":{"other":"x"}}"#
        )
        let diagnostics = evaluator.validateCAObject(
            object, in: Fixtures.context(Self.referencingStore(), operation: .update))
        #expect(diagnostics.map(\.reason) == [.breaksPolicies], "\(diagnostics.details)")
    }
}
