import BackendTLS
import Foundation
import TestCertificates
import Testing

struct CACertificateSourceTests {
    private static let ca = TestPKI.certificateAuthority()

    private func resolve(
        _ kind: ValidationConfiguration.GroupKind = .configMap,
        name: String = "backend-ca",
        namespace: String = "default",
        store: StoreSnapshot,
        configuration: ValidationConfiguration = .init()
    ) -> CACertificateSource {
        CACertificateSource.resolve(
            kind, name: name, namespace: namespace, in: Fixtures.context(store, configuration: configuration))
    }

    private func summary(_ source: CACertificateSource) -> [String] {
        source.findings.map { "\($0.severity) \($0.reason): \($0.message)" }
    }

    @Test func configMapWithBundleInData() throws {
        let store = StoreSnapshot(configMaps: [Fixtures.configMap(data: ["ca.crt": Self.ca.pemText])])
        let source = resolve(store: store)
        #expect(source.findings.isEmpty, "\(summary(source))")
        #expect(!source.isInvalid)
        let inspection = try #require(source.inspection)
        #expect(inspection.certificates.map(\.der) == [TestPKI.der(Self.ca.certificate)])
    }

    @Test func configMapWithBundleInBinaryData() throws {
        let configMap = ConfigMap(
            metadata: ObjectMeta(name: "backend-ca", namespace: "default"),
            binaryData: ["ca.crt": Array(Self.ca.pemText.utf8)])
        let source = resolve(store: StoreSnapshot(configMaps: [configMap]))
        #expect(source.findings.isEmpty, "\(summary(source))")
        #expect(!source.isInvalid)
        #expect(source.inspection?.certificates.count == 1)
    }

    @Test func secretWithBundle() {
        let secret = Secret(
            metadata: ObjectMeta(name: "backend-ca", namespace: "default"),
            data: ["ca.crt": Array(Self.ca.pemText.utf8)])
        let source = resolve(.secret, store: StoreSnapshot(secrets: [secret]))
        #expect(source.findings.isEmpty, "\(summary(source))")
        #expect(source.inspection?.certificates.count == 1)
    }

    @Test(arguments: ["tls.key", "backend.key"])
    func secretWithPrivateKeyWarns(_ keyName: String) throws {
        let key = TestPKI.privateKeyPEM()
        let secret = Secret(
            metadata: ObjectMeta(name: "backend-ca", namespace: "default"), type: "kubernetes.io/tls",
            data: [
                "ca.crt": Array(Self.ca.pemText.utf8), "tls.crt": Array(Self.ca.pemText.utf8), keyName: Array(key.utf8),
            ])
        let source = resolve(.secret, store: StoreSnapshot(secrets: [secret]))
        #expect(!source.isInvalid)
        #expect(source.findings.count == 1, "\(summary(source))")
        let finding = try #require(source.findings.first)
        #expect(finding.severity == .warning)
        #expect(finding.reason == .privateKeyInBundle)
        #expect(finding.message.contains(keyName))
        for line in TestPKI.bodyLines(key) { #expect(!finding.message.contains(line)) }
    }

    @Test(arguments: [ValidationConfiguration.GroupKind.configMap, .secret])
    func missingObjectIsAWarningNotInvalid(_ kind: ValidationConfiguration.GroupKind) throws {
        // The object exists, but in another namespace: references are namespace-local.
        let store = StoreSnapshot(
            configMaps: [Fixtures.configMap(namespace: "other", data: ["ca.crt": Self.ca.pemText])],
            secrets: [Secret(metadata: ObjectMeta(name: "backend-ca", namespace: "other"))])
        let source = resolve(kind, store: store)
        #expect(!source.isInvalid)
        #expect(source.inspection == nil)
        guard case .notFound = source.outcome else {
            Issue.record("expected .notFound, got \(source.outcome)")
            return
        }
        let finding = try #require(source.findings.first)
        #expect(source.findings.count == 1)
        #expect(finding.severity == .warning)
        #expect(finding.reason == .referenceNotFound)
        #expect(finding.message.contains("\(kind.kind) \"backend-ca\""))
        #expect(finding.message.contains("\"default\""))
    }

    @Test func missingKeyIsAnErrorListingKeys() throws {
        let store = StoreSnapshot(
            configMaps: [Fixtures.configMap(data: ["tls.crt": Self.ca.pem, "ca.pem": Self.ca.pemText])])
        let source = resolve(store: store)
        #expect(source.isInvalid)
        guard case .missingKey(let keys) = source.outcome else {
            Issue.record("expected .missingKey, got \(source.outcome)")
            return
        }
        #expect(keys == ["ca.pem", "tls.crt"])
        let finding = try #require(source.findings.first)
        #expect(source.findings.count == 1)
        #expect(finding.severity == .error)
        #expect(finding.reason == .invalidCACertificateRef)
        #expect(finding.message.contains("\"ca.crt\""))
        #expect(finding.message.contains("keys: ca.pem, tls.crt"))
    }

    @Test func emptyObjectSaysItHasNoKeys() throws {
        let source = resolve(store: StoreSnapshot(configMaps: [Fixtures.configMap(data: [:])]))
        #expect(source.isInvalid)
        let finding = try #require(source.findings.first)
        #expect(finding.reason == .invalidCACertificateRef)
        #expect(finding.message.contains("it has no keys"))
    }

    @Test func secretWithOnlyTLSKeysIsMissingKeyAndWarnsAboutTheKey() {
        let secret = Secret(
            metadata: ObjectMeta(name: "backend-ca", namespace: "default"),
            data: ["tls.crt": Array(Self.ca.pemText.utf8), "tls.key": Array(TestPKI.privateKeyPEM().utf8)])
        let source = resolve(.secret, store: StoreSnapshot(secrets: [secret]))
        #expect(source.isInvalid)
        #expect(
            source.findings.map(\.reason).sorted { $0.rawValue < $1.rawValue } == [
                .invalidCACertificateRef, .privateKeyInBundle,
            ])
    }

