import BackendTLS
import Crypto
import Foundation
import TestCertificates
import Testing

/// Two distinct CAs, made once so that DERs and fingerprints are stable within a run.
private let caA = TestPKI.certificateAuthority(name: "Backend CA A")
private let caB = TestPKI.certificateAuthority(
    name: "Backend CA B", notAfter: Fixtures.now.addingTimeInterval(86_400 * 400))
private let caC = TestPKI.certificateAuthority(name: "Backend CA C")

/// DER bytes of a single-certificate PEM, decoded independently of the library's PEM scanner.
private func der(_ pem: String) -> [UInt8] {
    let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    return Array(Data(base64Encoded: body)!)
}

private func sha256Fingerprint(_ ders: [[UInt8]]) -> String {
    "sha256:" + SHA256.hash(data: ders.flatMap { $0 }).map { String(format: "%02x", $0) }.joined()
}

private let backendService = Fixtures.service(
    ports: [Service.Port(name: "https", port: 443), Service.Port(name: "admin", port: 8443)])

private func caConfigMap(_ name: String, _ pems: [String]) -> ConfigMap {
    Fixtures.configMap(name: name, data: ["ca.crt": pems.joined(separator: "\n")])
}

private func resolver(
    policies: [BackendTLSPolicy], configMaps: [ConfigMap] = [caConfigMap("backend-ca", [caA.pem])],
    services: [Service] = [backendService]
) -> Resolver {
    Resolver(context: Fixtures.context(StoreSnapshot(policies: policies, configMaps: configMaps, services: services)))
}

