import BackendTLS
import Testing

/// `RuleSet.policyRules(enforcement:)`: `strict` adds our rules to `upstream`; `warn` turns them into warnings.
struct RuleSetRulesTests {
    /// A policy that trips most strict rules and no upstream rule.
    private static let brokenSpec = Fixtures.spec(
        service: "tls-backend", sectionName: "443", caConfigMap: "tls-backend-ca", hostname: "10.0.0.1",
        extraValidation: #""subjectAltNames":[{"type":"URI","uri":"spiffe://cluster.local"}]"#,
        options: #"{"backendtls.dev/min-version":"1.2"}"#)

    /// Each strict error `brokenSpec` triggers, as (reason, field).
    private static let strictErrors: [(Diagnostic.Reason, String)] = [
        (.invalid, "spec.validation.hostname"),
        (.invalid, "spec.validation.subjectAltNames[0].uri"),
        (.targetNotFound, "spec.targetRefs[0].sectionName"),
        (.invalidCACertificateRef, "spec.validation.caCertificateRefs[0]"),
        (.noValidCACertificate, "spec.validation.caCertificateRefs"),
        (.invalidOption, "spec.options[backendtls.dev/min-version]"),
        (.conflicted, "spec.targetRefs[0]"),
    ]

    private static let store: StoreSnapshot = {
        var store = StoreSnapshot()
        store.insert(
            Fixtures.service(
                name: "tls-backend",
                ports: [Service.Port(name: "https", port: 443), Service.Port(name: "metrics", port: 9090)]))
        store.insert(Fixtures.configMap(name: "tls-backend-ca", data: ["tls.crt": "not here"]))
        store.insert(
            Fixtures.policy(
                name: "tls-backend-primary", created: "2026-01-10T08:00:00Z",
                spec: Fixtures.spec(
                    service: "tls-backend", sectionName: "443", caConfigMap: "tls-backend-ca",
                    hostname: "tls-backend.example.com")))
        return store
    }()

    private func validate(_ spec: String, ruleSet: RuleSet, enforcement: Enforcement) -> [Diagnostic] {
        let policy = Fixtures.policy(name: "tls-backend", spec: spec)
        return Fixtures.validate(
            policy, store: Self.store,
            configuration: ValidationConfiguration(ruleSet: ruleSet, enforcement: enforcement))
    }

    @Test func strictDenyReportsStrictFindingsAsErrors() {
        let diagnostics = validate(Self.brokenSpec, ruleSet: .strict, enforcement: .deny)
        for (reason, field) in Self.strictErrors {
            #expect(
                diagnostics.contains(reason: reason, field: field, severity: .error),
                "\(reason) at \(field): \(diagnostics.details)")
        }
    }

    @Test func warnEnforcementTurnsEveryStrictFindingIntoAWarning() throws {
        let diagnostics = validate(Self.brokenSpec, ruleSet: .strict, enforcement: .warn)
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.errors.details)")
        for (reason, field) in Self.strictErrors {
            #expect(
                diagnostics.contains(reason: reason, field: field, severity: .warning),
                "\(reason) at \(field): \(diagnostics.details)")
        }
        let hostname = try #require(diagnostics.first { $0.field == "spec.validation.hostname" })
        #expect(hostname.message.contains(#"Invalid value: "10.0.0.1": an IP address cannot be the TLS server name"#))
        // Warnings the strict rules emit anyway stay warnings.
        #expect(diagnostics.contains(reason: .hostnameNotIdentity, severity: .warning))
    }

    @Test func warnEnforcementKeepsUpstreamErrors() throws {
        let spec =
            #"{"targetRefs":[{"group":"","kind":"Service","name":"tls-backend"}],"validation":{"caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"tls-backend-ca"}]}}"#
        let diagnostics = validate(spec, ruleSet: .strict, enforcement: .warn)
        let required = try #require(
            diagnostics.first { $0.field == "spec.validation.hostname" && $0.isError }, "\(diagnostics.details)")
        #expect(required.reason == .fieldValueRequired)
        #expect(required.message == "Required value")
        // The strict findings on the same object are still there, as warnings.
        #expect(diagnostics.contains(reason: .invalidCACertificateRef, severity: .warning))
        #expect(diagnostics.errors.allSatisfy { $0.reason != .invalidCACertificateRef })
    }

    @Test func upstreamRuleSetDropsStrictFindings() {
        let diagnostics = validate(Self.brokenSpec, ruleSet: .upstream, enforcement: .deny)
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    @Test func upstreamRuleSetIgnoresEnforcement() {
        #expect(validate(Self.brokenSpec, ruleSet: .upstream, enforcement: .warn).isEmpty)
    }

    @Test func upstreamRuleSetStillDenies() throws {
        let spec =
            #"{"targetRefs":[{"group":"","kind":"Service","name":"tls-backend"}],"validation":{"hostname":"10.0.0.1"}}"#
        let diagnostics = validate(spec, ruleSet: .upstream, enforcement: .deny)
        let finding = try #require(diagnostics.errors.first, "\(diagnostics.details)")
        #expect(finding.field == "spec.validation")
        #expect(finding.message.contains("must specify either CACertificateRefs or WellKnownCACertificates"))
        #expect(!diagnostics.contains { $0.field == "spec.validation.hostname" })
    }

    @Test func strictAcceptsAValidPolicy() {
        let spec = Fixtures.spec(
            service: "tls-backend", sectionName: "metrics", caConfigMap: nil, wellKnown: "System",
            hostname: "tls-backend.example.com")
        for enforcement in Enforcement.allCases {
            let diagnostics = validate(spec, ruleSet: .strict, enforcement: enforcement)
            #expect(diagnostics.isEmpty, "\(enforcement): \(diagnostics.details)")
        }
    }
}
