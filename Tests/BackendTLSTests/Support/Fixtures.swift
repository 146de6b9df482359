import BackendTLS
import Foundation

/// Shared builders for unit tests: a fixed clock, JSON from text, policies and contexts in one line.
enum Fixtures {
    /// Every unit test judges time against this instant (STYLE §9: no `Date()` in tests).
    static let now = RFC3339.parse("2026-06-01T00:00:00Z")!

    static func json(_ text: String) -> JSONValue {
        do {
            return try JSONParser.parse(text)
        } catch {
            fatalError("fixture JSON does not parse: \(error)\n\(text)")
        }
    }

    /// A BackendTLSPolicy object with the given `spec` JSON text.
    static func policyJSON(
        name: String = "policy",
        namespace: String = "default",
        version: BackendTLSPolicyVersion = .v1,
        created: String? = nil,
        spec: String
    ) -> JSONValue {
        let timestamp = created.map { #","creationTimestamp":"\#($0)""# } ?? ""
        return json(
            #"{"apiVersion":"\#(version.apiVersion)","kind":"BackendTLSPolicy","metadata":{"name":"\#(name)","namespace":"\#(namespace)"\#(timestamp)},"spec":\#(spec)}"#
        )
    }

    static func policy(
        name: String = "policy",
        namespace: String = "default",
        version: BackendTLSPolicyVersion = .v1,
        created: String? = nil,
        spec: String
    ) -> BackendTLSPolicy {
        try! BackendTLSPolicy(
            json: policyJSON(name: name, namespace: namespace, version: version, created: created, spec: spec))
    }

    /// A v1 spec targeting one Service, trusting one ConfigMap, with everything defaulted.
    static func spec(
        service: String = "backend",
        sectionName: String? = nil,
        caConfigMap: String? = "backend-ca",
        wellKnown: String? = nil,
        hostname: String = "backend.example.com",
        extraValidation: String = "",
        options: String? = nil
    ) -> String {
        let section = sectionName.map { #","sectionName":"\#($0)""# } ?? ""
        var validation = [#""hostname":"\#(hostname)""#]
        if let caConfigMap {
            validation.append(#""caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"\#(caConfigMap)"}]"#)
        }
        if let wellKnown { validation.append(#""wellKnownCACertificates":"\#(wellKnown)""#) }
        if !extraValidation.isEmpty { validation.append(extraValidation) }
        let optionsText = options.map { #","options":\#($0)"# } ?? ""
        return
            #"{"targetRefs":[{"group":"","kind":"Service","name":"\#(service)"\#(section)}],"validation":{\#(validation.joined(separator: ","))}\#(optionsText)}"#
    }

    static func service(name: String = "backend", namespace: String = "default", ports: [Service.Port]) -> Service {
        Service(metadata: ObjectMeta(name: name, namespace: namespace), ports: ports)
    }

    static func configMap(
        name: String = "backend-ca", namespace: String = "default", data: [String: String],
        labels: [String: String] = [:]
    ) -> ConfigMap {
        ConfigMap(metadata: ObjectMeta(name: name, namespace: namespace, labels: labels), data: data)
    }

    static func context(
        _ store: StoreSnapshot = StoreSnapshot(),
        configuration: ValidationConfiguration = .init(),
        operation: ValidationContext.Operation = .create,
        oldObject: JSONValue? = nil,
        now: Date = Fixtures.now
    ) -> ValidationContext {
        ValidationContext(
            store: store, now: now, configuration: configuration, operation: operation, oldObject: oldObject)
    }

    /// Runs the full rule set (strict, deny unless configured otherwise).
    static func validate(
        _ policy: BackendTLSPolicy,
        store: StoreSnapshot = StoreSnapshot(),
        configuration: ValidationConfiguration = .init(),
        operation: ValidationContext.Operation = .create,
        oldObject: JSONValue? = nil
    ) -> [Diagnostic] {
        PolicyValidator(configuration: configuration)
            .validate(
                policy, in: context(store, configuration: configuration, operation: operation, oldObject: oldObject))
    }
}

extension [Diagnostic] {
    var errors: [Diagnostic] { filter(\.isError) }
    var warnings: [Diagnostic] { filter { !$0.isError } }
    /// `field: message` lines, for readable expectation failures.
    var details: [String] { map(\.detail) }

    func contains(reason: Diagnostic.Reason, field: String? = nil, severity: Diagnostic.Severity? = nil) -> Bool {
        contains {
            $0.reason == reason && (field == nil || $0.field == field) && (severity == nil || $0.severity == severity)
        }
    }
}