private func resolved(_ resolution: Resolution, sourceLocation: SourceLocation = #_sourceLocation) throws
    -> ResolvedBackendTLS
{
    guard case .resolved(let settings) = resolution else {
        Issue.record("expected .resolved, got \(resolution)", sourceLocation: sourceLocation)
        throw ResolutionTestError.notResolved
    }
    return settings
}

private func failure(_ resolution: Resolution, sourceLocation: SourceLocation = #_sourceLocation) throws
    -> ResolutionFailure
{
    guard case .failed(let failure) = resolution else {
        Issue.record("expected .failed, got \(resolution)", sourceLocation: sourceLocation)
        throw ResolutionTestError.notFailed
    }
    return failure
}

private enum ResolutionTestError: Error {
    case notResolved
    case notFailed
}

private func reference(_ name: String) -> ObjectReference {
    ObjectReference(kind: "BackendTLSPolicy", namespace: "default", name: name)
}

struct ResolverTests {
    // MARK: Which policy

    @Test(arguments: [
        (ServicePortSelector.name("https"), "sectioned"),
        (.number(443), "sectioned"),
        (.name("admin"), "whole"),
        (.number(8443), "whole"),
        (.number(9999), "whole"),
    ])
    func sectionedPolicyBeatsWholeServicePolicy(_ port: ServicePortSelector, _ expected: String) throws {
        // The whole-Service policy is older: age decides conflicts, not sectioned-vs-whole precedence.
        let whole = Fixtures.policy(
            name: "whole", created: "2026-01-01T00:00:00Z", spec: Fixtures.spec(hostname: "whole.example.com"))
        let sectioned = Fixtures.policy(
            name: "sectioned", created: "2026-05-01T00:00:00Z",
            spec: Fixtures.spec(sectionName: "https", hostname: "sectioned.example.com"))
        let settings = try resolved(
            resolver(policies: [whole, sectioned]).resolve(namespace: "default", service: "backend", port: port))
        #expect(settings.policy == reference(expected))
        #expect(settings.serverName == "\(expected).example.com")
    }

    @Test func unknownServiceWithSectionedPoliciesCannotMapAPortNumber() throws {
        let sectioned = Fixtures.policy(name: "sectioned", spec: Fixtures.spec(sectionName: "https"))
        let whole = Fixtures.policy(name: "whole", spec: Fixtures.spec(hostname: "whole.example.com"))
        let subject = resolver(policies: [sectioned, whole], services: [])
        let failed = try failure(subject.resolve(namespace: "default", service: "backend", port: .number(443)))
        #expect(failed.reason == .targetNotFound)
        #expect(failed.policy == nil)
        #expect(failed.message.contains("default/backend"))
        #expect(failed.message.contains("443"))
        // A port name needs no Service to be mapped.
        let byName = try resolved(subject.resolve(namespace: "default", service: "backend", port: .name("https")))
        #expect(byName.policy == reference("sectioned"))
    }

    /// A port the Service does not declare may still reach the pods of a sectioned port (a headless Service's
    /// address is theirs): with only sectioned policies it fails closed; a whole-Service policy covers it.
    @Test func undeclaredPortOfAServiceWithSectionedPoliciesFailsClosed() throws {
        let sectioned = Fixtures.policy(name: "sectioned", spec: Fixtures.spec(sectionName: "https"))
        let failed = try failure(
            resolver(policies: [sectioned]).resolve(namespace: "default", service: "backend", port: .number(9443)))
        #expect(failed.reason == .targetNotFound)
        #expect(failed.message.contains("port 9443 is not a port of Service default/backend (it declares 443, 8443)"))
        // A declared port no policy targets has none.
        #expect(
            resolver(policies: [sectioned]).resolve(namespace: "default", service: "backend", port: .number(8443))
                == .noPolicy)
        let whole = Fixtures.policy(name: "whole", spec: Fixtures.spec(hostname: "whole.example.com"))
        let covered = try resolved(
            resolver(policies: [sectioned, whole]).resolve(
                namespace: "default", service: "backend", port: .number(9443)))
        #expect(covered.policy == reference("whole"))
    }

    @Test func unknownServiceWithOnlyAWholeServicePolicyResolves() throws {
        let whole = Fixtures.policy(name: "whole", spec: Fixtures.spec())
        let settings = try resolved(
            resolver(policies: [whole], services: []).resolve(
                namespace: "default", service: "backend", port: .number(443)))
        #expect(settings.policy == reference("whole"))
    }

    @Test(arguments: [
        ("default", "other"),
        ("team-b", "backend"),
    ])
    func noPolicyForThatServiceIsNoPolicy(_ namespace: String, _ service: String) {
        let policy = Fixtures.policy(name: "p", spec: Fixtures.spec())
        #expect(
            resolver(policies: [policy]).resolve(namespace: namespace, service: service, port: .number(443))
                == .noPolicy)
        #expect(
            resolver(policies: []).resolve(namespace: "default", service: "backend", port: .name("https")) == .noPolicy)
    }

    @Test func olderPolicyOnTheSameTargetWins() throws {
        let newer = Fixtures.policy(
            name: "a-newer", created: "2026-05-01T00:00:00Z", spec: Fixtures.spec(hostname: "newer.example.com"))
        let older = Fixtures.policy(
            name: "z-older", created: "2026-01-01T00:00:00Z", spec: Fixtures.spec(hostname: "older.example.com"))
        for policies in [[newer, older], [older, newer]] {
            let settings = try resolved(
                resolver(policies: policies).resolve(namespace: "default", service: "backend", port: .number(443)))
            #expect(settings.policy == reference("z-older"))
            #expect(settings.serverName == "older.example.com")
        }
    }

    @Test func equalTimestampsAreBrokenByName() throws {
        let b = Fixtures.policy(
            name: "b", created: "2026-01-01T00:00:00Z", spec: Fixtures.spec(hostname: "b.example.com"))
        let a = Fixtures.policy(
            name: "a", created: "2026-01-01T00:00:00Z", spec: Fixtures.spec(hostname: "a.example.com"))
        let settings = try resolved(
            resolver(policies: [b, a]).resolve(namespace: "default", service: "backend", port: .number(443)))
        #expect(settings.policy == reference("a"))
    }

    /// Conflicts are per target (spec §8): a policy that loses one of its Services to an older policy still
    /// applies to the Service it wins, and the Service it lost gets the older policy.
    @Test func lostConflictOnAnotherTargetLeavesTheWonTargetResolved() throws {
        let multi = Fixtures.policy(
            name: "multi", created: "2026-05-01T00:00:00Z",
            spec: #"""
                {"targetRefs":[{"group":"","kind":"Service","name":"backend"},{"group":"","kind":"Service","name":"other"}],
                 "validation":{"wellKnownCACertificates":"System","hostname":"multi.example.com"}}
                """#)
        let older = Fixtures.policy(
            name: "older", created: "2026-01-01T00:00:00Z",
            spec: Fixtures.spec(service: "other", hostname: "older.example.com"))
        let other = Fixtures.service(name: "other", ports: [Service.Port(name: "https", port: 443)])
        let subject = resolver(policies: [multi, older], services: [backendService, other])
        let won = try resolved(subject.resolve(namespace: "default", service: "backend", port: .number(443)))
        #expect(won.policy == reference("multi"))
        #expect(won.serverName == "multi.example.com")
        let lost = try resolved(subject.resolve(namespace: "default", service: "other", port: .number(443)))
        #expect(lost.policy == reference("older"))
    }

    @Test func invalidWinnerFailsWithoutFallingBackToTheLoser() throws {
        let brokenCA = Fixtures.configMap(name: "broken-ca", data: ["tls.crt": caA.pem])
        let older = Fixtures.policy(
            name: "older", created: "2026-01-01T00:00:00Z", spec: Fixtures.spec(caConfigMap: "broken-ca"))
        let newer = Fixtures.policy(name: "newer", created: "2026-05-01T00:00:00Z", spec: Fixtures.spec())
        let subject = resolver(policies: [older, newer], configMaps: [brokenCA, caConfigMap("backend-ca", [caA.pem])])
        let failed = try failure(subject.resolve(namespace: "default", service: "backend", port: .number(443)))
        #expect(failed.policy == reference("older"))
        #expect(failed.reason == .invalidCACertificateRef)
        #expect(failed.message.contains("ca.crt"), "\(failed.message)")
        #expect(failed.description.hasPrefix("backendtlspolicy default/older: "))
    }

    /// The IPv4 literal passes the upstream hostname pattern and is caught by our rule (`Invalid`); the others
    /// already fail the upstream pattern (`FieldValueInvalid`).
    @Test(arguments: [
        ("10.0.0.1", Diagnostic.Reason.invalid), ("fd00::1", .fieldValueInvalid),
        ("backend.example.com.", .fieldValueInvalid),
    ])
    func hostnameThatCannotBeSNIFails(_ hostname: String, _ reason: Diagnostic.Reason) throws {
        let policy = Fixtures.policy(name: "p", spec: Fixtures.spec(hostname: hostname))
        let failed = try failure(
            resolver(policies: [policy]).resolve(namespace: "default", service: "backend", port: .name("https")))
        #expect(failed.policy == reference("p"))
        #expect(failed.reason == reason)
        #expect(failed.message.contains("spec.validation.hostname"), "\(failed.message)")
    }

    // MARK: Trust

    @Test func wellKnownSystemTrustsTheSystemStore() throws {
        let policy = Fixtures.policy(name: "p", spec: Fixtures.spec(caConfigMap: nil, wellKnown: "System"))
        let settings = try resolved(resolver(policies: [policy], configMaps: []).resolve(policy))
        #expect(settings.trust == .system)
        #expect(settings.trustExpiry == nil)
    }

    @Test func certificatesComeFromEveryValidReference() throws {
        let policy = Fixtures.policy(
            name: "p",
            spec: Fixtures.spec(
                caConfigMap: nil,
                extraValidation:
                    #""caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"ca-a"},{"group":"","kind":"ConfigMap","name":"ca-bc"}]"#
            ))
        let settings = try resolved(
            resolver(
                policies: [policy],
                configMaps: [caConfigMap("ca-a", [caA.pem]), caConfigMap("ca-bc", [caB.pem, caC.pem])]
            ).resolve(policy))
        let expected = [der(caA.pem), der(caB.pem), der(caC.pem)]
        #expect(settings.trust == .certificates(der: expected, fingerprint: sha256Fingerprint(expected)))
        #expect(settings.trustExpiry == Fixtures.now.addingTimeInterval(86_400 * 400))
    }

    @Test func missingReferenceIsSkippedWhenAnotherIsValid() throws {
        let policy = Fixtures.policy(
            name: "p",
            spec: Fixtures.spec(
                caConfigMap: nil,
                extraValidation:
                    #""caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"not-created-yet"},{"group":"","kind":"ConfigMap","name":"ca-a"}]"#
            ))
        let settings = try resolved(
            resolver(policies: [policy], configMaps: [caConfigMap("ca-a", [caA.pem])]).resolve(policy))
        #expect(settings.trust == .certificates(der: [der(caA.pem)], fingerprint: sha256Fingerprint([der(caA.pem)])))
    }

    @Test func onlyMissingReferencesFailClosed() throws {
        let policy = Fixtures.policy(name: "p", spec: Fixtures.spec(caConfigMap: "not-created-yet"))
        let failed = try failure(resolver(policies: [policy], configMaps: []).resolve(policy))
        #expect(failed.reason == .noValidCACertificate)
        #expect(failed.policy == reference("p"))
        #expect(failed.message.contains("not-created-yet"), "\(failed.message)")
    }

    @Test func rotatedBundleChangesFingerprintAndIdentityOfTheSettings() throws {
        let policy = Fixtures.policy(name: "p", spec: Fixtures.spec())
        let before = try resolved(
            resolver(policies: [policy], configMaps: [caConfigMap("backend-ca", [caA.pem])]).resolve(policy))
        let same = try resolved(
            resolver(policies: [policy], configMaps: [caConfigMap("backend-ca", [caA.pem])]).resolve(policy))
        let after = try resolved(
            resolver(policies: [policy], configMaps: [caConfigMap("backend-ca", [caA.pem, caB.pem])]).resolve(policy))
        guard case .certificates(_, let oldPrint) = before.trust, case .certificates(_, let newPrint) = after.trust
        else {
            Issue.record("expected certificate trust")
            return
        }
        #expect(oldPrint != newPrint)
        #expect(before == same)
        #expect(before.hashValue == same.hashValue)
        #expect(before != after)
        #expect(Set([before, same, after]).count == 2)
    }

    // MARK: Identity and options

    @Test func identityIsTheHostnameWithoutSubjectAltNames() throws {
        let policy = Fixtures.policy(name: "p", spec: Fixtures.spec(hostname: "api.example.com"))
        let settings = try resolved(resolver(policies: [policy]).resolve(policy))
        #expect(settings.serverName == "api.example.com")
        #expect(settings.identity == .hostname("api.example.com"))
    }

    @Test func identityIsTheSubjectAltNamesWhenSet() throws {
        let policy = Fixtures.policy(
            name: "p",
            spec: Fixtures.spec(
                hostname: "api.example.com",
                extraValidation:
                    #""subjectAltNames":[{"type":"Hostname","hostname":"internal.example.com"},{"type":"URI","uri":"spiffe://cluster.local/ns/default/sa/api"}]"#
            ))
        let settings = try resolved(resolver(policies: [policy]).resolve(policy))
        #expect(settings.serverName == "api.example.com")
        #expect(
            settings.identity
                == .subjectAltNames([
                    .dnsName("internal.example.com"), .uri("spiffe://cluster.local/ns/default/sa/api"),
                ]))
    }

    @Test func optionsAreParsed() throws {
        let policy = Fixtures.policy(
            name: "p",
            spec: Fixtures.spec(
                options:
                    #"{"backendtls.dev/min-tls-version":"1.2","backendtls.dev/max-tls-version":"1.3","backendtls.dev/alpn-protocols":"h2, http/1.1","vendor.example/other":"x"}"#
            ))
        let settings = try resolved(resolver(policies: [policy]).resolve(policy))
        #expect(
            settings.options
                == BackendTLSOptions(
                    minimumTLSVersion: .v1_2, maximumTLSVersion: .v1_3, alpnProtocols: ["h2", "http/1.1"]))
    }

    @Test func invalidOptionFailsTheResolution() throws {
        let policy = Fixtures.policy(
            name: "p", spec: Fixtures.spec(options: #"{"backendtls.dev/min-tls-version":"1.1"}"#))
        let failed = try failure(resolver(policies: [policy]).resolve(policy))
        #expect(failed.reason == .invalidOption)
    }
}
