import BackendTLS
import Foundation
import TestCertificates
import Testing
import X509

struct CABundleInspectorTests {
    private let day: TimeInterval = 86_400

    private func inspect(
        _ text: String, configuration: CABundleInspector.Configuration = .init(), now: Date = Fixtures.now
    ) -> CABundleInspection {
        CABundleInspector(configuration: configuration).inspect(Array(text.utf8), now: now)
    }

    private func summary(_ inspection: CABundleInspection) -> [String] {
        inspection.findings.map { "\($0.severity) \($0.reason): \($0.message)" }
    }

    // MARK: Good bundles

    @Test func singleCertificateAuthorityIsClean() throws {
        let ca = TestPKI.certificateAuthority()
        let inspection = inspect(ca.pemText)
        #expect(inspection.findings.isEmpty, "\(summary(inspection))")
        #expect(!inspection.hasErrors)
        let certificate = try #require(inspection.certificates.first)
        #expect(inspection.certificates.count == 1)
        #expect(certificate.subject == "CN=Test Root CA")
        #expect(certificate.issuer == "CN=Test Root CA")
        let der = TestPKI.der(ca.certificate)
        #expect(certificate.der == der)
        #expect(certificate.sha256 == TestPKI.sha256Hex(der))
        #expect(certificate.sha256.count == 64)
        #expect(certificate.notBefore == Fixtures.now.addingTimeInterval(-day * 365))
        #expect(certificate.notAfter == Fixtures.now.addingTimeInterval(day * 365 * 5))
        #expect(certificate.isCertificateAuthority)
        #expect(certificate.isSelfSigned)
        #expect(inspection.fingerprint == "sha256:" + TestPKI.sha256Hex(der))
        #expect(inspection.earliestExpiry == certificate.notAfter)
        #expect(inspection.certificatesValid(at: Fixtures.now).count == 1)
    }

    @Test func subjectIsRenderedInRFC4514Order() throws {
        let inspection = inspect(TestPKI.namedCertificateAuthority().pemText)
        let certificate = try #require(inspection.certificates.first)
        #expect(certificate.subject == "CN=Example Root CA,O=Example,C=US")
    }

    @Test func rootAndIntermediateChainIsClean() throws {
        let root = TestPKI.certificateAuthority()
        let intermediate = TestPKI.issue(
            name: "Test Intermediate CA", by: root, isCertificateAuthority: true,
            notAfter: Fixtures.now.addingTimeInterval(day * 365))
        let inspection = inspect(root.pemText + intermediate.pemText)
        #expect(inspection.findings.isEmpty, "\(summary(inspection))")
        try #require(inspection.certificates.count == 2)
        #expect(inspection.certificates[1].subject == "CN=Test Intermediate CA")
        #expect(inspection.certificates[1].issuer == "CN=Test Root CA")
        #expect(inspection.certificates[1].isCertificateAuthority)
        #expect(!inspection.certificates[1].isSelfSigned)
        #expect(inspection.earliestExpiry == Fixtures.now.addingTimeInterval(day * 365))
        let concatenated = TestPKI.der(root.certificate) + TestPKI.der(intermediate.certificate)
        #expect(inspection.fingerprint == "sha256:" + TestPKI.sha256Hex(concatenated))
    }

    @Test(arguments: [false, true])
    func rsaAndECDSAAuthoritiesAreClean(_ rsa: Bool) throws {
        let ca = rsa ? TestPKI.sharedRSACertificateAuthority : TestPKI.certificateAuthority()
        let leafIssuedByIt = TestPKI.issue(name: "Intermediate", by: ca, isCertificateAuthority: true)
        let inspection = inspect(ca.pemText + leafIssuedByIt.pemText)
        #expect(inspection.findings.isEmpty, "\(summary(inspection))")
        #expect(inspection.certificates.map(\.isCertificateAuthority) == [true, true])
        #expect(inspection.certificates.first?.isSelfSigned == true)
    }

    @Test func fingerprintIsStableAndOrderSensitive() {
        let first = TestPKI.certificateAuthority(name: "First CA")
        let second = TestPKI.certificateAuthority(name: "Second CA")
        let forward = inspect(first.pemText + second.pemText)
        // Another inspector (no shared cache), other explanatory text and line endings: same trust set.
        let again = CABundleInspector().inspect(
            Array(("# comment\r\n" + first.pemText + "\n\n" + second.pemText).utf8), now: Fixtures.now)
        let backward = inspect(second.pemText + first.pemText)
        #expect(forward.fingerprint.hasPrefix("sha256:"))
        #expect(forward.fingerprint.count == "sha256:".count + 64)
        #expect(forward.fingerprint == again.fingerprint)
        #expect(forward.fingerprint != backward.fingerprint)
        #expect(forward.fingerprint != inspect(first.pemText).fingerprint)
    }

