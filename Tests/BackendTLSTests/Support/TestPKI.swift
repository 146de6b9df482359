import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// Certificates made in code around `Fixtures.now` (STYLE §9), as PEM, for CA-bundle and resolution tests.
enum TestPKI {
    struct Issued {
        let certificate: Certificate
        let key: Certificate.PrivateKey
        var pem: String { try! certificate.serializeAsPEM().pemString }
    }

    /// A self-signed CA (basicConstraints CA:TRUE), P-256 unless an RSA key is asked for.
    static func certificateAuthority(
        name: String = "Test Root CA",
        notBefore: Date = Fixtures.now.addingTimeInterval(-86_400 * 365),
        notAfter: Date = Fixtures.now.addingTimeInterval(86_400 * 365 * 5),
        rsa: Bool = false
    ) -> Issued {
        let key: Certificate.PrivateKey =
            rsa
            ? Certificate.PrivateKey(try! _RSA.Signing.PrivateKey(keySize: .bits2048))
            : Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try! DistinguishedName { CommonName(name) }
        let certificate = try! Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: subject,
            subject: subject,
            signatureAlgorithm: rsa ? .sha256WithRSAEncryption : .ecdsaWithSHA256,
            extensions: try! Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true, cRLSign: true)
            },
            issuerPrivateKey: key
        )
        return Issued(certificate: certificate, key: key)
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
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let certificate = try! Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: issuer.certificate.subject,
            subject: try! DistinguishedName { CommonName(name) },
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
            },
            issuerPrivateKey: issuer.key
        )
        return Issued(certificate: certificate, key: key)
    }

    /// A self-signed leaf (CA:FALSE): the "server certificate as its own anchor" case.
    static func selfSignedLeaf(name: String = "backend.example.com") -> Issued {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try! DistinguishedName { CommonName(name) }
        let certificate = try! Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: Fixtures.now.addingTimeInterval(-86_400),
            notValidAfter: Fixtures.now.addingTimeInterval(86_400 * 365),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try! Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName(name)])
            },
            issuerPrivateKey: key
        )
        return Issued(certificate: certificate, key: key)
    }

    /// A PKCS#8 PEM private key, for "key pasted into the bundle" cases.
    static func privateKeyPEM() -> String {
        P256.Signing.PrivateKey().pemRepresentation
    }
}
