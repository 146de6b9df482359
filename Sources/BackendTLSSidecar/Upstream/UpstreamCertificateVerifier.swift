public import BackendTLS
import Crypto
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Verifies a backend's certificate chain exactly as the resolved policy says (GEP-1897): chain to the
/// resolved roots (RFC 5280, validity at `now`), then identity — the hostname, or any of the
/// `subjectAltNames` (the hostname then is not identity) — then optional leaf pinning.
///
/// NIOSSL runs with `.noHostnameVerification` and calls this, because NIOSSL would otherwise also check
/// the SNI name, which is wrong when `subjectAltNames` are set.
public struct UpstreamCertificateVerifier: Sendable {
    /// Why a backend was refused, with everything a person needs to fix it; `reason` is the metric label.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Reason: String, Sendable, Hashable {
            case unknownIssuer = "unknown_issuer"
            case expired
            case notYetValid = "not_yet_valid"
            case hostnameMismatch = "hostname_mismatch"
            case subjectAltNameMismatch = "san_mismatch"
            case pinMismatch = "pin_mismatch"
            case badCertificate = "bad_certificate"
        }

        public var reason: Reason
        public var message: String
        public var description: String { message }
    }

    public let settings: ResolvedBackendTLS
    private let roots: CertificateStore
    /// Trust anchors as DER: a backend presenting exactly an anchor (a self-signed server certificate used as
    /// its own trust anchor, CA:FALSE) is trusted as OpenSSL and the webhook do; RFC 5280 path building
    /// alone would refuse it.
    private let anchorDERs: Set<[UInt8]>
    /// The bundle's subjects, to tell which presented certificates could lead to it (nil: the system store).
    private let anchorSubjects: Set<DistinguishedName>?
    private let trustDescription: String
    private let verifiedChains = VerifiedChainCache()

    public init(settings: ResolvedBackendTLS) throws {
        self.settings = settings
        switch settings.trust {
        case .system:
            roots = CertificateStore.systemTrustRoots
            anchorDERs = []
            anchorSubjects = nil
            trustDescription = "the system CA store"
        case .certificates(let ders, let fingerprint):
            let anchors = try ders.map { try Certificate(derEncoded: $0) }
            roots = CertificateStore(anchors)
            anchorDERs = Set(ders)
            anchorSubjects = Set(anchors.map(\.subject))
            trustDescription = "CA bundle \(fingerprint)"
        }
    }

    /// Whether `ders` was verified before and that verdict still holds at `now`: callers answer at once
    /// instead of starting a task for `verify`.
    public func alreadyVerified(chain ders: [[UInt8]], now: Date) -> Bool {
        verifiedChains.accepts(ders, at: now)
    }

    /// Verifies the peer chain (leaf first, DER) at `now`.
    public func verify(chain ders: [[UInt8]], now: Date) async -> Result<Void, Failure> {
        if verifiedChains.accepts(ders, at: now) { return .success(()) }
        let chain: [Certificate]
        do {
            chain = try ders.map { try Certificate(derEncoded: $0) }
        } catch {
            return .failure(
                Failure(
                    reason: .badCertificate, message: "the backend sent a certificate that does not parse: \(error)"))
        }
        guard let leaf = chain.first else {
            return .failure(Failure(reason: .badCertificate, message: "the backend sent no certificate"))
        }
        if let failure = validityFailure(of: leaf, isLeaf: true, now: now) { return .failure(failure) }
        // The path the chain verified along, and its root, bound how long this verdict holds. Certificates sent
        // beside it (a cross-signature of the root that expired long ago, as in Let's Encrypt's long chain) do
        // not: OpenSSL and Go accept such a chain, and so does this.
        var path = [leaf]
        if !anchorDERs.contains(ders[0]) {
            var verifier = Verifier(rootCertificates: roots) { RFC5280Policy(fixedExpiryValidationTime: now) }
            let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(Array(chain.dropFirst())))
            guard case .validCertificate(let validated) = result else {
                // Most often a chain certificate out of its validity: said with its dates, not as an unknown
                // issuer, which would send the operator to the wrong CA bundle. Only one that could lead to the
                // trusted roots counts: an expired cross-signature beside a chain the bundle cannot reach is not why.
                for certificate in chain.dropFirst() where leadsToTheRoots(certificate, in: chain) {
                    if let failure = validityFailure(of: certificate, isLeaf: false, now: now) {
                        return .failure(failure)
                    }
                }
                let top = chain.last!
                return .failure(
                    Failure(
                        reason: .unknownIssuer,
                        message:
                            "the backend's chain (\(chain.count) certificate\(chain.count == 1 ? "" : "s"), issued by \(quoted(top.issuer))) does not verify against \(trustDescription)"
                    ))
            }
            path += validated
        }
        if let usage = try? leaf.extensions.extendedKeyUsage, !usage.contains(.serverAuth), !usage.contains(.any) {
            return .failure(
                Failure(
                    reason: .badCertificate,
                    message:
                        "the backend's certificate \(quoted(leaf.subject)) is not for server authentication (extendedKeyUsage lacks serverAuth)"
                ))
        }
        if case .failure(let failure) = checkIdentity(leaf) { return .failure(failure) }
        if !settings.options.certificateHashes.isEmpty {
            let digest = SHA256.hash(data: ders[0]).map { byte in
                let text = String(byte, radix: 16)
                return byte < 16 ? "0" + text : text
            }.joined()
            guard settings.options.certificateHashes.contains(digest) else {
                return .failure(
                    Failure(
                        reason: .pinMismatch,
                        message:
                            "the backend's certificate sha256 \(digest) is not among the pinned hashes (\(BackendTLSOptions.certificateHashesKey))"
                    ))
            }
        }
        let notBefore = path.map(\.notValidBefore).max()!
        let notAfter = path.map(\.notValidAfter).min()!
        if notBefore <= notAfter { verifiedChains.remember(ders, validDuring: notBefore...notAfter) }
        return .success(())
    }

    func checkIdentity(_ leaf: Certificate) -> Result<Void, Failure> {
        let sans = (try? leaf.extensions.subjectAlternativeNames) ?? nil
        var dnsNames: [String] = []
        var uris: [String] = []
        for name in sans ?? SubjectAlternativeNames([]) {
            switch name {
            case .dnsName(let value): dnsNames.append(value)
            case .uniformResourceIdentifier(let value): uris.append(value)
            default: continue
            }
        }
        let presented = (dnsNames.map { "DNS:\($0)" } + uris.map { "URI:\($0)" }).joined(separator: ", ")
        switch settings.identity {
        case .hostname(let hostname):
            if dnsNames.contains(where: { Self.dnsName($0, matches: hostname) }) { return .success(()) }
            return .failure(
                Failure(
                    reason: .hostnameMismatch,
                    message:
                        "the backend's certificate is not valid for \(hostname): it presents \(presented.isEmpty ? "no subjectAltNames" : presented)"
                ))
        case .subjectAltNames(let matchers):
            for matcher in matchers {
                switch matcher {
                case .dnsName(let wanted)
                where dnsNames.contains(where: {
                    Self.dnsName($0, matches: wanted) || Self.dnsName(wanted, matches: $0)
                }):
                    return .success(())
                case .uri(let wanted) where uris.contains(wanted):
                    return .success(())
                default:
                    continue
                }
            }
            let wanted = matchers.map { matcher -> String in
                switch matcher {
                case .dnsName(let name): "DNS:\(name)"
                case .uri(let uri): "URI:\(uri)"
                }
            }.joined(separator: ", ")
            return .failure(
                Failure(
                    reason: .subjectAltNameMismatch,
                    message:
                        "no subjectAltName matches: wanted any of \(wanted); the backend presents \(presented.isEmpty ? "none" : presented)"
                ))
        }
    }

    /// RFC 6125 §6.4: case-insensitive, and a `*` only as the whole left-most label, matching one label.
    static func dnsName(_ pattern: String, matches name: String) -> Bool {
        let pattern = pattern.lowercased()
        let name = name.lowercased()
        if pattern == name { return true }
        guard pattern.hasPrefix("*."), let dot = name.firstIndex(of: ".") else { return false }
        let suffix = pattern.dropFirst(1)
        return name[dot...] == suffix && name[..<dot].count > 0 && suffix.split(separator: ".").count >= 2
    }

    /// Whether `certificate` is on an issuer chain, by names, from the leaf through the presented certificates to a
    /// subject of the bundle. With the system store, whose subjects are not listed, any presented one may be.
    private func leadsToTheRoots(_ certificate: Certificate, in chain: [Certificate]) -> Bool {
        guard let anchorSubjects else { return true }
        var onTheWay: [Certificate] = [chain[0]]
        // Depth-first over the presented certificates, none twice on one way: a chain has a handful.
        func reaches(_ current: Certificate) -> Bool {
            if anchorSubjects.contains(current.issuer), onTheWay.contains(certificate) { return true }
            for next in chain.dropFirst() where next.subject == current.issuer && !onTheWay.contains(next) {
                onTheWay.append(next)
                defer { onTheWay.removeLast() }
                if reaches(next) { return true }
            }
            return false
        }
        return reaches(chain[0])
    }

    /// Expired or not yet valid at `now`, said with the dates.
    private func validityFailure(of certificate: Certificate, isLeaf: Bool, now: Date) -> Failure? {
        guard certificate.notValidAfter < now || certificate.notValidBefore > now else { return nil }
        let which = isLeaf ? "certificate" : "chain certificate"
        let expired = certificate.notValidAfter < now
        return Failure(
            reason: expired ? .expired : .notYetValid,
            message:
                "the backend's \(which) \(quoted(certificate.subject)) \(expired ? "expired on \(RFC3339.format(certificate.notValidAfter))" : "is not valid until \(RFC3339.format(certificate.notValidBefore))")"
        )
    }

    private func quoted(_ name: DistinguishedName) -> String { "\"\(name)\"" }
}
