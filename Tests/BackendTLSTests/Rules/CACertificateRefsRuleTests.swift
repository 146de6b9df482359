import BackendTLS
import Foundation
import TestCertificates
import Testing

/// `CACertificateRefsRule`: supported kinds, objects that exist, a `ca.crt` key, and a bundle that inspects clean.
struct CACertificateRefsRuleTests {
    private static let caPEM = TestPKI.certificateAuthority(name: "tls-backend CA").pem
    private static let refsField = "spec.validation.caCertificateRefs"

    private static let service = Fixtures.service(name: "tls-backend", ports: [Service.Port(name: "https", port: 443)])

    private static func store(configMaps: [ConfigMap] = [], secrets: [Secret] = []) -> StoreSnapshot {
        var store = StoreSnapshot()
        store.insert(service)
        for configMap in configMaps { store.insert(configMap) }
        for secret in secrets { store.insert(secret) }
        return store
    }

    private static func ref(kind: String = "ConfigMap", group: String = "", name: String) -> String {
        #"{"group":"\#(group)","kind":"\#(kind)","name":"\#(name)"}"#
    }

    /// A policy on Service `tls-backend` whose `caCertificateRefs` is the given JSON array items.
    private func validate(
        refs: [String],
        store: StoreSnapshot,
        configuration: ValidationConfiguration = .init()
    ) -> [Diagnostic] {
        let policy = Fixtures.policy(
            name: "tls-backend",
            spec:
                #"{"targetRefs":[{"group":"","kind":"Service","name":"tls-backend"}],"validation":{"hostname":"tls-backend.example.com","caCertificateRefs":[\#(refs.joined(separator: ","))]}}"#
        )
        return Fixtures.validate(policy, store: store, configuration: configuration)
    }

    private func finding(_ diagnostics: [Diagnostic], _ reason: Diagnostic.Reason, _ field: String) -> Diagnostic? {
        diagnostics.first { $0.reason == reason && $0.field == field }
    }

    private static var validConfigMap: ConfigMap {
        Fixtures.configMap(name: "tls-backend-ca", data: ["ca.crt": caPEM])
    }

    // MARK: Passing

    @Test func acceptsConfigMapWithValidBundle() {
        let diagnostics = validate(
            refs: [Self.ref(name: "tls-backend-ca")], store: Self.store(configMaps: [Self.validConfigMap]))
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    @Test func acceptsSecretWithValidBundle() {
        let secret = Secret(
            metadata: ObjectMeta(name: "tls-backend-ca", namespace: "default"), data: ["ca.crt": Array(Self.caPEM.utf8)]
        )
        let diagnostics = validate(
            refs: [Self.ref(kind: "Secret", name: "tls-backend-ca")], store: Self.store(secrets: [secret]))
        #expect(!diagnostics.contains(reason: .invalidKind))
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    // MARK: Kinds

    @Test func rejectsUnsupportedKind() throws {
        let diagnostics = validate(
            refs: [Self.ref(kind: "InvalidKind", group: "invalid.io", name: "tls-backend-ca")],
            store: Self.store(configMaps: [Self.validConfigMap]))
        let kind = try #require(finding(diagnostics, .invalidKind, "\(Self.refsField)[0]"), "\(diagnostics.details)")
        #expect(kind.severity == .error)
        #expect(
            kind.message
                == #"Invalid value: "InvalidKind.invalid.io": unsupported kind for CA certificates; supported: ConfigMap, Secret"#
        )
        let none = try #require(finding(diagnostics, .noValidCACertificate, Self.refsField), "\(diagnostics.details)")
        #expect(none.severity == .error)
        #expect(
            none.message.contains("the only CA reference is invalid, so every connection to the backend would fail"))
    }

    @Test func rejectsSecretWhenOnlyConfigMapsAreAllowed() throws {
        let secret = Secret(
            metadata: ObjectMeta(name: "tls-backend-ca", namespace: "default"), data: ["ca.crt": Array(Self.caPEM.utf8)]
        )
        let configuration = ValidationConfiguration(allowedCACertificateRefKinds: [.configMap])
        let diagnostics = validate(
            refs: [Self.ref(kind: "Secret", name: "tls-backend-ca")], store: Self.store(secrets: [secret]),
            configuration: configuration)
        let kind = try #require(finding(diagnostics, .invalidKind, "\(Self.refsField)[0]"), "\(diagnostics.details)")
        #expect(kind.severity == .error)
        #expect(
            kind.message.contains(
                #"Invalid value: "Secret": unsupported kind for CA certificates; supported: ConfigMap"#))
        #expect(diagnostics.contains(reason: .noValidCACertificate, field: Self.refsField, severity: .error))
    }

    // MARK: Duplicates

    @Test func warnsOnDuplicateReference() throws {
        let diagnostics = validate(
            refs: [Self.ref(name: "tls-backend-ca"), Self.ref(name: "tls-backend-ca")],
            store: Self.store(configMaps: [Self.validConfigMap]))
        let duplicate = try #require(
            finding(diagnostics, .duplicateReference, "\(Self.refsField)[1]"), "\(diagnostics.details)")
        #expect(duplicate.severity == .warning)
        #expect(duplicate.message.contains("duplicates spec.validation.caCertificateRefs[0]; remove one of them"))
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
    }

