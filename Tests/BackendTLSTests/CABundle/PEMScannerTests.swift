import BackendTLS
import Foundation
import TestCertificates
import Testing

struct PEMScannerTests {
    private func scan(_ text: String) throws(PEMScanError) -> [PEMBlock] {
        try PEMScanner.scan(Array(text.utf8))
    }

    @Test func scansTwoCertificatesWithExplanatoryTextBetween() throws {
        let root = TestPKI.certificateAuthority()
        let intermediate = TestPKI.issue(name: "Test Intermediate CA", by: root, isCertificateAuthority: true)
        // RFC 7468 §2 allows text outside blocks; `openssl x509 -text` and Mozilla bundles put some there.
        let text = """
            # Test Root CA
            subject=CN = Test Root CA
            \(root.pemText)
            Certificate:
                Data: (text dump, ignored)
            \(intermediate.pemText)
            trailing comment
            """
        let blocks = try scan(text)
        try #require(blocks.count == 2)
        #expect(blocks.map(\.label) == ["CERTIFICATE", "CERTIFICATE"])
        #expect(blocks[0].der == TestPKI.der(root.certificate))
        #expect(blocks[1].der == TestPKI.der(intermediate.certificate))
        #expect(blocks[0].line == 3)
        let beginLines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .filter { $0.element == "-----BEGIN CERTIFICATE-----" }.map { $0.offset + 1 }
        #expect(blocks.map(\.line) == beginLines)
    }

    @Test func acceptsCRLFLineEndings() throws {
        let root = TestPKI.certificateAuthority()
        let crlf = root.pemText.replacingOccurrences(of: "\n", with: "\r\n")
        try #require(crlf.contains("\r\n"))
        let blocks = try scan("comment\r\n" + crlf + "\r\n" + crlf)
        #expect(blocks.count == 2)
        #expect(blocks.allSatisfy { $0.der == TestPKI.der(root.certificate) })
        #expect(blocks.map(\.line).first == 2)
    }

    @Test func acceptsIndentedLinesAndTrailingWhitespace() throws {
        let root = TestPKI.certificateAuthority()
        // How a bundle looks when pasted under a YAML block scalar, or with editor noise at line ends.
        let indented = root.pemText.split(separator: "\n").map { "    \($0)\t " }.joined(separator: "\n")
        let blocks = try scan(indented)
        #expect(blocks.count == 1)
        #expect(blocks.first?.label == "CERTIFICATE")
        #expect(blocks.first?.der == TestPKI.der(root.certificate))
    }

    @Test func decodesSmallBlockAndKeepsItsLabel() throws {
        let blocks = try scan("-----BEGIN X509 CRL-----\nTWFu\nTWE=\n-----END X509 CRL-----\n")
        #expect(blocks.map(\.label) == ["X509 CRL"])
        #expect(blocks.map(\.der) == [Array("ManMa".utf8)])
        #expect(blocks.map(\.line) == [1])
    }

    @Test(arguments: ["", "\n", "   \n\t\r\n", "just some text\nwithout blocks\n", "-----BEGIN-----\n"])
    func textWithoutBlocksScansToNothing(_ text: String) throws {
        #expect(try scan(text).isEmpty)
    }

    @Test func missingEndNamesLabelAndBeginLine() {
        let text = "comment\n\n-----BEGIN CERTIFICATE-----\nTWFu\n"
        #expect(throws: PEMScanError.missingEnd(label: "CERTIFICATE", line: 3)) { try scan(text) }
        let description = String(describing: PEMScanError.missingEnd(label: "CERTIFICATE", line: 3))
        #expect(description.contains("\"CERTIFICATE\""))
        #expect(description.contains("line 3"))
    }

    @Test func secondBeginBeforeEndIsMissingEndOfTheFirst() {
        let text = "-----BEGIN CERTIFICATE-----\nTWFu\n-----BEGIN PRIVATE KEY-----\nTWFu\n-----END PRIVATE KEY-----\n"
        #expect(throws: PEMScanError.missingEnd(label: "CERTIFICATE", line: 1)) { try scan(text) }
    }

