public import X509

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// What a CA bundle holds and what is wrong with it.
///
/// Findings carry no object or field: the caller (a policy rule, a ConfigMap guard, the sidecar) knows
/// which object and key the bundle came from and turns findings into `Diagnostic`s.
public struct CABundleInspection: Sendable, Hashable {
    public struct Certificate: Sendable, Hashable {
        public var subjectName: DistinguishedName
        public var issuerName: DistinguishedName
        /// RFC 4514 form, e.g. `CN=Example Root CA,O=Example`; formatted on demand (it is costly, and rarely shown).
        public var subject: String { String(describing: subjectName) }
        public var issuer: String { String(describing: issuerName) }
        /// Lower-case hex SHA-256 of the DER encoding, without separators.
        public var sha256: String
        public var notBefore: Date
        public var notAfter: Date
        public var isCertificateAuthority: Bool
        public var isSelfSigned: Bool
        public var der: [UInt8]
    }

    public struct Finding: Sendable, Hashable {
        public var severity: Diagnostic.Severity
        public var reason: Diagnostic.Reason
        public var message: String
    }

    public var certificates: [Certificate]
    public var findings: [Finding]
    /// SHA-256 over the concatenated DER of every certificate, `sha256:`-prefixed: identifies the trust set.
    public var fingerprint: String

    public var hasErrors: Bool { findings.contains { $0.severity == .error } }

    /// Certificates valid at `now`, the ones a verifier can actually anchor to.
    public func certificatesValid(at now: Date) -> [Certificate] {
        certificates.filter { $0.notBefore <= now && now <= $0.notAfter }
    }

    /// The earliest `notAfter`, for expiry metrics and annotations.
    public var earliestExpiry: Date? { certificates.map(\.notAfter).min() }
}