    @Test func distinctReferencesAreNotDuplicates() {
        let other = Fixtures.configMap(name: "tls-backend-ca-next", data: ["ca.crt": Self.caPEM])
        let diagnostics = validate(
            refs: [Self.ref(name: "tls-backend-ca"), Self.ref(name: "tls-backend-ca-next")],
            store: Self.store(configMaps: [Self.validConfigMap, other]))
        #expect(!diagnostics.contains(reason: .duplicateReference))
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    // Bug: a duplicate entry is skipped before it is counted as invalid, so two copies of one invalid ref
    // (duplicates are schema-valid: the list is atomic) leave invalidCount (1) below refs.count (2) and
    // NoValidCACertificate is never reported, although every reference is invalid.
    @Test func duplicateOfInvalidReferenceStillCountsTowardsNoValidCACertificate() {
        let noKey = Fixtures.configMap(name: "tls-backend-ca", data: ["tls.crt": Self.caPEM])
        let diagnostics = validate(
            refs: [Self.ref(name: "tls-backend-ca"), Self.ref(name: "tls-backend-ca")],
            store: Self.store(configMaps: [noKey]))
        #expect(diagnostics.contains(reason: .invalidCACertificateRef, field: "\(Self.refsField)[0]"))
        #expect(
            diagnostics.contains(reason: .noValidCACertificate, field: Self.refsField, severity: .error),
            "\(diagnostics.details)")
    }

    // MARK: Absent objects

    @Test func warnsOnlyWhenReferencedObjectIsAbsent() throws {
        let diagnostics = validate(refs: [Self.ref(name: "tls-backend-ca")], store: Self.store())
        let absent = try #require(
            finding(diagnostics, .referenceNotFound, "\(Self.refsField)[0]"), "\(diagnostics.details)")
        #expect(absent.severity == .warning)
        #expect(absent.message.contains(#"ConfigMap "tls-backend-ca" not found in namespace "default""#))
        #expect(!diagnostics.contains(reason: .noValidCACertificate))
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
    }

    // MARK: ca.crt

    @Test func rejectsConfigMapWithoutCACrtNamingExistingKeys() throws {
        let configMap = Fixtures.configMap(name: "tls-backend-ca", data: ["tls.crt": Self.caPEM, "ca.pem": Self.caPEM])
        let diagnostics = validate(refs: [Self.ref(name: "tls-backend-ca")], store: Self.store(configMaps: [configMap]))
        let missing = try #require(
            finding(diagnostics, .invalidCACertificateRef, "\(Self.refsField)[0]"), "\(diagnostics.details)")
        #expect(missing.severity == .error)
        #expect(missing.message == #"ConfigMap "tls-backend-ca" has no key "ca.crt" (keys: ca.pem, tls.crt)"#)
        #expect(diagnostics.contains(reason: .noValidCACertificate, field: Self.refsField, severity: .error))
    }

    @Test func rejectsEmptyConfigMap() throws {
        let configMap = Fixtures.configMap(name: "tls-backend-ca", data: [:])
        let diagnostics = validate(refs: [Self.ref(name: "tls-backend-ca")], store: Self.store(configMaps: [configMap]))
        let missing = try #require(
            finding(diagnostics, .invalidCACertificateRef, "\(Self.refsField)[0]"), "\(diagnostics.details)")
        #expect(missing.message.contains(#"ConfigMap "tls-backend-ca" has no key "ca.crt" (it has no keys)"#))
    }

    @Test func rejectsExpiredBundle() throws {
        let expired = TestPKI.certificateAuthority(
            name: "Expired tls-backend CA", notBefore: Fixtures.now.addingTimeInterval(-86_400 * 400),
            notAfter: Fixtures.now.addingTimeInterval(-86_400))
        let configMap = Fixtures.configMap(name: "tls-backend-ca", data: ["ca.crt": expired.pem])
        let diagnostics = validate(refs: [Self.ref(name: "tls-backend-ca")], store: Self.store(configMaps: [configMap]))
        let expiry = try #require(
            finding(diagnostics, .expiredCertificate, "\(Self.refsField)[0]"), "\(diagnostics.details)")
        #expect(expiry.severity == .error)
        #expect(expiry.message.hasPrefix(#"ConfigMap "tls-backend-ca" key "ca.crt": the only certificate"#))
        #expect(diagnostics.contains(reason: .noValidCACertificate, field: Self.refsField, severity: .error))
    }

    // MARK: NoValidCACertificate

    @Test func reportsNoValidCACertificateWhenAllRefsAreInvalid() throws {
        let noKey = Fixtures.configMap(name: "tls-backend-ca", data: ["tls.crt": Self.caPEM])
        let diagnostics = validate(
            refs: [Self.ref(name: "tls-backend-ca"), Self.ref(kind: "InvalidKind", group: "invalid.io", name: "ca")],
            store: Self.store(configMaps: [noKey]))
        #expect(diagnostics.contains(reason: .invalidCACertificateRef, field: "\(Self.refsField)[0]"))
        #expect(diagnostics.contains(reason: .invalidKind, field: "\(Self.refsField)[1]"))
        let none = try #require(finding(diagnostics, .noValidCACertificate, Self.refsField), "\(diagnostics.details)")
        #expect(none.severity == .error)
        #expect(
            none.message.contains(
                "none of the 2 CA references is valid, so every connection to the backend would fail (Accepted=False/NoValidCACertificate)"
            ))
    }

    @Test func oneValidRefAvoidsNoValidCACertificate() {
        let noKey = Fixtures.configMap(name: "tls-backend-ca-old", data: ["tls.crt": Self.caPEM])
        let diagnostics = validate(
            refs: [Self.ref(name: "tls-backend-ca"), Self.ref(name: "tls-backend-ca-old")],
            store: Self.store(configMaps: [Self.validConfigMap, noKey]))
        #expect(diagnostics.contains(reason: .invalidCACertificateRef, field: "\(Self.refsField)[1]", severity: .error))
        #expect(!diagnostics.contains(reason: .noValidCACertificate), "\(diagnostics.details)")
    }
}
