import Crypto
import Foundation
import SwiftASN1
import TestCertificates
import Testing
import X509
import _CryptoExtras

extension TestPKI.Issued {
    /// `pem` ends without a line break, so `a.pem + b.pem` glues END and BEGIN onto one line; this does not.
    var pemText: String { pem + "\n" }
}

/// More certificates and PEM pieces for the CA-bundle, source and guard tests, all around `Fixtures.now`.
extension TestPKI {
    /// One RSA CA for the whole run: RSA key generation is slow in debug builds.
    static let sharedRSACertificateAuthority = certificateAuthority(name: "Test RSA Root CA", rsa: true)

    /// One RSA private key for the whole run, for PKCS#1 and PKCS#8 key blocks.
    static let sharedRSAKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    /// `sharedRSAKey` as PKCS#1 DER (`RSAPrivateKey`).
    static var sharedRSAKeyPKCS1DER: [UInt8] { Array(sharedRSAKey.derRepresentation) }

    /// The DER encoding of a certificate.
    static func der(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        try! serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// Lower-case hex SHA-256 of some bytes, computed independently of the code under test.
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// A PEM block with the given label around arbitrary bytes (64-column base64, `\n` line ends).
    static func pem(label: String, der: [UInt8]) -> String {
        PEMDocument(type: label, derBytes: der).pemString + "\n"
    }

    /// A CA whose subject has several RDNs, for the RFC 4514 rendering.
    static func namedCertificateAuthority() -> Issued {
        Issued.make(
            subject: try! DistinguishedName {
                CountryName("US")
                OrganizationName("Example")
                CommonName("Example Root CA")
            },
            notBefore: Fixtures.now.addingTimeInterval(-86_400),
            notAfter: Fixtures.now.addingTimeInterval(86_400 * 365),
            extensions: try! Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            })
    }

    /// A private key PEM for each label the inspector must refuse.
    enum KeyFormat: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case pkcs8 = "PRIVATE KEY"
        case pkcs1 = "RSA PRIVATE KEY"
        case sec1 = "EC PRIVATE KEY"
        case encryptedPKCS8 = "ENCRYPTED PRIVATE KEY"
        /// A legacy OpenSSL-encrypted PKCS#1 key, with RFC 1421 `Proc-Type`/`DEK-Info` headers.
        case legacyEncryptedPKCS1 = "RSA PRIVATE KEY (Proc-Type)"

        var testDescription: String { rawValue }

        /// The label on the BEGIN/END lines.
        var label: String {
            self == .legacyEncryptedPKCS1 ? "RSA PRIVATE KEY" : rawValue
        }

        var keyPEM: String {
            switch self {
            case .pkcs8:
                return TestPKI.privateKeyPEM() + "\n"
            case .pkcs1:
                return TestPKI.sharedRSAKey.pemRepresentation + "\n"
            case .sec1:
                return TestPKI.pem(label: "EC PRIVATE KEY", der: Array(P256.Signing.PrivateKey().derRepresentation))
            case .encryptedPKCS8:
                // The inspector never decodes key content; opaque (but valid base64) bytes are enough.
                return TestPKI.pem(
                    label: "ENCRYPTED PRIVATE KEY", der: Array(P256.Signing.PrivateKey().derRepresentation))
            case .legacyEncryptedPKCS1:
                let body = TestPKI.pem(label: "RSA PRIVATE KEY", der: Array(TestPKI.sharedRSAKey.derRepresentation))
                var lines = body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                lines.insert(
                    contentsOf: ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,3F17F5316E2BAC89", ""], at: 1)
                return lines.joined(separator: "\n")
            }
        }
    }

    /// The base64 body lines of a PEM text: what must never show up in a message.
    static func bodyLines(_ pem: String) -> [String] {
        pem.split(whereSeparator: \.isNewline).map(String.init).filter {
            !$0.hasPrefix("-----") && !$0.contains(":") && !$0.isEmpty
        }
    }
}
