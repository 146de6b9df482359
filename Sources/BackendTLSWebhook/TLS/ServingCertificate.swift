import Crypto
public import NIOSSL
import SwiftASN1
import X509

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A serving certificate chain and its key, checked to belong together.
public struct ServingCertificate: Sendable {
    public let chain: [NIOSSLCertificate]
    public let key: NIOSSLPrivateKey
    public let notAfter: Date
    /// SHA-256 of the certificate and key files' bytes: reloads compare this to skip unchanged files.
    let contentDigest: SHA256Digest

    /// Why a certificate/key pair was refused; the old pair keeps serving.
    public enum LoadError: Error, Equatable, CustomStringConvertible {
        case unreadable(path: String)
        case invalidCertificate(path: String, reason: String)
        case invalidKey(path: String, reason: String)
        case keyMismatch(certificatePath: String, keyPath: String)

        public var description: String {
            switch self {
            case .unreadable(let path): "cannot read \(path)"
            case .invalidCertificate(let path, let reason): "\(path) holds no usable PEM certificate chain: \(reason)"
            case .invalidKey(let path, let reason): "\(path) holds no usable PEM private key: \(reason)"
            case .keyMismatch(let certificatePath, let keyPath):
                "the private key in \(keyPath) does not belong to the certificate in \(certificatePath)"
            }
        }
    }

    public static func load(certificateFile: String, keyFile: String) throws(LoadError) -> ServingCertificate {
        let files = try read(certificateFile: certificateFile, keyFile: keyFile)
        return try make(
            certificatePEM: files.certificatePEM, keyPEM: files.keyPEM, certificatePath: certificateFile,
            keyPath: keyFile)
    }

    static func read(certificateFile: String, keyFile: String) throws(LoadError) -> (
        certificatePEM: [UInt8], keyPEM: [UInt8]
    ) {
        guard let certificateBytes = FileManager.default.contents(atPath: certificateFile) else {
            throw .unreadable(path: certificateFile)
        }
        guard let keyBytes = FileManager.default.contents(atPath: keyFile) else { throw .unreadable(path: keyFile) }
        return (Array(certificateBytes), Array(keyBytes))
    }

    static func digest(certificatePEM: [UInt8], keyPEM: [UInt8]) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(data: certificatePEM)
        hasher.update(data: keyPEM)
        return hasher.finalize()
    }

    /// `digest`: the pair's, when the caller has it already (the reloader compares it before parsing).
    static func make(
        certificatePEM: [UInt8],
        keyPEM: [UInt8],
        certificatePath: String,
        keyPath: String,
        digest known: SHA256Digest? = nil
    ) throws(LoadError) -> ServingCertificate {
        let digest = known ?? digest(certificatePEM: certificatePEM, keyPEM: keyPEM)
        let chain: [NIOSSLCertificate]
        let leaf: Certificate
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificatePEM)
            guard let first = chain.first else {
                throw LoadError.invalidCertificate(path: certificatePath, reason: "no CERTIFICATE block")
            }
            leaf = try Certificate(derEncoded: try first.toDERBytes())
        } catch let error as LoadError {
            throw error
        } catch {
            throw .invalidCertificate(path: certificatePath, reason: String(describing: error))
        }
        let key: NIOSSLPrivateKey
        let publicKey: Certificate.PublicKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem)
            let text = String(decoding: keyPEM, as: UTF8.self)
            publicKey = try Certificate.PrivateKey(pemEncoded: text).publicKey
        } catch {
            throw .invalidKey(path: keyPath, reason: String(describing: error))
        }
        guard publicKey == leaf.publicKey else {
            throw .keyMismatch(certificatePath: certificatePath, keyPath: keyPath)
        }
        return ServingCertificate(chain: chain, key: key, notAfter: leaf.notValidAfter, contentDigest: digest)
    }
}
