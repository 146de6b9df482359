/// One finding about one object: a denial, a warning, a lint line or a sidecar refusal.
///
/// Every surface renders the same value, so admission, the CLI and runtime never disagree on wording.
/// Tests compare `reason` and `field`; `message` is for people.
public struct Diagnostic: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    public var reason: Reason
    /// The JSON field path in Kubernetes notation (`spec.validation.caCertificateRefs[0]`), or empty.
    public var field: String
    public var object: ObjectReference
    /// The text after the field path, e.g. `Required value` or `ConfigMap "ca" has no key "ca.crt" (keys: tls.crt)`.
    public var message: String

    public init(
        severity: Severity,
        reason: Reason,
        field: String,
        object: ObjectReference,
        message: String
    ) {
        self.severity = severity
        self.reason = reason
        self.field = field
        self.object = object
        self.message = message
    }

    public static func error(
        _ reason: Reason,
        _ field: String,
        _ object: ObjectReference,
        _ message: String
    ) -> Diagnostic {
        Diagnostic(severity: .error, reason: reason, field: field, object: object, message: message)
    }

    public static func warning(
        _ reason: Reason,
        _ field: String,
        _ object: ObjectReference,
        _ message: String
    ) -> Diagnostic {
        Diagnostic(severity: .warning, reason: reason, field: field, object: object, message: message)
    }

    /// `field: message`, the way the API server prints a field error.
    public var detail: String {
        field.isEmpty ? message : "\(field): \(message)"
    }

    /// A copy with another severity; `enforcement: warn` uses it to downgrade strict findings.
    public func with(severity: Severity) -> Diagnostic {
        var copy = self
        copy.severity = severity
        return copy
    }

    public var isError: Bool { severity == .error }
}

extension Diagnostic {
    /// The reason vocabulary: Gateway API's condition reasons, Kubernetes field-error types, and ours.
    ///
    /// A struct rather than an enum because the vocabulary grows and metric labels are plain strings.
    public struct Reason: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible,
        ExpressibleByStringLiteral
    {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        // Gateway API condition reasons.
        public static let invalid: Reason = "Invalid"
        public static let invalidKind: Reason = "InvalidKind"
        public static let invalidCACertificateRef: Reason = "InvalidCACertificateRef"
        public static let noValidCACertificate: Reason = "NoValidCACertificate"
        public static let conflicted: Reason = "Conflicted"
        public static let targetNotFound: Reason = "TargetNotFound"

        // Kubernetes field-error types (`field.ErrorType` causes), for upstream schema and CEL rules.
        public static let fieldValueRequired: Reason = "FieldValueRequired"
        public static let fieldValueInvalid: Reason = "FieldValueInvalid"
        public static let fieldValueTooLong: Reason = "FieldValueTooLong"
        public static let fieldValueTooMany: Reason = "FieldValueTooMany"
        public static let fieldValueNotSupported: Reason = "FieldValueNotSupported"
        public static let fieldValueTypeInvalid: Reason = "FieldValueTypeInvalid"
        public static let fieldValueUnknown: Reason = "FieldValueUnknown"

        // Ours.
        public static let expiredCertificate: Reason = "ExpiredCertificate"
        public static let notYetValidCertificate: Reason = "NotYetValidCertificate"
        public static let expiringCertificate: Reason = "ExpiringCertificate"
        public static let privateKeyInBundle: Reason = "PrivateKeyInBundle"
        public static let malformedCertificate: Reason = "MalformedCertificate"
        public static let malformedBundle: Reason = "MalformedBundle"
        public static let notACertificateAuthority: Reason = "NotACertificateAuthority"
        public static let bundleTooLarge: Reason = "BundleTooLarge"
        public static let duplicateReference: Reason = "DuplicateReference"
        public static let referenceNotFound: Reason = "ReferenceNotFound"
        public static let lookupFailed: Reason = "LookupFailed"
        public static let multipleTargets: Reason = "MultipleTargets"
        public static let unknownTargetKind: Reason = "UnknownTargetKind"
        public static let invalidOption: Reason = "InvalidOption"
        public static let reservedOption: Reason = "ReservedOption"
        public static let subjectAltNameWildcard: Reason = "SubjectAltNameWildcard"
        public static let duplicateSubjectAltName: Reason = "DuplicateSubjectAltName"
        public static let hostnameNotIdentity: Reason = "HostnameNotIdentity"
        public static let breaksPolicies: Reason = "BreaksPolicies"
        public static let deletesReferencedObject: Reason = "DeletesReferencedObject"
        public static let malformedObject: Reason = "MalformedObject"
    }
}

/// Which object a diagnostic is about, printed the kubectl way (`backendtlspolicy default/nginx-tls`).
public struct ObjectReference: Sendable, Hashable, Codable, CustomStringConvertible {
    public var kind: String
    public var namespace: String
    public var name: String

    public init(kind: String, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String {
        let qualified = namespace.isEmpty ? name : "\(namespace)/\(name)"
        return "\(kind.lowercased()) \(qualified.isEmpty ? "<unnamed>" : qualified)"
    }

    /// `namespace/name`, the key used for precedence ties and store lookups.
    public var namespacedName: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
}