    @Test(arguments: [
        (ValidationConfiguration.GroupKind(group: "example.com", kind: "CABundle"), false),
        (ValidationConfiguration.GroupKind(group: "example.com", kind: "CABundle"), true),  // allowed, not resolvable
        (ValidationConfiguration.GroupKind(group: "apps", kind: "ConfigMap"), false),
        (ValidationConfiguration.GroupKind.secret, false),  // Secret turned off by configuration
    ])
    func unsupportedKindIsInvalidKind(_ kind: ValidationConfiguration.GroupKind, _ allowCustomKind: Bool) throws {
        var configuration = ValidationConfiguration(allowedCACertificateRefKinds: [.configMap])
        if allowCustomKind { configuration.allowedCACertificateRefKinds.insert(kind) }
        let store = StoreSnapshot(
            configMaps: [Fixtures.configMap(data: ["ca.crt": Self.ca.pemText])],
            secrets: [
                Secret(
                    metadata: ObjectMeta(name: "backend-ca", namespace: "default"),
                    data: ["ca.crt": Array(Self.ca.pemText.utf8)])
            ])
        let source = resolve(kind, store: store, configuration: configuration)
        #expect(source.isInvalid)
        guard case .unsupportedKind = source.outcome else {
            Issue.record("expected .unsupportedKind, got \(source.outcome)")
            return
        }
        let finding = try #require(source.findings.first)
        #expect(source.findings.count == 1)
        #expect(finding.severity == .error)
        #expect(finding.reason == .invalidKind)
        #expect(finding.message.contains("\"\(kind.description)\""))
        #expect(finding.message.hasSuffix("supported: ConfigMap"))
    }

    @Test func bundleFindingsNameTheObjectAndKey() throws {
        let notAfter = Fixtures.now.addingTimeInterval(-86_400)
        let expired = TestPKI.certificateAuthority(
            notBefore: notAfter.addingTimeInterval(-86_400 * 30), notAfter: notAfter)
        let store = StoreSnapshot(configMaps: [Fixtures.configMap(data: ["ca.crt": expired.pemText])])
        let source = resolve(store: store)
        #expect(source.isInvalid)
        let finding = try #require(source.findings.first)
        #expect(finding.severity == .error)
        #expect(finding.reason == .expiredCertificate)
        #expect(finding.message.hasPrefix("ConfigMap \"backend-ca\" key \"ca.crt\": "))
        #expect(finding.message.contains(RFC3339.format(notAfter)))
    }

    @Test func warningsAloneDoNotMakeTheSourceInvalid() {
        let leaf = TestPKI.issue(name: "backend.example.com", by: Self.ca)
        let source = resolve(store: StoreSnapshot(configMaps: [Fixtures.configMap(data: ["ca.crt": leaf.pemText])]))
        #expect(source.findings.map(\.reason) == [.notACertificateAuthority])
        #expect(!source.isInvalid)
    }

    // MARK: Through the policy rule

    @Test func policyWithMissingConfigMapIsWarnedNotDenied() {
        let policy = Fixtures.policy(spec: Fixtures.spec())
        let store = StoreSnapshot(
            policies: [policy], services: [Fixtures.service(ports: [Service.Port(name: "https", port: 443)])])
        let diagnostics = Fixtures.validate(policy, store: store)
        #expect(
            diagnostics.contains(
                reason: .referenceNotFound, field: "spec.validation.caCertificateRefs[0]", severity: .warning),
            "\(diagnostics.details)")
        #expect(!diagnostics.contains(reason: .noValidCACertificate), "\(diagnostics.details)")
    }

    @Test func policyWithExpiredBundleIsDenied() {
        let notAfter = Fixtures.now.addingTimeInterval(-86_400)
        let expired = TestPKI.certificateAuthority(
            notBefore: notAfter.addingTimeInterval(-86_400 * 30), notAfter: notAfter)
        let policy = Fixtures.policy(spec: Fixtures.spec())
        let store = StoreSnapshot(
            policies: [policy], configMaps: [Fixtures.configMap(data: ["ca.crt": expired.pemText])],
            services: [Fixtures.service(ports: [Service.Port(name: "https", port: 443)])])
        let diagnostics = Fixtures.validate(policy, store: store)
        #expect(
            diagnostics.contains(
                reason: .expiredCertificate, field: "spec.validation.caCertificateRefs[0]", severity: .error),
            "\(diagnostics.details)")
        #expect(
            diagnostics.contains(
                reason: .noValidCACertificate, field: "spec.validation.caCertificateRefs", severity: .error),
            "\(diagnostics.details)")
    }
}
