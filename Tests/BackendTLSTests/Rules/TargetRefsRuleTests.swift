import BackendTLS
import TestCertificates
import Testing

/// `TargetRefsRule` and `EditDistance`: one Service target, whose `sectionName` names a TCP port.
struct TargetRefsRuleTests {
    private static let caPEM = TestPKI.certificateAuthority(name: "tls-backend CA").pem

    /// The usual backend: a named HTTPS port and a named metrics port.
    private static let namedPorts = [Service.Port(name: "https", port: 443), Service.Port(name: "metrics", port: 9090)]

    private static func store(ports: [Service.Port]?) -> StoreSnapshot {
        var store = StoreSnapshot()
        if let ports { store.insert(Fixtures.service(name: "tls-backend", ports: ports)) }
        store.insert(Fixtures.configMap(name: "tls-backend-ca", data: ["ca.crt": caPEM]))
        return store
    }

    private func validate(
        sectionName: String? = nil,
        ports: [Service.Port]? = Self.namedPorts,
        configuration: ValidationConfiguration = .init()
    ) -> [Diagnostic] {
        let policy = Fixtures.policy(
            name: "tls-backend",
            spec: Fixtures.spec(
                service: "tls-backend", sectionName: sectionName, caConfigMap: "tls-backend-ca",
                hostname: "tls-backend.example.com"))
        return Fixtures.validate(policy, store: Self.store(ports: ports), configuration: configuration)
    }

    /// A policy whose `targetRefs` is the given JSON array items.
    private func validate(targetRefs: [String], configuration: ValidationConfiguration = .init()) -> [Diagnostic] {
        let policy = Fixtures.policy(
            name: "tls-backend",
            spec:
                #"{"targetRefs":[\#(targetRefs.joined(separator: ","))],"validation":{"hostname":"tls-backend.example.com","caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"tls-backend-ca"}]}}"#
        )
        return Fixtures.validate(policy, store: Self.store(ports: Self.namedPorts), configuration: configuration)
    }

    // MARK: Number of targets

