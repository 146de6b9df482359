import Crypto
import SwiftASN1
import Synchronization
import X509

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Inspects the `ca.crt` of a ConfigMap or Secret: every PEM block, every certificate, validity at `now`.
///
/// One inspector serves the policy rules, the ConfigMap/Secret guards and the sidecar, so a bundle that the
/// webhook admitted is exactly the bundle the sidecar trusts. Parsing (time-independent) is cached by
/// content; time findings are computed per call because `now` moves.
public final class CABundleInspector: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var maximumBytes: Int
        public var maximumCertificates: Int
        /// Certificates expiring within this window get a warning.
        public var expiryWarningWindow: Duration

        public init(
            maximumBytes: Int = 1 << 20, maximumCertificates: Int = 1000,
            expiryWarningWindow: Duration = .seconds(30 * 86_400)
        ) {
            self.maximumBytes = maximumBytes
            self.maximumCertificates = maximumCertificates
            self.expiryWarningWindow = expiryWarningWindow
        }
    }

    public let configuration: Configuration
    private let cache = Mutex<[SHA256Digest: ParsedBundle]>([:])
    /// Per certificate as well: the same CAs recur across many bundles (an organisation's root in every
    /// namespace), and X.509 parsing is the dominant cost of inspecting a bundle.
    private let certificates = Mutex<
        [DERKey: Result<CABundleInspection.Certificate, ParsedBundle.CertificateParseFailure>]
    >([:])
    private static let cacheLimit = 4096

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func inspect(_ bytes: [UInt8], now: Date) -> CABundleInspection {
        let parsed = parse(bytes)
        var findings = parsed.findings
        if !parsed.certificates.isEmpty {
            findings.append(contentsOf: timeFindings(parsed.certificates, now: now))
        }
        return CABundleInspection(
            certificates: parsed.certificates, findings: findings, fingerprint: parsed.fingerprint)
    }

    private func parse(_ bytes: [UInt8]) -> ParsedBundle {
        let digest = SHA256.hash(data: bytes)
        if let cached = cache.withLock({ $0[digest] }) { return cached }
        let parsed = ParsedBundle(bytes, configuration: configuration) { der in
            let key = DERKey(bytes: der)
            if let cached = self.certificates.withLock({ $0[key] }) { return cached }
            let result = ParsedBundle.parseCertificate(der)
            self.certificates.withLock { cache in
                if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[key] = result
            }
            return result
        }
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[digest] = parsed
        }
        return parsed
    }

    private func timeFindings(_ certificates: [CABundleInspection.Certificate], now: Date) -> [CABundleInspection
        .Finding]
    {
        let expired = certificates.filter { $0.notAfter < now }
        let notYetValid = certificates.filter { $0.notBefore > now }
        if expired.count + notYetValid.count == certificates.count {
            return [noValidCertificateFinding(certificates.count, expired: expired, notYetValid: notYetValid)]
        }
        var findings: [CABundleInspection.Finding] = []
        for certificate in expired {
            findings.append(
                .init(
                    severity: .warning, reason: .expiredCertificate,
                    message:
                        "\(describe(certificate)) expired on \(RFC3339.format(certificate.notAfter)); remove it from the bundle"
                ))
        }
        for certificate in notYetValid {
            findings.append(
                .init(
                    severity: .warning, reason: .notYetValidCertificate,
                    message: "\(describe(certificate)) is not valid until \(RFC3339.format(certificate.notBefore))"))
        }
        let horizon = now.addingTimeInterval(Double(configuration.expiryWarningWindow.components.seconds))
        for certificate in certificates
        where certificate.notAfter >= now && certificate.notAfter <= horizon && certificate.notBefore <= now {
            let days = Int((certificate.notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
            findings.append(
                .init(
                    severity: .warning, reason: .expiringCertificate,
                    message:
                        "\(describe(certificate)) expires on \(RFC3339.format(certificate.notAfter)) (in \(days) day\(days == 1 ? "" : "s"))"
                ))
        }
        return findings
    }

    private func noValidCertificateFinding(
        _ count: Int,
        expired: [CABundleInspection.Certificate],
        notYetValid: [CABundleInspection.Certificate]
    ) -> CABundleInspection.Finding {
        let latestExpired = expired.max { $0.notAfter < $1.notAfter }
        let earliestStart = notYetValid.min { $0.notBefore < $1.notBefore }
        var parts: [String] = []
        if let latestExpired {
            parts.append("\(describe(latestExpired)) expired on \(RFC3339.format(latestExpired.notAfter))")
        }
        if let earliestStart {
            parts.append("\(describe(earliestStart)) is not valid until \(RFC3339.format(earliestStart.notBefore))")
        }
        let subject: String
        if count == 1 {
            subject =
                latestExpired != nil
                ? "the only certificate in the bundle has expired"
                : "the only certificate in the bundle is not valid yet"
        } else if notYetValid.isEmpty {
            subject = "all \(count) certificates in the bundle have expired"
        } else if expired.isEmpty {
            subject = "none of the \(count) certificates in the bundle is valid yet"
        } else {
            subject =
                "none of the \(count) certificates in the bundle is valid now (\(expired.count) expired, \(notYetValid.count) not yet valid)"
        }
        return .init(
            severity: .error,
            reason: latestExpired != nil ? .expiredCertificate : .notYetValidCertificate,
            message: "\(subject): \(parts.joined(separator: "; "))"
        )
    }

    func describe(_ certificate: CABundleInspection.Certificate) -> String {
        "certificate \(GoQuoting.quote(certificate.subject)) (sha256 \(certificate.sha256.prefix(16))…)"
    }
}

/// DER bytes as a dictionary key, hashed in one bulk call (an `[UInt8]` key hashes byte by byte).
struct DERKey: Hashable, Sendable {
    let bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