    // MARK: Time

    @Test func expiredOnlyCertificateIsAnError() throws {
        let notAfter = Fixtures.now.addingTimeInterval(-day * 10)
        let ca = TestPKI.certificateAuthority(notBefore: notAfter.addingTimeInterval(-day * 365), notAfter: notAfter)
        let inspection = inspect(ca.pemText)
        let finding = try #require(inspection.findings.first)
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        #expect(finding.severity == .error)
        #expect(finding.reason == .expiredCertificate)
        #expect(finding.message.contains(RFC3339.format(notAfter)))
        #expect(finding.message.contains("expired"))
        #expect(finding.message.contains("CN=Test Root CA"))
        #expect(inspection.certificatesValid(at: Fixtures.now).isEmpty)
    }

    @Test func notYetValidOnlyCertificateIsAnError() throws {
        let notBefore = Fixtures.now.addingTimeInterval(day * 3)
        let ca = TestPKI.certificateAuthority(notBefore: notBefore, notAfter: notBefore.addingTimeInterval(day * 365))
        let inspection = inspect(ca.pemText)
        let finding = try #require(inspection.findings.first)
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        #expect(finding.severity == .error)
        #expect(finding.reason == .notYetValidCertificate)
        #expect(finding.message.contains(RFC3339.format(notBefore)))
    }

    @Test func allExpiredAndNotYetValidIsOneError() throws {
        let expired = TestPKI.certificateAuthority(
            name: "Old CA", notBefore: Fixtures.now.addingTimeInterval(-day * 400),
            notAfter: Fixtures.now.addingTimeInterval(-day))
        let future = TestPKI.certificateAuthority(
            name: "New CA", notBefore: Fixtures.now.addingTimeInterval(day),
            notAfter: Fixtures.now.addingTimeInterval(day * 400))
        let inspection = inspect(expired.pemText + future.pemText)
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        let finding = try #require(inspection.findings.first)
        #expect(finding.severity == .error)
        #expect(finding.message.contains("Old CA"))
        #expect(finding.message.contains("New CA"))
    }

    @Test func expiredNextToValidIsOnlyAWarning() throws {
        let notAfter = Fixtures.now.addingTimeInterval(-day * 2)
        let expired = TestPKI.certificateAuthority(
            name: "Old CA", notBefore: notAfter.addingTimeInterval(-day * 365), notAfter: notAfter)
        let valid = TestPKI.certificateAuthority(name: "New CA")
        let inspection = inspect(expired.pemText + valid.pemText)
        #expect(!inspection.hasErrors, "\(summary(inspection))")
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        let finding = try #require(inspection.findings.first)
        #expect(finding.severity == .warning)
        #expect(finding.reason == .expiredCertificate)
        #expect(finding.message.contains("Old CA"))
        #expect(finding.message.contains(RFC3339.format(notAfter)))
        #expect(inspection.certificatesValid(at: Fixtures.now).map(\.subject) == ["CN=New CA"])
    }

    @Test func notYetValidNextToValidIsOnlyAWarning() throws {
        let notBefore = Fixtures.now.addingTimeInterval(day * 5)
        let future = TestPKI.certificateAuthority(
            name: "Next CA", notBefore: notBefore, notAfter: notBefore.addingTimeInterval(day * 365))
        let inspection = inspect(TestPKI.certificateAuthority().pemText + future.pemText)
        #expect(inspection.findings.map(\.reason) == [.notYetValidCertificate], "\(summary(inspection))")
        #expect(inspection.findings.first?.severity == .warning)
        #expect(inspection.findings.first?.message.contains(RFC3339.format(notBefore)) == true)
    }

    @Test func expiringWithinThirtyDaysWarnsWithDate() throws {
        let notAfter = Fixtures.now.addingTimeInterval(day * 20)
        let ca = TestPKI.certificateAuthority(notAfter: notAfter)
        let inspection = inspect(ca.pemText)
        let finding = try #require(inspection.findings.first)
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        #expect(finding.severity == .warning)
        #expect(finding.reason == .expiringCertificate)
        #expect(finding.message.contains(RFC3339.format(notAfter)))
        #expect(finding.message.contains("in 20 days"))
    }

