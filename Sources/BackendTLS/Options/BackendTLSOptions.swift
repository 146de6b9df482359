/// The typed `backendtls.dev/*` entries of `spec.options`, as the sidecar enforces them.
///
/// One parser serves admission (which reports `issues`) and resolution (which refuses a policy with
/// issues), so an option the webhook accepted is an option the sidecar understands.
public struct BackendTLSOptions: Sendable, Hashable {
    public enum TLSVersion: String, Sendable, Hashable, Comparable, CaseIterable {
        case v1_2 = "1.2"
        case v1_3 = "1.3"

        public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// One problem with one option key.
    public struct Issue: Sendable, Hashable {
        public var key: String
        public var severity: Diagnostic.Severity
        public var reason: Diagnostic.Reason
        public var message: String
    }

    public static let prefix = "backendtls.dev/"
    public static let minimumTLSVersionKey = prefix + "min-tls-version"
    public static let maximumTLSVersionKey = prefix + "max-tls-version"
    public static let alpnProtocolsKey = prefix + "alpn-protocols"
    public static let certificateHashesKey = prefix + "verify-certificate-hash"
    public static let cipherSuitesKey = prefix + "cipher-suites"
    public static let knownKeys = [
        minimumTLSVersionKey, maximumTLSVersionKey, alpnProtocolsKey, certificateHashesKey, cipherSuitesKey,
    ]
    public static let supportedALPNProtocols = ["h2", "http/1.1"]

    public var minimumTLSVersion: TLSVersion?
    public var maximumTLSVersion: TLSVersion?
    /// Empty means "do not offer ALPN".
    public var alpnProtocols: [String]
    /// Lower-case hex SHA-256 fingerprints of acceptable leaf certificates (pinning on top of verification).
    public var certificateHashes: [String]
    /// IANA names of the TLS 1.2 cipher suites to offer; empty means the TLS stack's defaults.
    public var cipherSuites: [String]

    public init(
        minimumTLSVersion: TLSVersion? = nil,
        maximumTLSVersion: TLSVersion? = nil,
        alpnProtocols: [String] = [],
        certificateHashes: [String] = [],
        cipherSuites: [String] = []
    ) {
        self.minimumTLSVersion = minimumTLSVersion
        self.maximumTLSVersion = maximumTLSVersion
        self.alpnProtocols = alpnProtocols
        self.certificateHashes = certificateHashes
        self.cipherSuites = cipherSuites
    }

