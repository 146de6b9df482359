import BackendTLS
import Foundation
import Testing

/// `BackendTLSOptions.parse`: one parser for admission (issues) and the sidecar (typed values).
struct BackendTLSOptionsTests {
    private typealias Key = BackendTLSOptions

    private func parse(_ pairs: [(String, String)]) -> (options: BackendTLSOptions, issues: [BackendTLSOptions.Issue]) {
        BackendTLSOptions.parse(pairs.map { (key: $0.0, value: $0.1) })
    }

    private func onlyIssue(
        _ pairs: [(String, String)],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> BackendTLSOptions.Issue {
        let issues = parse(pairs).issues
        #expect(issues.count == 1, "\(issues)", sourceLocation: sourceLocation)
        return try #require(issues.first, sourceLocation: sourceLocation)
    }

    private static let hashHex = "5d41402abc4b2a76b9719d911017c592aa2b2e4c3b0e6e0fa9b8c1d2e3f40516"
    /// `AB:CD:…`, the way `openssl x509 -fingerprint -sha256` prints it.
    private static var hashWithColons: String { grouped(hashHex.uppercased(), by: 2) }

    private static func grouped(_ hex: String, by size: Int) -> String {
        var groups: [String] = []
        var rest = Substring(hex)
        while !rest.isEmpty {
            groups.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return groups.joined(separator: ":")
    }

    // MARK: TLS versions

    @Test(arguments: [("1.2", BackendTLSOptions.TLSVersion.v1_2), ("1.3", .v1_3), (" 1.3 ", .v1_3)])
    func parsesTLSVersions(_ text: String, _ version: BackendTLSOptions.TLSVersion) {
        let result = parse([(Key.minimumTLSVersionKey, text), (Key.maximumTLSVersionKey, text)])
        #expect(result.issues.isEmpty)
        #expect(result.options.minimumTLSVersion == version)
        #expect(result.options.maximumTLSVersion == version)
    }

    @Test(arguments: ["1.1", "1.0", "TLSv1.3", "1.4", ""])
    func rejectsUnsupportedTLSVersion(_ text: String) throws {
        let issue = try onlyIssue([(Key.maximumTLSVersionKey, text)])
        #expect(issue.key == Key.maximumTLSVersionKey)
        #expect(issue.severity == .error)
        #expect(issue.reason == .invalidOption)
        #expect(issue.message == "Invalid value: \"\(text)\": supported values: \"1.2\", \"1.3\"")
    }

    @Test func rejectsMinimumAboveMaximum() throws {
        let issue = try onlyIssue([(Key.minimumTLSVersionKey, "1.3"), (Key.maximumTLSVersionKey, "1.2")])
        #expect(issue.key == Key.maximumTLSVersionKey)
        #expect(issue.reason == .invalidOption)
        #expect(issue.message == #"Invalid value: "1.2": must not be lower than backendtls.dev/min-tls-version (1.3)"#)
    }

    @Test func acceptsMinimumBelowMaximum() {
        let result = parse([(Key.minimumTLSVersionKey, "1.2"), (Key.maximumTLSVersionKey, "1.3")])
        #expect(result.issues.isEmpty)
        #expect(result.options == BackendTLSOptions(minimumTLSVersion: .v1_2, maximumTLSVersion: .v1_3))
    }

    // MARK: ALPN

    @Test(arguments: [
        ("h2", ["h2"]), ("http/1.1", ["http/1.1"]), ("h2,http/1.1", ["h2", "http/1.1"]),
        (" http/1.1 , h2 ", ["http/1.1", "h2"]),
    ])
    func parsesALPNList(_ text: String, _ protocols: [String]) {
        let result = parse([(Key.alpnProtocolsKey, text)])
        #expect(result.issues.isEmpty)
        #expect(result.options.alpnProtocols == protocols)
    }

    @Test(arguments: [
        ("h3", #"Invalid value: "h3": unsupported protocol "h3"; supported: "h2", "http/1.1""#),
        ("h2,spdy/3", #"Invalid value: "h2,spdy/3": unsupported protocol "spdy/3"; supported: "h2", "http/1.1""#),
        ("", #"Invalid value: "": list at least one of "h2", "http/1.1", or remove the key"#),
        (" , ", #"Invalid value: " , ": list at least one of "h2", "http/1.1", or remove the key"#),
        ("h2,h2", #"Invalid value: "h2,h2": protocols must not repeat"#),
    ])
    func rejectsInvalidALPNList(_ text: String, _ message: String) throws {
        let issue = try onlyIssue([(Key.alpnProtocolsKey, text)])
        #expect(issue.key == Key.alpnProtocolsKey)
        #expect(issue.reason == .invalidOption)
        #expect(issue.message == message)
        #expect(parse([(Key.alpnProtocolsKey, text)]).options.alpnProtocols.isEmpty)
    }

    // MARK: Certificate hashes

    @Test func parsesHashWithoutColons() {
        let result = parse([(Key.certificateHashesKey, Self.hashHex.uppercased())])
        #expect(result.issues.isEmpty)
        #expect(result.options.certificateHashes == [Self.hashHex])
    }

    @Test func parsesHashWithColonsToLowerCaseHex() {
        let result = parse([(Key.certificateHashesKey, Self.hashWithColons)])
        #expect(result.issues.isEmpty)
        #expect(result.options.certificateHashes == [Self.hashHex])
    }

    @Test func parsesHashList() {
        let other = String(repeating: "ab", count: 32)
        let result = parse([(Key.certificateHashesKey, "\(Self.hashWithColons), \(other)")])
        #expect(result.issues.isEmpty)
        #expect(result.options.certificateHashes == [Self.hashHex, other])
    }

    @Test(arguments: [
        String(hashHex.dropLast(2)),
        hashHex + "00",
        String(hashHex.dropLast()) + "g",
        "A" + String(hashWithColons.dropFirst(2)),
        grouped(hashHex, by: 4),
        hashWithColons.replacingOccurrences(of: ":", with: "::"),
    ])
    func rejectsMalformedHash(_ text: String) throws {
        let issue = try onlyIssue([(Key.certificateHashesKey, text)])
        #expect(issue.key == Key.certificateHashesKey)
        #expect(issue.reason == .invalidOption)
        #expect(
            issue.message == "Invalid value: \"\(text)\": not a SHA-256 fingerprint (64 hex digits, colons allowed)")
    }

    @Test func rejectsEmptyHashList() throws {
        let issue = try onlyIssue([(Key.certificateHashesKey, "")])
        #expect(issue.message == #"Invalid value: "": list at least one SHA-256 fingerprint, or remove the key"#)
    }

    // MARK: Cipher suites

    @Test func parsesIANAAndOpenSSLNamesToIANANames() {
        let result = parse([
            (Key.cipherSuitesKey, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ECDHE-ECDSA-AES256-GCM-SHA384")
        ])
        #expect(result.issues.isEmpty)
        #expect(
            result.options.cipherSuites == [
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            ])
    }

    @Test(arguments: ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"])
    func rejectsTLS13SuiteNames(_ name: String) throws {
        let issue = try onlyIssue([(Key.cipherSuitesKey, name)])
        #expect(issue.key == Key.cipherSuitesKey)
        #expect(issue.reason == .invalidOption)
        #expect(
            issue.message
                == "Invalid value: \"\(name)\": TLS 1.3 cipher suites are not configurable; list TLS 1.2 suites only")
    }

    @Test func rejectsUnsupportedSuiteListingSupportedOnes() throws {
        let result = parse([(Key.cipherSuitesKey, "ECDHE-RSA-AES128-GCM-SHA256,RC4-SHA")])
        let issue = try #require(result.issues.first)
        #expect(result.issues.count == 1)
        #expect(
            issue.message.hasPrefix(
                #"Invalid value: "RC4-SHA": not a TLS 1.2 cipher suite the sidecar supports; supported: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "#
            ))
        #expect(issue.message.hasSuffix("TLS_RSA_WITH_AES_256_CBC_SHA"))
    }

    @Test func rejectsEmptySuiteList() throws {
        let issue = try onlyIssue([(Key.cipherSuitesKey, ",")])
        #expect(issue.message == #"Invalid value: ",": list at least one cipher suite, or remove the key"#)
    }

    @Test func warnsThatSuitesDoNothingWithTLS13Minimum() throws {
        let result = parse([(Key.minimumTLSVersionKey, "1.3"), (Key.cipherSuitesKey, "AES128-GCM-SHA256")])
        let issue = try #require(result.issues.first)
        #expect(result.issues.count == 1)
        #expect(issue.key == Key.cipherSuitesKey)
        #expect(issue.severity == .warning)
        #expect(issue.message.contains(#"has no effect: backendtls.dev/min-tls-version is "1.3""#))
    }

    // MARK: Keys

    @Test func rejectsUnknownOwnKey() throws {
        let issue = try onlyIssue([("backendtls.dev/alpn", "h2")])
        #expect(issue.key == "backendtls.dev/alpn")
        #expect(issue.severity == .error)
        #expect(issue.reason == .invalidOption)
        #expect(
            issue.message
                == #"unknown option "backendtls.dev/alpn"; known backendtls.dev/ options: backendtls.dev/min-tls-version, backendtls.dev/max-tls-version, backendtls.dev/alpn-protocols, backendtls.dev/verify-certificate-hash, backendtls.dev/cipher-suites"#
        )
    }

    @Test func warnsOnUnprefixedKey() throws {
        let issue = try onlyIssue([("alpn-protocols", "h2")])
        #expect(issue.key == "alpn-protocols")
        #expect(issue.severity == .warning)
        #expect(issue.reason == .reservedOption)
        #expect(issue.message.contains(#"use a domain-prefixed key such as "backendtls.dev/alpn-protocols""#))
    }

    @Test(arguments: ["example.com/x", "example.com/my-custom-option", "gateway.envoyproxy.io/tls"])
    func passesOtherPrefixesUntouched(_ key: String) {
        let result = parse([(key, "whatever")])
        #expect(result.issues.isEmpty)
        #expect(result.options == BackendTLSOptions())
    }

    @Test func parsesEveryKnownKeyTogether() {
        let result = parse([
            (Key.minimumTLSVersionKey, "1.2"), (Key.maximumTLSVersionKey, "1.3"), (Key.alpnProtocolsKey, "h2"),
            (Key.certificateHashesKey, Self.hashHex), (Key.cipherSuitesKey, "ECDHE-RSA-CHACHA20-POLY1305"),
            ("example.com/x", "y"),
        ])
        #expect(result.issues.isEmpty, "\(result.issues)")
        #expect(
            result.options
                == BackendTLSOptions(
                    minimumTLSVersion: .v1_2, maximumTLSVersion: .v1_3, alpnProtocols: ["h2"],
                    certificateHashes: [Self.hashHex], cipherSuites: ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]))
    }
}
