/// Guards writes to ConfigMaps and Secrets that hold (or are meant to hold) CA bundles (Foundation §6).
///
/// A write that would break a policy's trust is denied, naming the policies; a DELETE is never denied
/// (the namespace controller must be able to clean up) but warns; `kube-root-ca.crt` is never judged.
public struct CAObjectGuard: ValidationRule {
    public static let caBundleLabel = "backendtls.dev/ca-bundle"
    public static let rootCAConfigMapName = "kube-root-ca.crt"

    /// A ConfigMap or Secret, as the guard sees it.
    public struct Subject: Sendable {
        public var kind: ValidationConfiguration.GroupKind
        public var metadata: ObjectMeta
        /// `nil` when the object has no `ca.crt`.
        public var caBundle: [UInt8]?
        public var keys: [String]
        /// Where `ca.crt` sits, for messages: `data[ca.crt]` or `binaryData[ca.crt]`.
        public var caBundleField: String

        public init(_ configMap: ConfigMap) {
            kind = .configMap
            metadata = configMap.metadata
            caBundle = configMap.bytes(forKey: CACertificateSource.key)
            keys = configMap.keys
            caBundleField =
                configMap.data[CACertificateSource.key] == nil && caBundle != nil
                ? "binaryData[ca.crt]" : "data[ca.crt]"
        }

        public init(_ secret: Secret) {
            kind = .secret
            metadata = secret.metadata
            caBundle = secret.data[CACertificateSource.key]
            keys = secret.keys
            caBundleField = "data[ca.crt]"
        }

        public var reference: ObjectReference {
            ObjectReference(kind: kind.kind, namespace: metadata.namespace, name: metadata.displayName)
        }
    }

    public init() {}

    /// Policies in the object's namespace that reference it as a CA bundle.
    public func referencingPolicies(of subject: Subject, in store: any ObjectStore) -> [BackendTLSPolicy] {
        store.policies(referencing: subject.kind, namespace: subject.metadata.namespace, name: subject.metadata.name)
    }

    /// `subject` is the new object for CREATE/UPDATE and the old one for DELETE.
    public func validate(_ subject: Subject, in context: ValidationContext) -> [Diagnostic] {
        if subject.kind == .configMap && subject.metadata.name == Self.rootCAConfigMapName { return [] }
        let policies = referencingPolicies(of: subject, in: context.store)
        let policyList = policies.map { $0.reference.namespacedName }.sorted().joined(separator: ", ")
        let reference = subject.reference
        if context.operation == .delete {
            guard !policies.isEmpty else { return [] }
            return [
                .warning(
                    .deletesReferencedObject, "", reference,
                    "BackendTLSPolicy \(policyList) \(policies.count == 1 ? "uses" : "use") this object as CA bundle; connections using \(policies.count == 1 ? "it" : "them") will fail closed until it is restored"
                )
            ]
        }
        let labeled = subject.metadata.labels[Self.caBundleLabel] == "true"
        let denies = !policies.isEmpty || labeled
        let consequence = policies.isEmpty ? "" : " (it would break BackendTLSPolicy \(policyList))"
        guard let bundle = subject.caBundle else {
            guard denies else { return [] }
            let keys = subject.keys.isEmpty ? "it has no keys" : "keys: \(subject.keys.joined(separator: ", "))"
            return [
                .error(
                    policies.isEmpty ? .invalidCACertificateRef : .breaksPolicies, "data", reference,
                    "has no key \"ca.crt\" (\(keys))\(consequence)")
            ]
        }
        return context.inspector.inspect(bundle, now: context.now).findings.map { finding in
            let severity: Diagnostic.Severity = denies ? finding.severity : .warning
            let suffix = finding.severity == .error ? consequence : ""
            return Diagnostic(
                severity: severity, reason: finding.reason, field: subject.caBundleField, object: reference,
                message: finding.message + suffix)
        }
    }
}
