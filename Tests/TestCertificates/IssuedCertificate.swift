public import Crypto
public import Foundation
import SwiftASN1
public import X509

/// A certificate made in code and its private key (STYLE §9), for the library's and the sidecar's tests.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let key: Certificate.PrivateKey

    public init(certificate: Certificate, key: Certificate.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// A new certificate for `subject` and `key`, signed by `issuer`, or by `key` itself when there is none.
    public static func make(
        subject: DistinguishedName,
        key: Certificate.PrivateKey = Certificate.PrivateKey(P256.Signing.PrivateKey()),
        issuer: IssuedCertificate? = nil,
        notBefore: Date,
        notAfter: Date,
        signatureAlgorithm: Certificate.SignatureAlgorithm = .ecdsaWithSHA256,
        extensions: Certificate.Extensions
    ) -> IssuedCertificate {
        let certificate = try! Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: issuer?.certificate.subject ?? subject,
            subject: subject,
            signatureAlgorithm: signatureAlgorithm,
            extensions: extensions,
            issuerPrivateKey: issuer?.key ?? key
        )
        return IssuedCertificate(certificate: certificate, key: key)
    }

    public var der: [UInt8] {
        var serializer = DER.Serializer()
        try! serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    public var pem: String { try! certificate.serializeAsPEM().pemString }
    public var keyPEM: String { try! key.serializeAsPEM().pemString }

    /// Lower-case hex SHA-256 of the DER, the form `backendtls.dev/verify-certificate-hash` takes.
    public var sha256: String { SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined() }
}
