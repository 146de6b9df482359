import Crypto
import SwiftASN1
import X509

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The time-independent part of a bundle inspection: blocks, certificates and structural findings.
struct ParsedBundle: Sendable {
    var certificates: [CABundleInspection.Certificate] = []
    var findings: [CABundleInspection.Finding] = []
    var fingerprint = ""

    private static let privateKeyLabels: Set<String> = [
        "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
        "OPENSSH PRIVATE KEY", "ANY PRIVATE KEY",
    ]

    /// Parses one DER certificate into its summary, or says why it is not X.509; the inspector caches this.
    typealias CertificateParser = (_ der: [UInt8]) -> Result<CABundleInspection.Certificate, CertificateParseFailure>

    struct CertificateParseFailure: Error, Hashable {
        let description: String
    }

    init(
        _ bytes: [UInt8], configuration: CABundleInspector.Configuration,
        parseCertificate: CertificateParser = Self.parseCertificate
    ) {
        guard bytes.count <= configuration.maximumBytes else {
            fail(
                .bundleTooLarge, "the bundle is \(bytes.count) bytes; the limit is \(configuration.maximumBytes) bytes")
            return
        }
        guard bytes.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else {
            fail(.malformedBundle, "the bundle is empty; it must hold at least one PEM \"CERTIFICATE\" block")
            return
        }
        let blocks: [PEMBlock]
        do {
            blocks = try PEMScanner.scan(bytes)
        } catch {
            fail(.malformedBundle, "the bundle is not valid PEM: \(error)")
            return
        }
        guard !blocks.isEmpty else {
            let hint =
                bytes.first == 0x30
                ? " (the data looks like binary DER; convert it with `openssl x509 -inform der`)" : ""
            fail(.malformedBundle, "the bundle holds no PEM block; expected \"-----BEGIN CERTIFICATE-----\"\(hint)")
            return
        }
        let certificateCount = blocks.count { $0.label == "CERTIFICATE" }
        guard certificateCount <= configuration.maximumCertificates else {
            fail(
                .bundleTooLarge,
                "the bundle holds \(certificateCount) certificates; the limit is \(configuration.maximumCertificates)")
            return
        }
        var hasher = SHA256()
        for (index, block) in blocks.enumerated() {
            let position = "PEM block \(index + 1) (line \(block.line))"
            if Self.privateKeyLabels.contains(block.label) || block.label.hasSuffix("PRIVATE KEY") {
                // Name the block, never its content: the message ends up in kubectl output and logs.
                fail(
                    .privateKeyInBundle,
                    "\(position) is a private key (\(GoQuoting.quote(block.label))); a CA bundle must never hold key material: remove it and rotate the key"
                )
                continue
            }
            guard block.label == "CERTIFICATE" else {
                fail(
                    .malformedBundle,
                    "\(position) is \(GoQuoting.quote(block.label)); only \"CERTIFICATE\" blocks are allowed")
                continue
            }
            switch parseCertificate(block.der) {
            case .success(let certificate):
                hasher.update(data: block.der)
                certificates.append(certificate)
            case .failure(let failure):
                fail(.malformedCertificate, "\(position) is not a valid X.509 certificate: \(failure.description)")
            }
        }
        fingerprint = "sha256:" + Self.hex(hasher.finalize())
        for certificate in certificates where !certificate.isCertificateAuthority && !certificate.isSelfSigned {
            findings.append(
                .init(
                    severity: .warning, reason: .notACertificateAuthority,
                    message:
                        "certificate \(GoQuoting.quote(certificate.subject)) is not a CA (no basicConstraints CA:TRUE) and not self-signed; as a trust anchor it only trusts itself, so include its issuing CA instead"
                ))
        }
    }

    private mutating func fail(_ reason: Diagnostic.Reason, _ message: String) {
        findings.append(.init(severity: .error, reason: reason, message: message))
    }

    static func parseCertificate(_ der: [UInt8]) -> Result<CABundleInspection.Certificate, CertificateParseFailure> {
        do {
            return .success(summarize(try Certificate(derEncoded: der), der: der))
        } catch {
            return .failure(CertificateParseFailure(description: shortDescription(error)))
        }
    }

    private static func summarize(_ certificate: Certificate, der: [UInt8]) -> CABundleInspection.Certificate {
        var isCA = false
        if let constraints = try? certificate.extensions.basicConstraints, case .isCertificateAuthority = constraints {
            isCA = true
        }
        // A signature check only where it changes the verdict: a non-CA certificate anchoring itself.
        let isSelfSigned =
            certificate.subject == certificate.issuer
            && (isCA || certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
        return CABundleInspection.Certificate(
            subjectName: certificate.subject,
            issuerName: certificate.issuer,
            sha256: hex(SHA256.hash(data: der)),
            notBefore: certificate.notValidBefore,
            notAfter: certificate.notValidAfter,
            isCertificateAuthority: isCA,
            isSelfSigned: isSelfSigned,
            der: der
        )
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        for byte in digest {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func shortDescription(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
