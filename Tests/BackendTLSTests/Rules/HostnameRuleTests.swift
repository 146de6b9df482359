import BackendTLS
import TestCertificates
import Testing

/// `HostnameRule`: the SNI must be a DNS name, never an IP literal, and carry no trailing dot.
struct HostnameRuleTests {
    private static let field = "spec.validation.hostname"
    private static let caPEM = TestPKI.certificateAuthority(name: "tls-backend CA").pem

    /// A Service with an `https` port and its CA ConfigMap, so only the hostname can be wrong.
    private static let store: StoreSnapshot = {
        var store = StoreSnapshot()
        store.insert(Fixtures.service(name: "tls-backend", ports: [Service.Port(name: "https", port: 443)]))
        store.insert(Fixtures.configMap(name: "tls-backend-ca", data: ["ca.crt": caPEM]))
        return store
    }()

    private func validate(hostname: String) -> [Diagnostic] {
        let policy = Fixtures.policy(
            name: "tls-backend",
            spec: Fixtures.spec(service: "tls-backend", caConfigMap: "tls-backend-ca", hostname: hostname))
        return Fixtures.validate(policy, store: Self.store)
    }

    private func strictFinding(_ diagnostics: [Diagnostic]) -> Diagnostic? {
        diagnostics.first { $0.reason == .invalid && $0.field == Self.field }
    }

    @Test(arguments: ["10.0.0.1", "192.168.1.254", "::1", "[2001:db8::1]", "2001:db8::", "::ffff:10.0.0.1"])
    func rejectsIPLiteralHostname(_ hostname: String) throws {
        let diagnostics = validate(hostname: hostname)
        let finding = try #require(strictFinding(diagnostics), "\(diagnostics.details)")
        #expect(finding.severity == .error)
        #expect(
            finding.message.contains(
                "Invalid value: \"\(hostname)\": an IP address cannot be the TLS server name (RFC 6066 forbids IP literals in SNI)"
            ))
    }

    @Test func rejectsIPv6LiteralHostname() throws {
        let diagnostics = validate(hostname: "[2001:db8::1]")
        #expect(diagnostics.contains(reason: .invalid, field: Self.field, severity: .error))
        // The CRD's pattern rejects the colons too; both findings are reported.
        #expect(diagnostics.contains(reason: .fieldValueInvalid, field: Self.field, severity: .error))
    }

    @Test func rejectsTrailingDot() throws {
        let diagnostics = validate(hostname: "tls-backend.example.com.")
        let finding = try #require(strictFinding(diagnostics), "\(diagnostics.details)")
        #expect(finding.severity == .error)
        #expect(
            finding.message.contains(
                "Invalid value: \"tls-backend.example.com.\": remove the trailing dot: SNI carries host names without it"
            ))
        #expect(!finding.message.contains("IP address"))
    }

    @Test(arguments: [
        "tls-backend.example.com", "tls-backend.default.svc.cluster.local", "backend", "1.2.3.4.example.com",
        "1.2.3", "10.0.0.1.nip.io",
    ])
    func acceptsDNSName(_ hostname: String) {
        let diagnostics = validate(hostname: hostname)
        #expect(strictFinding(diagnostics) == nil, "\(diagnostics.details)")
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    @Test func reportsLegacyPathForV1Alpha2() throws {
        let policy = Fixtures.policy(
            name: "tls-backend", version: .v1alpha2,
            spec:
                #"{"targetRef":{"group":"","kind":"Service","name":"tls-backend"},"tls":{"caCertRefs":[{"group":"","kind":"ConfigMap","name":"tls-backend-ca"}],"hostname":"10.0.0.1"}}"#
        )
        let diagnostics = Fixtures.validate(policy, store: Self.store)
        let finding = try #require(
            diagnostics.first { $0.reason == .invalid && $0.field == "spec.tls.hostname" }, "\(diagnostics.details)")
        #expect(finding.severity == .error)
        #expect(finding.message.contains("an IP address cannot be the TLS server name"))
    }
}
