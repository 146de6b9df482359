import Crypto
import Foundation
import SwiftASN1
import TestCertificates
import X509
import _CryptoExtras

/// Certificates made in code around `Fixtures.now` (STYLE §9), as PEM, for CA-bundle and resolution tests.
enum TestPKI {
    typealias Issued = IssuedCertificate

    /// A self-signed CA (basicConstraints CA:TRUE), P-256 unless an RSA key is asked for.
    static func certificateAuthority(
        name: String = "Test Root CA",
        notBefore: Date = Fixtures.now.addingTimeInterval(-86_400 * 365),
        notAfter: Date = Fixtures.now.addingTimeInterval(86_400 * 365 * 5),
        rsa: Bool = false
    ) -> Issued {
        Issued.make(
            subject: try! DistinguishedName { CommonName(name) },
            key: rsa
                ? Certificate.PrivateKey(try! _RSA.Signing.PrivateKey(keySize: .bits2048))
                : Certificate.PrivateKey(P256.Signing.PrivateKey()),
            notBefore: notBefore, notAfter: notAfter,
            signatureAlgorithm: rsa ? .sha256WithRSAEncryption : .ecdsaWithSHA256,
            extensions: try! Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true, cRLSign: true)
            })
    }

    /// A certificate issued by `issuer`: a leaf (CA:FALSE) with DNS and URI SANs, or an intermediate CA.
    static func issue(
        name: String,
        by issuer: Issued,
        isCertificateAuthority: Bool = false,
        dnsNames: [String] = [],
        uris: [String] = [],
        notBefore: Date = Fixtures.now.addingTimeInterval(-86_400),
        notAfter: Date = Fixtures.now.addingTimeInterval(86_400 * 90)
    ) -> Issued {
        Issued.make(
            subject: try! DistinguishedName { CommonName(name) }, issuer: issuer, notBefore: notBefore,
            notAfter: notAfter,
            signatureAlgorithm: issuer.certificate.signatureAlgorithm == .sha256WithRSAEncryption
                ? .sha256WithRSAEncryption : .ecdsaWithSHA256,
            extensions: try! Certificate.Extensions {
                Critical(
                    isCertificateAuthority
                        ? BasicConstraints.isCertificateAuthority(maxPathLength: 0)
                        : BasicConstraints.notCertificateAuthority)
                if !dnsNames.isEmpty || !uris.isEmpty {
                    SubjectAlternativeNames(dnsNames.map { .dnsName($0) } + uris.map { .uniformResourceIdentifier($0) })
                }
            })
    }

    /// A self-signed leaf (CA:FALSE): the "server certificate as its own anchor" case.
    static func selfSignedLeaf(name: String = "backend.example.com") -> Issued {
        Issued.make(
            subject: try! DistinguishedName { CommonName(name) },
            notBefore: Fixtures.now.addingTimeInterval(-86_400),
            notAfter: Fixtures.now.addingTimeInterval(86_400 * 365),
            extensions: try! Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName(name)])
            })
    }

    /// A PKCS#8 PEM private key, for "key pasted into the bundle" cases.
    static func privateKeyPEM() -> String {
        P256.Signing.PrivateKey().pemRepresentation
    }
}
