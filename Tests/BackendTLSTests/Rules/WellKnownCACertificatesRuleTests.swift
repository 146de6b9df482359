import BackendTLS
import Testing

/// `WellKnownCACertificatesRule`: the value must name a trust set this installation resolves.
struct WellKnownCACertificatesRuleTests {
    private static let field = "spec.validation.wellKnownCACertificates"

    private func validate(_ value: String, configuration: ValidationConfiguration = .init()) -> [Diagnostic] {
        var store = StoreSnapshot()
        store.insert(Fixtures.service(name: "tls-backend", ports: [Service.Port(name: "https", port: 443)]))
        let policy = Fixtures.policy(
            name: "tls-backend",
            spec: Fixtures.spec(
                service: "tls-backend", caConfigMap: nil, wellKnown: value, hostname: "api.example.com"))
        return Fixtures.validate(policy, store: store, configuration: configuration)
    }

    @Test func acceptsSystem() {
        let diagnostics = validate("System")
        #expect(!diagnostics.contains { $0.field == Self.field }, "\(diagnostics.details)")
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    @Test func rejectsUnknownPrefixedName() throws {
        let diagnostics = validate("mycompany.com/x")
        let finding = try #require(
            diagnostics.first { $0.reason == .invalid && $0.field == Self.field }, "\(diagnostics.details)")
        #expect(finding.severity == .error)
        #expect(
            finding.message
                == #"Invalid value: "mycompany.com/x": not a CA certificate set this installation knows (known: "System"); the policy would be Accepted=False/Invalid"#
        )
        // The v1.5+ CRD pattern accepts the value: only the strict rule objects.
        #expect(diagnostics.errors.count == 1, "\(diagnostics.details)")
    }

    @Test func acceptsConfiguredPrefixedName() {
        let configuration = ValidationConfiguration(knownWellKnownCACertificates: ["System", "mycompany.com/x"])
        let diagnostics = validate("mycompany.com/x", configuration: configuration)
        #expect(!diagnostics.contains(reason: .invalid, field: Self.field), "\(diagnostics.details)")
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    @Test func listsEveryConfiguredNameWhenRejecting() throws {
        let configuration = ValidationConfiguration(knownWellKnownCACertificates: ["System", "mycompany.com/internal"])
        let diagnostics = validate("mycompany.com/x", configuration: configuration)
        let finding = try #require(diagnostics.first { $0.reason == .invalid && $0.field == Self.field })
        #expect(finding.message.contains(#"(known: "System", "mycompany.com/internal")"#))
    }
}
