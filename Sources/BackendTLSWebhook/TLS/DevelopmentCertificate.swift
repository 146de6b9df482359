import Crypto
import SwiftASN1
import X509

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A throw-away PKI for `--dev-certificate DIR`: a CA, a serving certificate for local and in-cluster names,
/// and a client certificate, generated in Swift at start-up so running the webhook needs no openssl.
public enum DevelopmentCertificate {
    public struct Files: Sendable {
        public var caCertificate: String
        public var serverCertificate: String
        public var serverKey: String
        public var clientCertificate: String
        public var clientKey: String
    }

    /// Writes `ca.crt`, `tls.crt`, `tls.key`, `client.crt` and `client.key` into `directory`.
    public static func generate(
        in directory: String,
        dnsNames: [String] = ["localhost", "backendtls-webhook", "backendtls-webhook.backendtls-system.svc"],
        now: Date = Date()
    ) throws -> Files {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("backendtls development")
            CommonName("backendtls development CA")
        }
        let caCertificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(86_400 * 365),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey))
        func issue(_ name: String, serverNames: [String]?, key: P256.Signing.PrivateKey) throws -> Certificate {
            try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(86_400 * 90),
                issuer: caName, subject: try DistinguishedName { CommonName(name) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    if let serverNames {
                        try ExtendedKeyUsage([.serverAuth])
                        SubjectAlternativeNames(
                            serverNames.map { .dnsName($0) } + [
                                .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                                .ipAddress(
                                    ASN1OctetString(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
                            ])
                    } else {
                        try ExtendedKeyUsage([.clientAuth])
                    }
                },
                issuerPrivateKey: .init(caKey))
        }
        let serverKey = P256.Signing.PrivateKey()
        let clientKey = P256.Signing.PrivateKey()
        let server = try issue(dnsNames.first ?? "localhost", serverNames: dnsNames, key: serverKey)
        let client = try issue("system:apiserver", serverNames: nil, key: clientKey)
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let files = Files(
            caCertificate: "\(base)/ca.crt", serverCertificate: "\(base)/tls.crt", serverKey: "\(base)/tls.key",
            clientCertificate: "\(base)/client.crt", clientKey: "\(base)/client.key")
        try write(try caCertificate.serializeAsPEM().pemString + "\n", to: files.caCertificate)
        try write(try server.serializeAsPEM().pemString + "\n", to: files.serverCertificate)
        try write(serverKey.pemRepresentation + "\n", to: files.serverKey, private: true)
        try write(try client.serializeAsPEM().pemString + "\n", to: files.clientCertificate)
        try write(clientKey.pemRepresentation + "\n", to: files.clientKey, private: true)
        return files
    }

    private static func write(_ text: String, to path: String, private isPrivate: Bool = false) throws {
        // Write then rename, so a reloader watching the directory never sees a half-written file.
        let temporary = path + ".tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: isPrivate ? 0o600 : 0o644]
            )
        else { throw CocoaError(.fileWriteUnknown) }
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }
}
