/// Resolves one CA reference against the store and inspects its `ca.crt`.
///
/// Shared by the policy rule (admission), the resolver (runtime) and the guards, so "valid" means the same
/// thing in all three.
public struct CACertificateSource: Sendable {
    public static let key = "ca.crt"

    public enum Outcome: Sendable {
        /// The kind is not one this installation resolves.
        case unsupportedKind
        /// The object does not exist (yet): not a definite error, it may be created next.
        case notFound
        /// The store could not fetch the object (API server unreachable or slow): not checked.
        case unavailable(LookupFailure)
        case missingKey(keys: [String])
        case inspected(CABundleInspection)
    }

    public var outcome: Outcome
    public var findings: [CABundleInspection.Finding]

    /// Definitely unusable (absent objects are not: they may be created next).
    public var isInvalid: Bool {
        switch outcome {
        case .unsupportedKind, .missingKey: true
        case .notFound, .unavailable: false
        case .inspected(let inspection): inspection.hasErrors
        }
    }

    public var inspection: CABundleInspection? {
        if case .inspected(let inspection) = outcome { return inspection }
        return nil
    }

    public static func resolve(
        _ groupKind: ValidationConfiguration.GroupKind,
        name: String,
        namespace: String,
        in context: ValidationContext
    ) -> CACertificateSource {
        let allowed = context.configuration.allowedCACertificateRefKinds
        guard allowed.contains(groupKind), groupKind == .configMap || groupKind == .secret else {
            let supported = allowed.filter { $0 == .configMap || $0 == .secret }.map(\.description).sorted().joined(
                separator: ", ")
            return CACertificateSource(
                outcome: .unsupportedKind,
                findings: [
                    .init(
                        severity: .error, reason: .invalidKind,
                        message:
                            "Invalid value: \(GoQuoting.quote(groupKind.description)): unsupported kind for CA certificates; supported: \(supported)"
                    )
                ])
        }
        let kindName = "\(groupKind.kind) \(GoQuoting.quote(name))"
        let bytes: [UInt8]?
        let keys: [String]
        var findings: [CABundleInspection.Finding] = []
        if groupKind == .configMap {
            guard let configMap = context.store.configMap(namespace: namespace, name: name) else {
                return notFound(groupKind, name, kindName, namespace, context)
            }
            bytes = configMap.bytes(forKey: key)
            keys = configMap.keys
        } else {
            guard let secret = context.store.secret(namespace: namespace, name: name) else {
                return notFound(groupKind, name, kindName, namespace, context)
            }
            bytes = secret.data[key]
            keys = secret.keys
            if let keyName = secret.keys.first(where: { $0 == "tls.key" || $0.hasSuffix(".key") }) {
                findings.append(
                    .init(
                        severity: .warning, reason: .privateKeyInBundle,
                        message:
                            "\(kindName) also holds a private key (\(keyName)); backendtls reads only ca.crt, but a Secret holding just the CA is safer to share"
                    ))
            }
        }
        guard let bytes else {
            let listed = keys.isEmpty ? "it has no keys" : "keys: \(keys.joined(separator: ", "))"
            findings.append(
                .init(
                    severity: .error, reason: .invalidCACertificateRef,
                    message: "\(kindName) has no key \"ca.crt\" (\(listed))"))
            return CACertificateSource(outcome: .missingKey(keys: keys), findings: findings)
        }
        let inspection = context.inspector.inspect(bytes, now: context.now)
        for finding in inspection.findings {
            findings.append(
                .init(
                    severity: finding.severity, reason: finding.reason,
                    message: "\(kindName) key \"ca.crt\": \(finding.message)"))
        }
        return CACertificateSource(outcome: .inspected(inspection), findings: findings)
    }

    private static func notFound(
        _ groupKind: ValidationConfiguration.GroupKind,
        _ name: String,
        _ kindName: String,
        _ namespace: String,
        _ context: ValidationContext
    ) -> CACertificateSource {
        if let failure = context.store.lookupFailure(groupKind, namespace: namespace, name: name) {
            return CACertificateSource(
                outcome: .unavailable(failure),
                findings: [
                    .init(
                        severity: failure.deny ? .error : .warning, reason: .lookupFailed,
                        message:
                            "\(kindName) in namespace \(GoQuoting.quote(namespace)) could not be read from the Kubernetes API, so its CA bundle was not checked: \(failure.message)"
                    )
                ])
        }
        return CACertificateSource(
            outcome: .notFound,
            findings: [
                .init(
                    severity: .warning, reason: .referenceNotFound,
                    message:
                        "\(kindName) not found in namespace \(GoQuoting.quote(namespace)); until it exists, connections using this policy fail closed"
                )
            ])
    }
}