    @Test func warnsOnMoreThanOneTargetRef() throws {
        let diagnostics = validate(targetRefs: [
            #"{"group":"","kind":"Service","name":"tls-backend","sectionName":"https"}"#,
            #"{"group":"","kind":"Service","name":"tls-backend","sectionName":"metrics"}"#,
        ])
        let finding = try #require(
            diagnostics.first { $0.reason == .multipleTargets && $0.field == "spec.targetRefs" },
            "\(diagnostics.details)")
        #expect(finding.severity == .warning)
        #expect(
            finding.message.contains(
                "2 targets: Gateway API says implementations SHOULD NOT support more than one targetRef"))
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
    }

    /// An entry that is not an object (a type error of its own) keeps its place: the findings on the entries after it
    /// name their own index, not one shifted down.
    @Test func findingsAfterANonObjectEntryNameTheirOwnIndex() throws {
        let diagnostics = validate(targetRefs: [
            #""tls-backend""#,
            #"{"group":"","kind":"Service","name":"tls-backend","sectionName":"443"}"#,
        ])
        let finding = try #require(
            diagnostics.first { $0.field.hasSuffix(".sectionName") && $0.message.contains("\"443\"") },
            "\(diagnostics.details)")
        #expect(finding.field == "spec.targetRefs[1].sectionName")
        #expect(!diagnostics.contains { $0.field.hasPrefix("spec.targetRefs[0].") }, "\(diagnostics.details)")
    }

    @Test func singleTargetRefHasNoMultipleTargetsWarning() {
        let diagnostics = validate(sectionName: "https")
        #expect(!diagnostics.contains(reason: .multipleTargets))
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    // MARK: Kinds

    @Test func warnsOnNonServiceKind() throws {
        let diagnostics = validate(targetRefs: [
            #"{"group":"multicluster.x-k8s.io","kind":"ServiceImport","name":"tls-backend"}"#
        ])
        let finding = try #require(
            diagnostics.first { $0.reason == .unknownTargetKind && $0.field == "spec.targetRefs[0]" },
            "\(diagnostics.details)")
        #expect(finding.severity == .warning)
        #expect(
            finding.message.contains(#"target kind "ServiceImport.multicluster.x-k8s.io" is not a core Service"#))
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
    }

    @Test func serviceInAnotherGroupIsNotACoreService() {
        let diagnostics = validate(targetRefs: [#"{"group":"example.com","kind":"Service","name":"tls-backend"}"#])
        #expect(diagnostics.contains(reason: .unknownTargetKind, field: "spec.targetRefs[0]", severity: .warning))
    }

    @Test func acceptsConfiguredKnownTargetKind() {
        let configuration = ValidationConfiguration(
            knownTargetKinds: [.init(parsing: "ServiceImport.multicluster.x-k8s.io")])
        let diagnostics = validate(
            targetRefs: [#"{"group":"multicluster.x-k8s.io","kind":"ServiceImport","name":"tls-backend"}"#],
            configuration: configuration)
        #expect(!diagnostics.contains(reason: .unknownTargetKind), "\(diagnostics.details)")
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    // MARK: Service presence

    @Test func warnsWhenServiceIsNotInStore() throws {
        let diagnostics = validate(ports: nil)
        let finding = try #require(
            diagnostics.first { $0.reason == .targetNotFound && $0.field == "spec.targetRefs[0]" },
            "\(diagnostics.details)")
        #expect(finding.severity == .warning)
        #expect(
            finding.message.contains("Service default/tls-backend not found; the policy takes effect once it exists"))
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.details)")
    }

    @Test func noTargetNotFoundWhenServiceExists() {
        let diagnostics = validate()
        #expect(!diagnostics.contains(reason: .targetNotFound), "\(diagnostics.details)")
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    // MARK: sectionName

    struct SectionCase: Sendable, CustomTestStringConvertible {
        var sectionName: String
        var ports: [Service.Port]
        var hint: String
        var testDescription: String { "sectionName \(sectionName)" }
    }

    @Test(arguments: [
        SectionCase(
            sectionName: "443", ports: namedPorts,
            hint: #"sectionName is a port name — did you mean "https"?"#),
        SectionCase(
            sectionName: "8443", ports: [Service.Port(port: 8443)],
            hint: "sectionName is a port name, and port 8443 has none: name it in the Service, then use that name"),
        SectionCase(sectionName: "htps", ports: namedPorts, hint: #"did you mean "https"?"#),
        SectionCase(sectionName: "metric", ports: namedPorts, hint: #"did you mean "metrics"?"#),
        SectionCase(sectionName: "grpc", ports: namedPorts, hint: #"port names: "https", "metrics""#),
        SectionCase(sectionName: "8080", ports: namedPorts, hint: #"port names: "https", "metrics""#),
        SectionCase(
            sectionName: "tls", ports: [Service.Port(port: 8443)],
            hint: "the Service's ports have no names, so only a policy without sectionName can attach"),
    ])
    func rejectsSectionNameThatIsNotAPortName(_ testCase: SectionCase) throws {
        let diagnostics = validate(sectionName: testCase.sectionName, ports: testCase.ports)
        let finding = try #require(
            diagnostics.first { $0.field == "spec.targetRefs[0].sectionName" && $0.isError }, "\(diagnostics.details)")
        #expect(finding.reason == .targetNotFound)
        #expect(
            finding.message
                == "Invalid value: \"\(testCase.sectionName)\": sectionName \"\(testCase.sectionName)\" matches no port name of Service default/tls-backend; \(testCase.hint)"
        )
    }

    @Test func portNumberHintQuotesTheIssueWording() throws {
        let diagnostics = validate(sectionName: "443")
        let finding = try #require(diagnostics.first { $0.field == "spec.targetRefs[0].sectionName" })
        #expect(
            finding.message.contains(
                #"sectionName "443" matches no port name of Service default/tls-backend; sectionName is a port name — did you mean "https"?"#
            ))
    }

    @Test func acceptsSectionNameThatIsAPortName() {
        let diagnostics = validate(sectionName: "https")
        #expect(!diagnostics.contains { $0.field.hasPrefix("spec.targetRefs") }, "\(diagnostics.details)")
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }

    // MARK: UDP

    @Test func rejectsUDPPort() throws {
        let ports = [Service.Port(name: "https", port: 443), Service.Port(name: "dns", port: 53, protocol: "UDP")]
        let diagnostics = validate(sectionName: "dns", ports: ports)
        let finding = try #require(
            diagnostics.first { $0.reason == .invalid && $0.field == "spec.targetRefs[0].sectionName" },
            "\(diagnostics.details)")
        #expect(finding.severity == .error)
        #expect(
            finding.message
                == #"Invalid value: "dns": port "dns" of Service default/tls-backend is UDP; BackendTLSPolicy applies to TCP only (GEP-1897)"#
        )
    }

    @Test func acceptsTCPPortOfMixedService() {
        let ports = [Service.Port(name: "https", port: 443), Service.Port(name: "dns", port: 53, protocol: "UDP")]
        let diagnostics = validate(sectionName: "https", ports: ports)
        #expect(!diagnostics.contains(reason: .invalid), "\(diagnostics.details)")
    }

    @Test func rejectsWholeServicePolicyOnAllUDPService() throws {
        let ports = [
            Service.Port(name: "dns", port: 53, protocol: "UDP"),
            Service.Port(name: "quic", port: 443, protocol: "UDP"),
        ]
        let diagnostics = validate(ports: ports)
        let finding = try #require(
            diagnostics.first { $0.reason == .invalid && $0.field == "spec.targetRefs[0]" }, "\(diagnostics.details)")
        #expect(finding.severity == .error)
        #expect(
            finding.message.contains(
                "every port of Service default/tls-backend is UDP; BackendTLSPolicy applies to TCP only (GEP-1897)"))
    }

    @Test func acceptsWholeServicePolicyOnMixedService() {
        let ports = [Service.Port(name: "https", port: 443), Service.Port(name: "dns", port: 53, protocol: "UDP")]
        let diagnostics = validate(ports: ports)
        #expect(!diagnostics.contains(reason: .invalid), "\(diagnostics.details)")
        #expect(diagnostics.isEmpty, "\(diagnostics.details)")
    }
}
