/// A BackendTLSPolicy of any served version, in one shape.
///
/// Built leniently from the raw object: fields that are missing or of the wrong type become empty here and
/// are reported by the schema validator in the API server's words. `raw` keeps the object as received,
/// because defaulting patches the raw JSON, not this model.
public struct BackendTLSPolicy: Sendable, Hashable {
    public var version: BackendTLSPolicyVersion
    public var metadata: ObjectMeta
    public var targetRefs: [TargetReference]
    public var validation: Validation
    /// `spec.options` in document order (v1alpha3 v1.2+ and v1).
    public var options: [(key: String, value: String)]
    public var raw: JSONValue

    public var paths: BackendTLSPolicyFieldPaths { version.paths }

    public init(
        version: BackendTLSPolicyVersion,
        metadata: ObjectMeta,
        targetRefs: [TargetReference],
        validation: Validation,
        options: [(key: String, value: String)],
        raw: JSONValue
    ) {
        self.version = version
        self.metadata = metadata
        self.targetRefs = targetRefs
        self.validation = validation
        self.options = options
        self.raw = raw
    }

    public var reference: ObjectReference {
        ObjectReference(kind: "BackendTLSPolicy", namespace: metadata.namespace, name: metadata.displayName)
    }

    public struct TargetReference: Sendable, Hashable {
        public var group: String?
        public var kind: String?
        public var name: String?
        public var sectionName: String?
        /// v1alpha2 only; later versions cannot name another namespace.
        public var namespace: String?

        public init(group: String?, kind: String?, name: String?, sectionName: String? = nil, namespace: String? = nil)
        {
            self.group = group
            self.kind = kind
            self.name = name
            self.sectionName = sectionName
            self.namespace = namespace
        }

        /// `sectionName` as CEL treats it: empty counts as absent.
        public var effectiveSectionName: String? {
            guard let sectionName, !sectionName.isEmpty else { return nil }
            return sectionName
        }

        public var isCoreService: Bool { (group ?? "").isEmpty && kind == "Service" }
    }

    public struct CertificateReference: Sendable, Hashable {
        public var group: String?
        public var kind: String?
        public var name: String?

        public init(group: String?, kind: String?, name: String?) {
            self.group = group
            self.kind = kind
            self.name = name
        }

        /// `group` with the API's documented default (core) applied.
        public var effectiveGroup: String { group ?? "" }
    }

    public struct SubjectAltName: Sendable, Hashable {
        public var type: String?
        public var hostname: String?
        public var uri: String?

        public init(type: String?, hostname: String? = nil, uri: String? = nil) {
            self.type = type
            self.hostname = hostname
            self.uri = uri
        }
    }

    public struct Validation: Sendable, Hashable {
        public var caCertificateRefs: [CertificateReference]
        public var wellKnownCACertificates: String?
        public var hostname: String?
        public var subjectAltNames: [SubjectAltName]

        public init(
            caCertificateRefs: [CertificateReference] = [],
            wellKnownCACertificates: String? = nil,
            hostname: String? = nil,
            subjectAltNames: [SubjectAltName] = []
        ) {
            self.caCertificateRefs = caCertificateRefs
            self.wellKnownCACertificates = wellKnownCACertificates
            self.hostname = hostname
            self.subjectAltNames = subjectAltNames
        }
    }

    public func option(_ key: String) -> String? {
        options.first(where: { $0.key == key })?.value
    }

    public static func == (lhs: BackendTLSPolicy, rhs: BackendTLSPolicy) -> Bool {
        lhs.raw == rhs.raw && lhs.version == rhs.version
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(version)
        hasher.combine(raw)
    }
}
