import BackendTLS
import Testing

/// `OptionsRule`: `backendtls.dev/*` keys are typed and checked, un-prefixed keys are reserved, others pass.
struct OptionsRuleTests {
    private func validate(options: String) -> [Diagnostic] {
        var store = StoreSnapshot()
        store.insert(Fixtures.service(name: "tls-backend", ports: [Service.Port(name: "https", port: 443)]))
        let policy = Fixtures.policy(
            name: "tls-backend",
            spec: Fixtures.spec(
                service: "tls-backend", caConfigMap: nil, wellKnown: "System", hostname: "tls-backend.example.com",
                options: options))
        return Fixtures.validate(policy, store: store)
    }

    @Test func acceptsEveryKnownOption() {
        let diagnostics = validate(
            options:
                #"{"backendtls.dev/min-tls-version":"1.2","backendtls.dev/max-tls-version":"1.3","backendtls.dev/alpn-protocols":"h2,http/1.1","backendtls.dev/cipher-suites":"ECDHE-RSA-AES128-GCM-SHA256","example.com/x":"anything"}"#
        )
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    @Test func rejectsInvalidVersionAtItsKey() throws {
        let diagnostics = validate(options: #"{"backendtls.dev/min-tls-version":"1.1"}"#)
        let finding = try #require(
            diagnostics.first { $0.field == "spec.options[backendtls.dev/min-tls-version]" }, "\(diagnostics.details)")
        #expect(finding.reason == .invalidOption)
        #expect(finding.severity == .error)
        #expect(finding.message == #"Invalid value: "1.1": supported values: "1.2", "1.3""#)
    }

    @Test func rejectsMinimumAboveMaximum() throws {
        let diagnostics = validate(
            options: #"{"backendtls.dev/min-tls-version":"1.3","backendtls.dev/max-tls-version":"1.2"}"#)
        let finding = try #require(
            diagnostics.first { $0.field == "spec.options[backendtls.dev/max-tls-version]" }, "\(diagnostics.details)")
        #expect(finding.reason == .invalidOption)
        #expect(finding.message.contains("must not be lower than backendtls.dev/min-tls-version (1.3)"))
    }

    @Test func rejectsUnknownOwnKeyListingKnownKeys() throws {
        let diagnostics = validate(options: #"{"backendtls.dev/min-version":"1.2"}"#)
        let finding = try #require(
            diagnostics.first { $0.field == "spec.options[backendtls.dev/min-version]" }, "\(diagnostics.details)")
        #expect(finding.reason == .invalidOption)
        #expect(finding.severity == .error)
        #expect(
            finding.message
                == #"unknown option "backendtls.dev/min-version"; known backendtls.dev/ options: backendtls.dev/min-tls-version, backendtls.dev/max-tls-version, backendtls.dev/alpn-protocols, backendtls.dev/verify-certificate-hash, backendtls.dev/cipher-suites"#
        )
    }

    @Test func warnsOnUnprefixedKey() throws {
        let diagnostics = validate(options: #"{"min-tls-version":"1.3"}"#)
        let finding = try #require(
            diagnostics.first { $0.field == "spec.options[min-tls-version]" }, "\(diagnostics.details)")
        #expect(finding.reason == .reservedOption)
        #expect(finding.severity == .warning)
        #expect(
            finding.message.contains(
                #"un-prefixed option keys are reserved for Gateway API and have no effect here; use a domain-prefixed key such as "backendtls.dev/min-tls-version""#
            ))
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
    }

    @Test func passesOtherPrefixesUntouched() {
        let diagnostics = validate(options: #"{"example.com/x":"1","gateway.envoyproxy.io/anything":"not checked"}"#)
        #expect(!diagnostics.contains { $0.field.hasPrefix("spec.options") }, "\(diagnostics.details)")
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }
}
