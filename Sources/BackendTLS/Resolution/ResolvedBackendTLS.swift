#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The TLS settings one upstream connection must use, fully resolved: no references left, no closures.
///
/// `Hashable` so it keys the sidecar's TLS-context cache: equal settings share one context, and any change
/// (a rotated CA, an edited SAN) is a new key, so stale contexts are never reused.
public struct ResolvedBackendTLS: Sendable, Hashable {
    public enum Trust: Sendable, Hashable {
        /// The platform's CA store (`wellKnownCACertificates: System`).
        case system
        /// Trust anchors from the referenced bundles, DER-encoded, with the SHA-256 of the set.
        case certificates(der: [[UInt8]], fingerprint: String)

        /// Hashes the fingerprint, not the certificates: settings key caches and pools on hot paths, and the
        /// fingerprint already identifies the DER set (equality still compares the certificates).
        public func hash(into hasher: inout Hasher) {
            switch self {
            case .system: hasher.combine(0)
            case .certificates(_, let fingerprint): hasher.combine(fingerprint)
            }
        }

        public static func == (lhs: Trust, rhs: Trust) -> Bool {
            switch (lhs, rhs) {
            case (.system, .system): true
            case (.certificates(let left, let leftPrint), .certificates(let right, let rightPrint)):
                leftPrint == rightPrint && left == right
            default: false
            }
        }
    }

    /// What the backend's certificate must prove (GEP-1897).
    public enum Identity: Sendable, Hashable {
        /// No `subjectAltNames`: the hostname must match a DNS SAN (RFC 6125, left-most wildcard allowed).
        case hostname(String)
        /// At least one must match; the hostname is then not used for identity.
        case subjectAltNames([SubjectAltNameMatcher])
    }

    public enum SubjectAltNameMatcher: Sendable, Hashable {
        case dnsName(String)
        case uri(String)
    }

    /// The policy that decided, for logs, metrics and `x-backendtls-error`.
    public var policy: ObjectReference
    /// SNI, always `validation.hostname`.
    public var serverName: String
    public var trust: Trust
    public var identity: Identity
    public var options: BackendTLSOptions
    /// The earliest expiry among the trust anchors, for the expiry metric.
    public var trustExpiry: Date?

    public init(
        policy: ObjectReference,
        serverName: String,
        trust: Trust,
        identity: Identity,
        options: BackendTLSOptions,
        trustExpiry: Date? = nil
    ) {
        self.policy = policy
        self.serverName = serverName
        self.trust = trust
        self.identity = identity
        self.options = options
        self.trustExpiry = trustExpiry
    }
}

/// Why no TLS settings could be produced; callers fail closed with this reason and message.
public struct ResolutionFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var policy: ObjectReference?
    public var reason: Diagnostic.Reason
    public var message: String

    public init(policy: ObjectReference?, reason: Diagnostic.Reason, message: String) {
        self.policy = policy
        self.reason = reason
        self.message = message
    }

    public var description: String {
        if let policy { return "\(policy): \(message)" }
        return message
    }
}

/// The outcome of resolving one (namespace, service, port).
public enum Resolution: Sendable, Hashable {
    case resolved(ResolvedBackendTLS)
    /// No policy targets this port: the caller decides (plaintext, or refuse with `--require-policy`).
    case noPolicy
    case failed(ResolutionFailure)
}

/// A Service port, named or numbered, as a caller knows it.
public enum ServicePortSelector: Sendable, Hashable, CustomStringConvertible {
    case number(Int)
    case name(String)

    public var description: String {
        switch self {
        case .number(let number): String(number)
        case .name(let name): name
        }
    }
}
