import BackendTLS
import Foundation
import TestCertificates
import Testing
import X509

@testable import BackendTLSSidecar

/// Chain, validity, GEP-1897 identity and pinning, judged at `SidecarTestPKI.now` on certificates made in code.
struct UpstreamCertificateVerifierTests {
    typealias PKI = SidecarTestPKI
    typealias Reason = UpstreamCertificateVerifier.Failure.Reason

    static let hostname = "backend.example.com"
    static let spiffeID = "spiffe://cluster.local/ns/default/sa/backend"

    /// root ── intermediate ── leaf (DNS:backend.example.com, URI:spiffe://…/sa/backend).
    struct Chain {
        let root = PKI.certificateAuthority()
        let intermediate: PKI.Issued
        let leaf: PKI.Issued

        init(dnsNames: [String] = [hostname], uris: [String] = [spiffeID]) {
            intermediate = PKI.issue(name: "Sidecar Unit Intermediate CA", by: root, isCertificateAuthority: true)
            leaf = PKI.issue(name: hostname, by: intermediate, dnsNames: dnsNames, uris: uris)
        }

        var presented: [PKI.Issued] { [leaf, intermediate] }
    }

    // MARK: Helpers

    private func verify(
        _ chain: [PKI.Issued],
        trusting roots: [PKI.Issued]?,
        serverName: String = hostname,
        identity: ResolvedBackendTLS.Identity? = nil,
        pins: [String] = [],
        at now: Date = PKI.now
    ) async throws -> Result<Void, UpstreamCertificateVerifier.Failure> {
        let settings = PKI.settings(
            trusting: roots, serverName: serverName, identity: identity,
            options: BackendTLSOptions(certificateHashes: pins))
        return try await UpstreamCertificateVerifier(settings: settings).verify(chain: chain.map(\.der), now: now)
    }

    private func expectVerified(
        _ result: Result<Void, UpstreamCertificateVerifier.Failure>, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        if case .failure(let failure) = result {
            Issue.record("refused (\(failure.reason)): \(failure.message)", sourceLocation: sourceLocation)
        }
    }