    @Test(arguments: [
        (20, 7, false),
        (20, 30, true),
        (6, 7, true),
        (30, 30, true),  // on the horizon
        (31, 30, false),
        (20, 0, false),
        (100, 365, true),
    ])
    func expiryWarningWindowIsConfigurable(_ daysLeft: Int, _ windowDays: Int, _ warns: Bool) {
        let ca = TestPKI.certificateAuthority(notAfter: Fixtures.now.addingTimeInterval(day * Double(daysLeft)))
        let configuration = CABundleInspector.Configuration(expiryWarningWindow: .seconds(windowDays * 86_400))
        let inspection = inspect(ca.pem, configuration: configuration)
        #expect(inspection.findings.contains { $0.reason == .expiringCertificate } == warns, "\(summary(inspection))")
        #expect(!inspection.hasErrors)
    }

    @Test func expiringInOneDayIsSingular() throws {
        let ca = TestPKI.certificateAuthority(notAfter: Fixtures.now.addingTimeInterval(day + 3600))
        let finding = try #require(inspect(ca.pemText).findings.first)
        #expect(finding.message.contains("(in 1 day)"))
    }

    // MARK: Anchors

    @Test func leafAsAnchorWarnsNotACertificateAuthority() throws {
        let ca = TestPKI.certificateAuthority()
        let leaf = TestPKI.issue(name: "backend.example.com", by: ca, dnsNames: ["backend.example.com"])
        let inspection = inspect(leaf.pemText)
        #expect(!inspection.hasErrors)
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        let finding = try #require(inspection.findings.first)
        #expect(finding.severity == .warning)
        #expect(finding.reason == .notACertificateAuthority)
        #expect(finding.message.contains("CN=backend.example.com"))
        #expect(inspection.certificates.first?.isCertificateAuthority == false)
        #expect(inspection.certificates.first?.isSelfSigned == false)
    }

    @Test func leafNamedLikeItsIssuerIsStillNotSelfSigned() throws {
        // Same subject and issuer name, but the signature is the CA's: not a self-signed certificate.
        let ca = TestPKI.certificateAuthority(name: "Shared Name")
        let leaf = TestPKI.issue(name: "Shared Name", by: ca)
        let inspection = inspect(leaf.pemText)
        #expect(inspection.certificates.first?.isSelfSigned == false)
        #expect(inspection.findings.map(\.reason) == [.notACertificateAuthority], "\(summary(inspection))")
    }

    @Test func selfSignedLeafIsAnAcceptableAnchor() throws {
        let inspection = inspect(TestPKI.selfSignedLeaf().pemText)
        #expect(inspection.findings.isEmpty, "\(summary(inspection))")
        let certificate = try #require(inspection.certificates.first)
        #expect(!certificate.isCertificateAuthority)
        #expect(certificate.isSelfSigned)
    }

    // MARK: Structure

    @Test(arguments: TestPKI.KeyFormat.allCases)
    func privateKeyIsAnErrorThatNeverQuotesTheKey(_ format: TestPKI.KeyFormat) throws {
        let key = format.keyPEM
        let lines = TestPKI.bodyLines(key)
        try #require(lines.count >= 2)
        try #require(key.hasPrefix("-----BEGIN \(format.label)-----\n"))
        let ca = TestPKI.certificateAuthority()
        let inspection = inspect(ca.pemText + key)
        let keyFindings = inspection.findings.filter { $0.reason == .privateKeyInBundle }
        #expect(keyFindings.count == 1, "\(summary(inspection))")
        let finding = try #require(keyFindings.first)
        #expect(finding.severity == .error)
        #expect(inspection.hasErrors)
        #expect(finding.message.contains("\"\(format.label)\""))
        #expect(finding.message.contains("PEM block 2"))
        #expect(inspection.certificates.count == 1)
        for message in inspection.findings.map(\.message) {
            for line in lines {
                #expect(!message.contains(line), "message quotes key material: \(message)")
                #expect(!message.contains(line.prefix(16)), "message quotes key material: \(message)")
            }
        }
    }

