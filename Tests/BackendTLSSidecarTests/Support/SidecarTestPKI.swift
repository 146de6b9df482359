import BackendTLS
import Foundation
import TestCertificates
import X509

/// Certificates made in code around one reference time (STYLE §9), for the upstream verifier and connector.
///
/// P-256 keys throughout: generating them costs microseconds, so every test can have its own PKI.
enum SidecarTestPKI {
    /// The verifier tests' clock: 2026-06-01T00:00:00Z.
    static let now = Date(timeIntervalSince1970: 1_780_272_000)

    typealias Issued = IssuedCertificate

    /// A self-signed CA.
    static func certificateAuthority(
        name: String = "Sidecar Unit Root CA",
        notBefore: Date = now.addingTimeInterval(-86_400 * 365),
        notAfter: Date = now.addingTimeInterval(86_400 * 365 * 5)
    ) -> Issued {
        Issued.make(
            subject: try! DistinguishedName { CommonName(name) }, notBefore: notBefore, notAfter: notAfter,
            extensions: try! Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true, cRLSign: true)
            })
    }

    /// A certificate issued by `issuer`: a server certificate (CA:FALSE) with the given SANs, or an intermediate CA.
    static func issue(
        name: String,
        by issuer: Issued,
        isCertificateAuthority: Bool = false,
        dnsNames: [String] = [],
        uris: [String] = [],
        extendedKeyUsage: [ExtendedKeyUsage.Usage] = [.serverAuth],
        notBefore: Date = now.addingTimeInterval(-86_400),
        notAfter: Date = now.addingTimeInterval(86_400 * 90)
    ) -> Issued {
        Issued.make(
            subject: try! DistinguishedName { CommonName(name) }, issuer: issuer, notBefore: notBefore,
            notAfter: notAfter,
            extensions: try! Certificate.Extensions {
                if isCertificateAuthority {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    KeyUsage(keyCertSign: true, cRLSign: true)
                } else {
                    Critical(BasicConstraints.notCertificateAuthority)
                    KeyUsage(digitalSignature: true)
                    try ExtendedKeyUsage(extendedKeyUsage)
                }
                if !dnsNames.isEmpty || !uris.isEmpty {
                    SubjectAlternativeNames(dnsNames.map { .dnsName($0) } + uris.map { .uniformResourceIdentifier($0) })
                }
            })
    }

    /// A self-signed server certificate, its own trust anchor; `isCertificateAuthority` as openssl's default makes it.
    static func selfSignedServer(
        name: String = "backend.example.com",
        isCertificateAuthority: Bool = false,
        notBefore: Date = now.addingTimeInterval(-86_400),
        notAfter: Date = now.addingTimeInterval(86_400 * 365)
    ) -> Issued {
        Issued.make(
            subject: try! DistinguishedName { CommonName(name) }, notBefore: notBefore, notAfter: notAfter,
            extensions: try! Certificate.Extensions {
                Critical(
                    isCertificateAuthority
                        ? BasicConstraints.isCertificateAuthority(maxPathLength: nil)
                        : BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName(name)])
            })
    }

    static let policy = ObjectReference(kind: "BackendTLSPolicy", namespace: "default", name: "backend")
    static let bundleFingerprint = "sha256:test-bundle"

    /// Resolved settings trusting `roots` (or the system store when nil).
    static func settings(
        trusting roots: [Issued]?,
        serverName: String = "backend.example.com",
        identity: ResolvedBackendTLS.Identity? = nil,
        options: BackendTLSOptions = BackendTLSOptions()
    ) -> ResolvedBackendTLS {
        ResolvedBackendTLS(
            policy: policy,
            serverName: serverName,
            trust: roots.map { .certificates(der: $0.map(\.der), fingerprint: bundleFingerprint) } ?? .system,
            identity: identity ?? .hostname(serverName),
            options: options)
    }
}