    /// Parses every `backendtls.dev/*` key, reports unknown ones and un-prefixed (reserved) keys.
    public static func parse(_ options: [(key: String, value: String)]) -> (options: BackendTLSOptions, issues: [Issue])
    {
        var parsed = BackendTLSOptions()
        var issues: [Issue] = []
        func invalid(_ key: String, _ message: String) {
            issues.append(Issue(key: key, severity: .error, reason: .invalidOption, message: message))
        }
        for (key, value) in options {
            switch key {
            case minimumTLSVersionKey, maximumTLSVersionKey:
                guard let version = TLSVersion(rawValue: value.trimmed) else {
                    invalid(key, "Invalid value: \(GoQuoting.quote(value)): supported values: \"1.2\", \"1.3\"")
                    continue
                }
                if key == minimumTLSVersionKey {
                    parsed.minimumTLSVersion = version
                } else {
                    parsed.maximumTLSVersion = version
                }
            case alpnProtocolsKey:
                let protocols = value.commaList
                if let bad = protocols.first(where: { !supportedALPNProtocols.contains($0) }) {
                    invalid(
                        key,
                        "Invalid value: \(GoQuoting.quote(value)): unsupported protocol \(GoQuoting.quote(bad)); supported: \"h2\", \"http/1.1\""
                    )
                } else if protocols.isEmpty {
                    invalid(
                        key,
                        "Invalid value: \(GoQuoting.quote(value)): list at least one of \"h2\", \"http/1.1\", or remove the key"
                    )
                } else if Set(protocols).count != protocols.count {
                    invalid(key, "Invalid value: \(GoQuoting.quote(value)): protocols must not repeat")
                } else {
                    parsed.alpnProtocols = protocols
                }
            case certificateHashesKey:
                let entries = value.commaList
                let hashes = entries.map(normalizedFingerprint)
                if let index = hashes.firstIndex(of: nil) {
                    invalid(
                        key,
                        "Invalid value: \(GoQuoting.quote(entries[index])): not a SHA-256 fingerprint (64 hex digits, colons allowed)"
                    )
                } else if hashes.isEmpty {
                    invalid(
                        key,
                        "Invalid value: \(GoQuoting.quote(value)): list at least one SHA-256 fingerprint, or remove the key"
                    )
                } else {
                    parsed.certificateHashes = hashes.compactMap { $0 }
                }
            case cipherSuitesKey:
                var suites: [String] = []
                for name in value.commaList {
                    if let suite = TLS12CipherSuite.named(name) {
                        suites.append(suite.ianaName)
                    } else if TLS12CipherSuite.tls13Names.contains(name) {
                        invalid(
                            key,
                            "Invalid value: \(GoQuoting.quote(name)): TLS 1.3 cipher suites are not configurable; list TLS 1.2 suites only"
                        )
                    } else {
                        invalid(
                            key,
                            "Invalid value: \(GoQuoting.quote(name)): not a TLS 1.2 cipher suite the sidecar supports; supported: \(TLS12CipherSuite.all.map(\.ianaName).joined(separator: ", "))"
                        )
                    }
                }
                if Set(suites).count != suites.count {
                    invalid(
                        key,
                        "Invalid value: \(GoQuoting.quote(value)): cipher suites must not repeat (IANA and OpenSSL names of one suite count as the same)"
                    )
                }
                if suites.isEmpty, !issues.contains(where: { $0.key == key }) {
                    invalid(
                        key,
                        "Invalid value: \(GoQuoting.quote(value)): list at least one cipher suite, or remove the key")
                }
                parsed.cipherSuites = suites
            default:
                if key.hasPrefix(prefix) {
                    invalid(
                        key,
                        "unknown option \(GoQuoting.quote(key)); known \(prefix) options: \(knownKeys.joined(separator: ", "))"
                    )
                } else if !key.contains("/") {
                    issues.append(
                        Issue(
                            key: key, severity: .warning, reason: .reservedOption,
                            message:
                                "un-prefixed option keys are reserved for Gateway API and have no effect here; use a domain-prefixed key such as \(GoQuoting.quote(prefix + key))"
                        ))
                }
            }
        }
        if let minimum = parsed.minimumTLSVersion, let maximum = parsed.maximumTLSVersion, minimum > maximum {
            invalid(
                maximumTLSVersionKey,
                "Invalid value: \(GoQuoting.quote(maximum.rawValue)): must not be lower than \(minimumTLSVersionKey) (\(minimum.rawValue))"
            )
        }
        if !parsed.cipherSuites.isEmpty, parsed.minimumTLSVersion == .v1_3 {
            issues.append(
                Issue(
                    key: cipherSuitesKey, severity: .warning, reason: .invalidOption,
                    message: "has no effect: \(minimumTLSVersionKey) is \"1.3\" and TLS 1.3 suites are not configurable"
                ))
        }
        return (parsed, issues)
    }

    /// `AB:CD:…` or `abcd…` to 64 lower-case hex digits; `nil` if it is not a SHA-256 fingerprint.
    static func normalizedFingerprint(_ text: String) -> String? {
        let hex = text.lowercased().filter { $0 != ":" }
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        if text.contains(":") {
            let groups = text.split(separator: ":", omittingEmptySubsequences: false)
            guard groups.count == 32, groups.allSatisfy({ $0.count == 2 }) else { return nil }
        }
        return hex
    }
}

extension String {
    fileprivate var trimmed: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    fileprivate var commaList: [String] {
        split(separator: ",", omittingEmptySubsequences: true).map { String($0).trimmed }.filter { !$0.isEmpty }
    }
}