    @Test(arguments: ["missingEnd", "badBase64"])
    func brokenPrivateKeyBlockIsDeniedWithoutQuotingIt(_ damage: String) {
        let key = TestPKI.privateKeyPEM()
        let broken =
            damage == "missingEnd"
            ? key.replacingOccurrences(of: "-----END PRIVATE KEY-----", with: "")
            : key.replacingOccurrences(of: "-----END", with: "@@@@\n-----END")
        let inspection = inspect(TestPKI.certificateAuthority().pemText + broken)
        #expect(inspection.hasErrors, "\(summary(inspection))")
        for message in inspection.findings.map(\.message) {
            #expect(message.contains("PRIVATE KEY"), "\(message)")
            for line in TestPKI.bodyLines(key) { #expect(!message.contains(line), "\(message)") }
        }
    }

    @Test func privateKeyAloneIsAnError() {
        let inspection = inspect(TestPKI.privateKeyPEM())
        #expect(inspection.findings.map(\.reason) == [.privateKeyInBundle], "\(summary(inspection))")
        #expect(inspection.certificates.isEmpty)
    }

    @Test(arguments: ["X509 CRL", "PUBLIC KEY", "CERTIFICATE REQUEST", "TRUSTED CERTIFICATE", "PKCS7"])
    func otherBlockTypesAreMalformedBundle(_ label: String) throws {
        let ca = TestPKI.certificateAuthority()
        let other = TestPKI.pem(label: label, der: TestPKI.der(ca.certificate))
        let inspection = inspect(ca.pemText + other)
        let finding = try #require(inspection.findings.first)
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        #expect(finding.severity == .error)
        #expect(finding.reason == .malformedBundle)
        #expect(finding.message.contains("\"\(label)\""))
        #expect(finding.message.contains("PEM block 2"))
    }

    @Test func garbageInsideCertificateBlockIsMalformedCertificate() throws {
        let ca = TestPKI.certificateAuthority()
        let garbage = TestPKI.pem(label: "CERTIFICATE", der: Array("this is not DER at all".utf8))
        let inspection = inspect(ca.pemText + garbage)
        let finding = try #require(inspection.findings.first)
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        #expect(finding.severity == .error)
        #expect(finding.reason == .malformedCertificate)
        #expect(finding.message.contains("PEM block 2"))
        #expect(inspection.certificates.count == 1)
    }

    @Test func truncatedCertificateIsMalformedCertificate() throws {
        let der = TestPKI.der(TestPKI.certificateAuthority().certificate)
        let inspection = inspect(TestPKI.pem(label: "CERTIFICATE", der: Array(der.prefix(der.count / 2))))
        #expect(inspection.findings.map(\.reason) == [.malformedCertificate], "\(summary(inspection))")
        #expect(inspection.hasErrors)
        #expect(inspection.certificates.isEmpty)
    }

    @Test func invalidPEMIsMalformedBundleWithScannerMessage() throws {
        let ca = TestPKI.certificateAuthority()
        let truncated = try #require(ca.pemText.components(separatedBy: "-----END").first)
        let inspection = inspect(truncated)
        let finding = try #require(inspection.findings.first)
        #expect(finding.reason == .malformedBundle)
        #expect(finding.severity == .error)
        #expect(finding.message.contains("no END line"))
    }

    @Test(arguments: ["", " ", "\n\n", " \t\r\n  \n"])
    func emptyBundleIsAnError(_ text: String) throws {
        let inspection = inspect(text)
        let finding = try #require(inspection.findings.first)
        #expect(inspection.findings.count == 1)
        #expect(finding.severity == .error)
        #expect(finding.reason == .malformedBundle)
        #expect(finding.message.contains("empty"))
        #expect(inspection.certificates.isEmpty)
    }

    @Test func textWithoutPEMBlocksIsAnError() throws {
        let inspection = inspect("this is not a certificate\n")
        let finding = try #require(inspection.findings.first)
        #expect(finding.reason == .malformedBundle)
        #expect(finding.severity == .error)
        #expect(!finding.message.contains("DER"))
    }

    @Test func derInsteadOfPEMIsAnErrorMentioningDER() throws {
        let der = TestPKI.der(TestPKI.certificateAuthority().certificate)
        let inspection = CABundleInspector().inspect(der, now: Fixtures.now)
        let finding = try #require(inspection.findings.first)
        #expect(inspection.findings.count == 1, "\(summary(inspection))")
        #expect(finding.severity == .error)
        #expect(finding.reason == .malformedBundle)
        #expect(finding.message.contains("DER"))
        #expect(inspection.certificates.isEmpty)
    }

    // MARK: Limits

    @Test func sizeLimitIsInclusive() throws {
        let pem = TestPKI.certificateAuthority().pemText
        let size = pem.utf8.count
        let atLimit = inspect(pem, configuration: .init(maximumBytes: size))
        #expect(atLimit.findings.isEmpty, "\(summary(atLimit))")
        let over = inspect(pem, configuration: .init(maximumBytes: size - 1))
        let finding = try #require(over.findings.first)
        #expect(over.findings.count == 1)
        #expect(finding.severity == .error)
        #expect(finding.reason == .bundleTooLarge)
        #expect(finding.message.contains("\(size) bytes"))
        #expect(finding.message.contains("\(size - 1) bytes"))
        #expect(over.certificates.isEmpty)
    }

    @Test func certificateCountLimit() throws {
        let bundle = (1...3).map { TestPKI.certificateAuthority(name: "CA \($0)").pemText }.joined()
        let atLimit = inspect(bundle, configuration: .init(maximumCertificates: 3))
        #expect(atLimit.findings.isEmpty, "\(summary(atLimit))")
        #expect(atLimit.certificates.count == 3)
        let over = inspect(bundle, configuration: .init(maximumCertificates: 2))
        let finding = try #require(over.findings.first)
        #expect(over.findings.count == 1)
        #expect(finding.severity == .error)
        #expect(finding.reason == .bundleTooLarge)
        #expect(finding.message.contains("3 certificates"))
        #expect(over.certificates.isEmpty)
    }

    // MARK: Cache

    @Test func cacheIsKeyedByContentAndIndependentOfTime() throws {
        let inspector = CABundleInspector()
        let bytes = Array(TestPKI.certificateAuthority().pemText.utf8)
        let first = inspector.inspect(bytes, now: Fixtures.now)
        let second = inspector.inspect(bytes, now: Fixtures.now)
        #expect(first == second)
        #expect(first.findings.isEmpty)

        // Six years later the CA (valid for five) has expired: time findings must not be cached.
        let later = inspector.inspect(bytes, now: Fixtures.now.addingTimeInterval(day * 365 * 6))
        #expect(later.findings.map(\.reason) == [.expiredCertificate])
        #expect(later.hasErrors)
        #expect(later.certificates == first.certificates)
        #expect(later.fingerprint == first.fingerprint)

        // Two years earlier it was not valid yet.
        let earlier = inspector.inspect(bytes, now: Fixtures.now.addingTimeInterval(-day * 365 * 2))
        #expect(earlier.findings.map(\.reason) == [.notYetValidCertificate])

        // And back at `now`, clean again.
        #expect(inspector.inspect(bytes, now: Fixtures.now) == first)
    }

    @Test func cacheDoesNotConfuseDifferentBundles() {
        let inspector = CABundleInspector()
        let good = Array(TestPKI.certificateAuthority().pemText.utf8)
        let bad = good + Array(TestPKI.privateKeyPEM().utf8)
        #expect(inspector.inspect(good, now: Fixtures.now).findings.isEmpty)
        #expect(inspector.inspect(bad, now: Fixtures.now).findings.map(\.reason) == [.privateKeyInBundle])
        #expect(inspector.inspect(good, now: Fixtures.now).findings.isEmpty)
    }
}

struct SystemBundleTests {
    static let path = "/etc/ssl/certs/ca-certificates.crt"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: path), "no system CA bundle"))
    func systemBundleParsesCleanly() throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.path))
        let clock = ContinuousClock()
        var inspection: CABundleInspection?
        let elapsed = clock.measure {
            inspection = CABundleInspector().inspect(Array(bytes), now: Fixtures.now)
        }
        let result = try #require(inspection)
        #expect(result.certificates.count > 50)
        let errors = result.findings.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors.map(\.message))")
        // Generous: a debug build on a busy 2-core machine; the point is "not seconds".
        #expect(elapsed < .seconds(5), "inspecting the system bundle took \(elapsed)")
        print("system bundle: \(result.certificates.count) certificates inspected in \(elapsed)")

        let scanElapsed = clock.measure { _ = try? PEMScanner.scan(Array(bytes)) }
        #expect(scanElapsed < .seconds(1), "scanning the system bundle took \(scanElapsed)")
        print("system bundle: scanned in \(scanElapsed)")
    }
}