    private func expectRefused(
        _ result: Result<Void, UpstreamCertificateVerifier.Failure>,
        reason: Reason,
        mentioning fragments: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .failure(let failure) = result else {
            Issue.record("verified; wanted \(reason)", sourceLocation: sourceLocation)
            return
        }
        #expect(failure.reason == reason, "\(failure.message)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(
                failure.message.contains(fragment), "wanted \(fragment.debugDescription) in \(failure.message)",
                sourceLocation: sourceLocation)
        }
    }

    // MARK: Chain

    @Test func chainThroughAnIntermediateVerifiesAgainstTheRoot() async throws {
        let chain = Chain()
        expectVerified(try await verify(chain.presented, trusting: [chain.root]))
    }

    @Test func intermediateNotSentIsAnUnknownIssuer() async throws {
        let chain = Chain()
        expectRefused(try await verify([chain.leaf], trusting: [chain.root]), reason: .unknownIssuer)
    }

    @Test func anotherCAIsAnUnknownIssuerNamingTheBundle() async throws {
        let chain = Chain()
        let other = PKI.certificateAuthority(name: "Unrelated Root CA")
        expectRefused(
            try await verify(chain.presented, trusting: [other]), reason: .unknownIssuer,
            mentioning: [PKI.bundleFingerprint, "Sidecar Unit Root CA"])
    }

    @Test func trustingOnlyTheIntermediateIsEnough() async throws {
        let chain = Chain()
        expectVerified(try await verify(chain.presented, trusting: [chain.intermediate]))
    }

    @Test func systemStoreDoesNotTrustAPrivateCA() async throws {
        let chain = Chain()
        expectRefused(
            try await verify(chain.presented, trusting: nil), reason: .unknownIssuer, mentioning: ["system CA store"])
    }

    @Test(arguments: [false, true])
    func selfSignedServerCertificateIsItsOwnAnchor(_ isCertificateAuthority: Bool) async throws {
        // OpenSSL (curl, nginx's proxy_ssl_trusted_certificate) and `backendtls lint` accept a CA:FALSE
        // self-signed server certificate as its own trust anchor; swift-certificates' RFC5280Policy alone does not.
        let server = PKI.selfSignedServer(isCertificateAuthority: isCertificateAuthority)
        expectVerified(try await verify([server], trusting: [server]))
    }

    @Test func selfSignedServerCertificateNotInTheBundleIsRefused() async throws {
        let server = PKI.selfSignedServer()
        let other = PKI.selfSignedServer()
        expectRefused(try await verify([server], trusting: [other]), reason: .unknownIssuer)
    }

    // MARK: Validity

    @Test func expiredLeafIsRefusedWithItsDate() async throws {
        let root = PKI.certificateAuthority()
        let leaf = PKI.issue(
            name: Self.hostname, by: root, dnsNames: [Self.hostname],
            notBefore: PKI.now.addingTimeInterval(-86_400 * 30),
            notAfter: PKI.now.addingTimeInterval(-60))
        expectRefused(
            try await verify([leaf], trusting: [root]), reason: .expired,
            mentioning: [RFC3339.format(leaf.certificate.notValidAfter)])
    }

    @Test func notYetValidLeafIsRefusedWithItsDate() async throws {
        let root = PKI.certificateAuthority()
        let leaf = PKI.issue(
            name: Self.hostname, by: root, dnsNames: [Self.hostname], notBefore: PKI.now.addingTimeInterval(60),
            notAfter: PKI.now.addingTimeInterval(86_400 * 30))
        expectRefused(
            try await verify([leaf], trusting: [root]), reason: .notYetValid,
            mentioning: [RFC3339.format(leaf.certificate.notValidBefore)])
    }

    @Test func validityIsJudgedAtTheGivenTime() async throws {
        let chain = Chain()
        expectRefused(
            try await verify(chain.presented, trusting: [chain.root], at: PKI.now.addingTimeInterval(86_400 * 365)),
            reason: .expired)
    }

    @Test func expiredIntermediateIsRefusedAsExpired() async throws {
        // Issue 5 (Operability): expired certificates are explained as expired, with dates — not as an
        // unknown issuer, which sends the operator to the wrong CA bundle.
        let root = PKI.certificateAuthority()
        let intermediate = PKI.issue(
            name: "Retired Intermediate CA", by: root, isCertificateAuthority: true,
            notBefore: PKI.now.addingTimeInterval(-86_400 * 400), notAfter: PKI.now.addingTimeInterval(-86_400))
        let leaf = PKI.issue(name: Self.hostname, by: intermediate, dnsNames: [Self.hostname])
        expectRefused(
            try await verify([leaf, intermediate], trusting: [root]), reason: .expired,
            mentioning: [RFC3339.format(intermediate.certificate.notValidAfter)])
    }

    /// Let's Encrypt's long chain: the server also sends its root cross-signed by an old root that has expired. The
    /// path to the trusted root does not use it, so the chain verifies, as with OpenSSL and Go.
    @Test func expiredCertificateSentBesideTheVerifiedPathIsIgnored() async throws {
        let root = PKI.certificateAuthority(name: "Current Root")
        let retired = PKI.certificateAuthority(
            name: "Retired Root", notBefore: PKI.now.addingTimeInterval(-86_400 * 3_000),
            notAfter: PKI.now.addingTimeInterval(-86_400 * 200))
        let crossSigned = PKI.Issued.make(
            subject: root.certificate.subject, key: root.key, issuer: retired,
            notBefore: PKI.now.addingTimeInterval(-86_400 * 1_000), notAfter: PKI.now.addingTimeInterval(-86_400),
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true, cRLSign: true)
            })
        let intermediate = PKI.issue(name: "Issuing CA", by: root, isCertificateAuthority: true)
        let leaf = PKI.issue(name: Self.hostname, by: intermediate, dnsNames: [Self.hostname])
        expectVerified(try await verify([leaf, intermediate, crossSigned], trusting: [root]))
        // Trusting only the retired root, the expired cross-signature is on the only path: refused, as expired.
        expectRefused(
            try await verify([leaf, intermediate, crossSigned], trusting: [retired]), reason: .expired,
            mentioning: [RFC3339.format(crossSigned.certificate.notValidAfter)])
        // Trusting neither, no path leads to the bundle: an unknown issuer, whatever expired beside it.
        expectRefused(
            try await verify([leaf, intermediate, crossSigned], trusting: [PKI.certificateAuthority(name: "Other")]),
            reason: .unknownIssuer)
    }

    // MARK: Hostname identity (no subjectAltNames)

    @Test(arguments: [
        (["backend.example.com"], "backend.example.com", true),
        (["Backend.Example.COM"], "backend.example.com", true),
        (["other.example.com", "backend.example.com"], "backend.example.com", true),
        (["*.example.com"], "a.example.com", true),
        (["*.example.com"], "a.b.example.com", false),
        (["*.example.com"], "example.com", false),
        (["*.com"], "example.com", false),
        (["backend.example.com.evil.org"], "backend.example.com", false),
        (["ackend.example.com"], "backend.example.com", false),
        (["other.example.com"], "backend.example.com", false),
    ])
    func hostnameMatchesDNSNames(_ dnsNames: [String], _ hostname: String, _ matches: Bool) async throws {
        let root = PKI.certificateAuthority()
        let leaf = PKI.issue(name: "CN is never identity", by: root, dnsNames: dnsNames)
        let result = try await verify([leaf], trusting: [root], serverName: hostname)
        if matches {
            expectVerified(result)
        } else {
            expectRefused(result, reason: .hostnameMismatch, mentioning: [hostname, "DNS:\(dnsNames[0])"])
        }
    }

    @Test func commonNameIsNotAnIdentity() async throws {
        let root = PKI.certificateAuthority()
        let leaf = PKI.issue(name: Self.hostname, by: root)
        expectRefused(
            try await verify([leaf], trusting: [root]), reason: .hostnameMismatch, mentioning: ["no subjectAltNames"])
    }

    @Test func uriSANDoesNotSatisfyTheHostname() async throws {
        let root = PKI.certificateAuthority()
        let leaf = PKI.issue(name: Self.hostname, by: root, uris: ["https://backend.example.com/"])
        expectRefused(try await verify([leaf], trusting: [root]), reason: .hostnameMismatch)
    }

    // MARK: subjectAltNames identity (GEP-1897: the hostname is then only the SNI)

    @Test func hostnameIsNotIdentityWhenSubjectAltNamesAreSet() async throws {
        // The certificate is valid for the hostname, but not for the one SAN the policy lists.
        let chain = Chain()
        expectRefused(
            try await verify(
                chain.presented, trusting: [chain.root],
                identity: .subjectAltNames([.uri("spiffe://cluster.local/ns/default/sa/other")])),
            reason: .subjectAltNameMismatch,
            mentioning: [
                "URI:spiffe://cluster.local/ns/default/sa/other", "DNS:\(Self.hostname)", "URI:\(Self.spiffeID)",
            ])
    }

    @Test func aMatchingSANAuthenticatesAnotherHostname() async throws {
        let chain = Chain()
        expectVerified(
            try await verify(
                chain.presented, trusting: [chain.root], serverName: "alias.example.com",
                identity: .subjectAltNames([.dnsName("nope.example.com"), .uri(Self.spiffeID)])))
    }

    @Test(arguments: [
        (Self.spiffeID, true),
        ("spiffe://cluster.local/ns/default/sa/back", false),
        ("spiffe://cluster.local/ns/default/sa/backend/", false),
        ("spiffe://cluster.local/ns/default/sa/backend2", false),
        ("spiffe://other.local/ns/default/sa/backend", false),
    ])
    func uriSANMatchesExactly(_ uri: String, _ matches: Bool) async throws {
        let chain = Chain()
        let result = try await verify(chain.presented, trusting: [chain.root], identity: .subjectAltNames([.uri(uri)]))
        if matches {
            expectVerified(result)
        } else {
            expectRefused(result, reason: .subjectAltNameMismatch)
        }
    }

    @Test(arguments: [
        (["backend.example.com"], "backend.example.com", true),
        (["*.example.com"], "a.example.com", true),
        (["*.example.com"], "a.b.example.com", false),
        (["backend.example.com"], "other.example.com", false),
    ])
    func hostnameSANMatchesDNSNames(_ dnsNames: [String], _ wanted: String, _ matches: Bool) async throws {
        let chain = Chain(dnsNames: dnsNames, uris: [])
        let result = try await verify(
            chain.presented, trusting: [chain.root], serverName: "sni.example.com",
            identity: .subjectAltNames([.dnsName(wanted)]))
        if matches {
            expectVerified(result)
        } else {
            expectRefused(result, reason: .subjectAltNameMismatch)
        }
    }

    @Test func hostnameSANIsNotMatchedAgainstURISANs() async throws {
        let chain = Chain(dnsNames: [], uris: ["backend.example.com"])
        expectRefused(
            try await verify(
                chain.presented, trusting: [chain.root], identity: .subjectAltNames([.dnsName(Self.hostname)])),
            reason: .subjectAltNameMismatch)
    }

    @Test func subjectAltNamesDoNotExcuseAnUntrustedChain() async throws {
        let chain = Chain()
        expectRefused(
            try await verify(
                chain.presented, trusting: [PKI.certificateAuthority(name: "Other")],
                identity: .subjectAltNames([.uri(Self.spiffeID)])),
            reason: .unknownIssuer)
    }

    // MARK: Pinning (on top of verification, never instead of it)

    @Test func pinnedLeafVerifies() async throws {
        let chain = Chain()
        expectVerified(
            try await verify(
                chain.presented, trusting: [chain.root],
                pins: ["00" + String(repeating: "0", count: 62), chain.leaf.sha256]))
    }

    @Test func unpinnedLeafIsAPinMismatch() async throws {
        let chain = Chain()
        let other = Chain()
        expectRefused(
            try await verify(chain.presented, trusting: [chain.root], pins: [other.leaf.sha256]), reason: .pinMismatch,
            mentioning: [chain.leaf.sha256])
    }

    @Test func pinMatchesTheLeafNotTheIntermediate() async throws {
        let chain = Chain()
        expectRefused(
            try await verify(chain.presented, trusting: [chain.root], pins: [chain.intermediate.sha256]),
            reason: .pinMismatch)
    }

    @Test func pinDoesNotReplaceChainVerification() async throws {
        let chain = Chain()
        expectRefused(
            try await verify(
                chain.presented, trusting: [PKI.certificateAuthority(name: "Other")], pins: [chain.leaf.sha256]),
            reason: .unknownIssuer)
    }

    @Test func pinDoesNotReplaceIdentity() async throws {
        let chain = Chain()
        expectRefused(
            try await verify(
                chain.presented, trusting: [chain.root], serverName: "other.example.com", pins: [chain.leaf.sha256]),
            reason: .hostnameMismatch)
    }

    // MARK: Malformed input

    @Test func noCertificateIsRefused() async throws {
        let chain = Chain()
        expectRefused(try await verify([], trusting: [chain.root]), reason: .badCertificate)
    }

    @Test func unparsableCertificateIsRefused() async throws {
        let chain = Chain()
        let verifier = try UpstreamCertificateVerifier(settings: PKI.settings(trusting: [chain.root]))
        expectRefused(
            await verifier.verify(chain: [[0x30, 0x03, 0x02, 0x01, 0x01]], now: PKI.now), reason: .badCertificate)
    }

    // MARK: Key usage

    /// Regression (review): RFC 5280 path validation ignores extendedKeyUsage, so a clientAuth-only certificate
    /// from the trusted CA passed, where BoringSSL's own verification (which ours replaces) refuses it.
    @Test func clientOnlyCertificateIsNotAServer() async throws {
        let root = PKI.certificateAuthority()
        let leaf = PKI.issue(name: "client", by: root, dnsNames: [Self.hostname], extendedKeyUsage: [.clientAuth])
        expectRefused(try await verify([leaf], trusting: [root]), reason: .badCertificate, mentioning: ["serverAuth"])
        let server = PKI.issue(name: "server", by: root, dnsNames: [Self.hostname])
        expectVerified(try await verify([server], trusting: [root]))
    }

    // MARK: Remembered verdicts

    /// The verdict is kept only while every certificate on the path is valid, the root included: here the root
    /// expires long before the leaf, so the remembered verdict ends with it.
    @Test func acceptedChainIsRememberedOnlyWhileItsWholePathIsValid() async throws {
        let root = PKI.certificateAuthority(notAfter: PKI.now.addingTimeInterval(86_400 * 10))
        let intermediate = PKI.issue(name: "Sidecar Unit Intermediate CA", by: root, isCertificateAuthority: true)
        let leaf = PKI.issue(name: Self.hostname, by: intermediate, dnsNames: [Self.hostname])
        let ders = [leaf.der, intermediate.der]
        let verifier = try UpstreamCertificateVerifier(settings: PKI.settings(trusting: [root]))

        #expect(!verifier.alreadyVerified(chain: ders, now: PKI.now))
        expectVerified(await verifier.verify(chain: ders, now: PKI.now))
        #expect(verifier.alreadyVerified(chain: ders, now: PKI.now.addingTimeInterval(86_400 * 9)))
        #expect(!verifier.alreadyVerified(chain: ders, now: PKI.now.addingTimeInterval(86_400 * 11)))
        #expect(!verifier.alreadyVerified(chain: [leaf.der], now: PKI.now), "another chain is not the same verdict")
        expectRefused(
            await verifier.verify(chain: ders, now: PKI.now.addingTimeInterval(86_400 * 11)), reason: .unknownIssuer)
    }

    @Test func refusalsAreNeverRemembered() async throws {
        let chain = Chain(dnsNames: ["other.example.com"], uris: [])
        let ders = chain.presented.map(\.der)
        let verifier = try UpstreamCertificateVerifier(settings: PKI.settings(trusting: [chain.root]))
        for _ in 0..<2 {
            expectRefused(await verifier.verify(chain: ders, now: PKI.now), reason: .hostnameMismatch)
            #expect(!verifier.alreadyVerified(chain: ders, now: PKI.now))
        }
    }
}