    @Test func mismatchedEndNamesBothLabelsAndEndLine() {
        let text = "-----BEGIN CERTIFICATE-----\nTWFu\n-----END PRIVATE KEY-----\n"
        #expect(throws: PEMScanError.mismatchedEnd(begin: "CERTIFICATE", end: "PRIVATE KEY", line: 3)) {
            try scan(text)
        }
        let description = String(
            describing: PEMScanError.mismatchedEnd(begin: "CERTIFICATE", end: "PRIVATE KEY", line: 3))
        #expect(description.contains("\"CERTIFICATE\""))
        #expect(description.contains("END PRIVATE KEY"))
        #expect(description.contains("line 3"))
    }

    @Test func endWithoutBegin() {
        let text = "hello\n-----END CERTIFICATE-----\n"
        #expect(throws: PEMScanError.endWithoutBegin(label: "CERTIFICATE", line: 2)) { try scan(text) }
    }

    @Test func endAfterCompleteBlockIsEndWithoutBegin() throws {
        let root = TestPKI.certificateAuthority()
        let text = root.pemText + "-----END CERTIFICATE-----\n"
        let endLine = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        #expect(throws: PEMScanError.endWithoutBegin(label: "CERTIFICATE", line: endLine)) { try scan(text) }
    }

    @Test(arguments: ["TW@u", "TWFu!", "TW-u", "TWFuT", "TQ==TWFu", "T"])
    func invalidBase64NamesLabelAndBeginLine(_ body: String) {
        let text = "intro\n-----BEGIN CERTIFICATE-----\n\(body)\n-----END CERTIFICATE-----\n"
        #expect(throws: PEMScanError.invalidBase64(label: "CERTIFICATE", line: 2)) { try scan(text) }
    }

    @Test func legacyEncryptedKeyHeadersAreSkipped() throws {
        let pem = TestPKI.KeyFormat.legacyEncryptedPKCS1.keyPEM
        try #require(pem.contains("Proc-Type: 4,ENCRYPTED"))
        try #require(pem.contains("DEK-Info: AES-128-CBC,"))
        let blocks = try scan(pem)
        #expect(blocks.count == 1)
        #expect(blocks.first?.label == "RSA PRIVATE KEY")
        #expect(blocks.first?.der == TestPKI.sharedRSAKeyPKCS1DER)
    }

    @Test func derOfRealCertificateRoundTrips() throws {
        let ca = TestPKI.sharedRSACertificateAuthority
        let blocks = try scan(ca.pemText)
        #expect(blocks.first?.der == TestPKI.der(ca.certificate))
    }
}

struct Base64Tests {
    @Test(arguments: [
        ("", ""),
        ("TQ==", "M"),
        ("TWE=", "Ma"),
        ("TWFu", "Man"),
        ("TWFuTWFu", "ManMan"),
        ("TW\nFu", "Man"),
        (" T W\r\nF u\t", "Man"),
        ("TWE=\n", "Ma"),
        ("TQ=\n=", "M"),
        ("aGVsbG8sIHdvcmxkIQ==", "hello, world!"),
    ])
    func decodes(_ input: String, _ expected: String) {
        #expect(Base64.decode(Array(input.utf8)) == Array(expected.utf8))
    }

    @Test(arguments: [
        "T",  // 6 bits: not even one byte
        "TWFuT",  // a dangling sixth-bit group
        "TQ===",  // three padding characters
        "====",
        "TQ==TQ==",  // data after padding
        "=TWFu",
        "TW-u",  // base64url, not standard
        "TW_u",
        "TWFu!",
        "TW.u",
        "TWFu\u{00E9}",  // non-ASCII
        "TWFu\u{0000}",
    ])
    func rejects(_ input: String) {
        #expect(Base64.decode(Array(input.utf8)) == nil)
    }

    @Test(arguments: 0..<20)
    func agreesWithFoundation(_ length: Int) {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
        let plain = Data(bytes).base64EncodedString()
        let wrapped = Data(bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithCarriageReturn])
        #expect(Base64.decode(Array(plain.utf8)) == bytes)
        #expect(Base64.decode(Array(wrapped.utf8)) == bytes)
    }

    @Test func decodesLongWrappedInputAsFoundationDoes() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 131) }
        let wrapped = Data(bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        #expect(Base64.decode(Array(wrapped.utf8)) == bytes)
    }
}

/// Regression: `cat a.pem b.pem` where a.pem has no final newline joins END and BEGIN on one line; the
/// error used to say only "no END line", which sent users looking in the wrong place.
struct PEMJoinedBoundaryTests {
    @Test func namesTheJoinedLine() {
        let ca = TestPKI.certificateAuthority().pem
        let joined = Array((ca + ca + "\n").utf8)
        #expect(throws: PEMScanError.joinedBoundaries(line: ca.split(separator: "\n").count)) {
            try PEMScanner.scan(joined)
        }
    }
}
