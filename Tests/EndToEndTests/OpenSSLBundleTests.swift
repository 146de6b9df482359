import Foundation
import Testing

private let opensslAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

/// Bundles and keys made by the system openssl (Debian 12: OpenSSL 3.0), judged by the built CLI.
///
/// The PKI is generated once per run (RSA key generation dominates); each test writes its own manifests
/// to a fresh temporary directory and runs `backendtls lint -f DIR`.
@Suite(.enabled(if: opensslAvailable, "openssl is not installed"))
struct OpenSSLBundleTests {
    // MARK: PKI

    /// Everything openssl made, read into memory; the working directory is gone by the time tests run.
    struct PKI: Sendable {
        var rsaCA: String
        var ecCA: String
        var intermediate: String
        var leaf: String
        var leafDER: [UInt8]
        /// Private keys by kind: PEM text exactly as openssl wrote it.
        var keys: [KeyKind: String]
        /// `notBefore`/`notAfter` of the RSA CA in RFC 3339 (`2036-11-19T04:10:29Z`).
        var rsaNotBefore: String
        var rsaNotAfter: String
    }

    enum KeyKind: String, CaseIterable, Sendable {
        case pkcs1 = "RSA PRIVATE KEY"
        case pkcs8 = "PRIVATE KEY"
        case encryptedPKCS8 = "ENCRYPTED PRIVATE KEY"
        case legacyEncryptedPKCS1 = "RSA PRIVATE KEY (Proc-Type)"
        case sec1 = "EC PRIVATE KEY"

        var label: String { self == .legacyEncryptedPKCS1 ? "RSA PRIVATE KEY" : rawValue }
    }

    static let extensionsConfig = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [v3_ca]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        [v3_intermediate]
        basicConstraints = critical,CA:TRUE,pathlen:0
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid:always
        [v3_leaf]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:backend.example.com
        authorityKeyIdentifier = keyid:always

        """

    static let pki: Result<PKI, any Error> = Result { try generatePKI() }

    static func generatePKI() throws -> PKI {
        let directory = try ProcessRunner.temporaryDirectory("backendtls-openssl-pki")
        defer { try? FileManager.default.removeItem(at: directory) }
        try extensionsConfig.write(
            to: directory.appendingPathComponent("openssl.cnf"), atomically: true, encoding: .utf8)
        func openssl(_ arguments: [String]) throws -> String {
            let output = try ProcessRunner.run("/usr/bin/openssl", arguments, in: directory)
            guard output.status == 0 else {
                throw OpenSSLFailure(arguments: arguments, output: output.standardError)
            }
            return output.standardOutput
        }
        func read(_ name: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        _ = try openssl([
            "req", "-x509", "-config", "openssl.cnf", "-extensions", "v3_ca", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "rsa-ca.key", "-out", "rsa-ca.pem", "-days", "3650", "-subj", "/CN=E2E RSA Root CA/O=backendtls",
        ])
        _ = try openssl(
            ["req", "-x509", "-config", "openssl.cnf", "-extensions", "v3_ca"] + p256
                + [
                    "-nodes", "-keyout", "ec-ca.key", "-out", "ec-ca.pem", "-days", "3650", "-subj",
                    "/CN=E2E ECDSA Root CA",
                ])
        _ = try openssl(
            ["req", "-new", "-config", "openssl.cnf"] + p256
                + ["-nodes", "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=E2E Intermediate CA"])
        _ = try openssl([
            "x509", "-req", "-in", "int.csr", "-CA", "rsa-ca.pem", "-CAkey", "rsa-ca.key", "-set_serial", "0x1001",
            "-days", "1825", "-extfile", "openssl.cnf", "-extensions", "v3_intermediate", "-out", "int.pem",
        ])
        _ = try openssl(
            ["req", "-new", "-config", "openssl.cnf"] + p256
                + ["-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=backend.example.com"])
        _ = try openssl([
            "x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-set_serial", "0x2001",
            "-days", "365", "-extfile", "openssl.cnf", "-extensions", "v3_leaf", "-out", "leaf.pem",
        ])
        _ = try openssl(["x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der"])
        _ = try openssl(["genrsa", "-traditional", "-out", "pkcs1.key", "2048"])
        _ = try openssl(["pkcs8", "-topk8", "-nocrypt", "-in", "pkcs1.key", "-out", "pkcs8.key"])
        _ = try openssl([
            "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:e2e-secret", "-in", "pkcs1.key", "-out",
            "encrypted.key",
        ])
        _ = try openssl([
            "rsa", "-in", "pkcs1.key", "-traditional", "-aes128", "-passout", "pass:e2e-secret", "-out", "legacy.key",
        ])
        _ = try openssl(["ec", "-in", "ec-ca.key", "-out", "sec1.key"])
        func date(_ option: String) throws -> String {
            // `notAfter=2036-11-19 04:10:29Z` → `2036-11-19T04:10:29Z`
            let line = try openssl(["x509", "-in", "rsa-ca.pem", "-noout", option, "-dateopt", "iso_8601"])
            let value = line.split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
            return value.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: " ", with: "T")
        }
        return PKI(
            rsaCA: try read("rsa-ca.pem"),
            ecCA: try read("ec-ca.pem"),
            intermediate: try read("int.pem"),
            leaf: try read("leaf.pem"),
            leafDER: Array(try Data(contentsOf: directory.appendingPathComponent("leaf.der"))),
            keys: [
                .pkcs1: try read("pkcs1.key"),
                .pkcs8: try read("pkcs8.key"),
                .encryptedPKCS8: try read("encrypted.key"),
                .legacyEncryptedPKCS1: try read("legacy.key"),
                .sec1: try read("sec1.key"),
            ],
            rsaNotBefore: try date("-startdate"),
            rsaNotAfter: try date("-enddate")
        )
    }

    struct OpenSSLFailure: Error, CustomStringConvertible {
        var arguments: [String]
        var output: String
        var description: String { "openssl \(arguments.joined(separator: " ")) failed: \(output)" }
    }

    private func pki() throws -> PKI {
        try Self.pki.get()
    }

    // MARK: Manifests and the CLI

    /// One `--output json` line.
    struct LintOutput: Decodable {
        struct Finding: Decodable {
            var severity: String
            var reason: String
            var field: String
            var message: String
        }

        var kind: String
        var name: String
        var verdict: String
        var diagnostics: [Finding]

        var reasons: [String] { diagnostics.map(\.reason) }
    }

    struct Run {
        var status: Int32
        var text: String
        var summary: String
        var results: [LintOutput]
        /// Everything the CLI printed, text and JSON, for "never prints key material".
        var everything: String

        func result(_ kind: String) -> LintOutput? { results.first { $0.kind == kind } }
    }

    /// A ConfigMap `backend-ca` holding `bundle` as `ca.crt`, the Service it protects and a v1 policy.
    static func manifests(bundle: String) -> String {
        let indented = bundle.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "    \($0)" }.joined(separator: "\n")
        return """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: backend-ca
            data:
              ca.crt: |
            \(indented)
            ---
            \(serviceAndPolicy(kind: "ConfigMap"))
            """
    }

    /// The same, with the bundle as raw bytes in `binaryData` (how `kubectl create configmap --from-file` stores
    /// non-UTF-8 files; YAML block scalars would normalize CRLF away).
    static func manifests(binaryBundle bytes: [UInt8]) -> String {
        """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: backend-ca
        binaryData:
          ca.crt: \(Data(bytes).base64EncodedString())
        ---
        \(serviceAndPolicy(kind: "ConfigMap"))
        """
    }

    static func serviceAndPolicy(kind: String) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: backend
        spec:
          ports:
          - name: https
            port: 443
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: BackendTLSPolicy
        metadata:
          name: backend-tls
        spec:
          targetRefs:
          - group: ""
            kind: Service
            name: backend
          validation:
            caCertificateRefs:
            - group: ""
              kind: \(kind)
              name: backend-ca
            hostname: backend.example.com

        """
    }

    /// Writes `yaml` into a fresh directory and lints it twice: text and JSON output.
    private func lint(_ yaml: String, _ extraArguments: [String] = []) throws -> Run {
        let binary = ProcessRunner.backendtls
        try #require(
            FileManager.default.isExecutableFile(atPath: binary), "build the CLI first: swift build (\(binary))")
        let directory = try ProcessRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try yaml.write(to: directory.appendingPathComponent("manifests.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["lint", "-f", directory.path] + extraArguments
        let text = try ProcessRunner.run(binary, arguments)
        let json = try ProcessRunner.run(binary, arguments + ["--output", "json"])
        #expect(text.status == json.status)
        let decoder = JSONDecoder()
        let results = try json.standardOutput.split(separator: "\n").map { line in
            try decoder.decode(LintOutput.self, from: Data(line.utf8))
        }
        return Run(
            status: text.status, text: text.standardOutput, summary: text.standardError, results: results,
            everything: text.standardOutput + text.standardError + json.standardOutput + json.standardError)
    }

    /// The base64 lines of a PEM key (not BEGIN/END, not RFC 1421 headers).
    private func bodyLines(_ pem: String) -> [String] {
        pem.split(whereSeparator: \.isNewline).map(String.init).filter {
            !$0.hasPrefix("-----") && !$0.contains(":") && !$0.isEmpty
        }
    }

    // MARK: Good bundles

    enum GoodBundle: String, CaseIterable, Sendable {
        case rsaCA, ecdsaCA, rootAndIntermediate, twoRoots, openSSLTextDump, crlf

        func text(_ pki: PKI) throws -> String {
            switch self {
            case .rsaCA: return pki.rsaCA
            case .ecdsaCA: return pki.ecCA
            case .rootAndIntermediate: return pki.rsaCA + pki.intermediate
            case .twoRoots: return pki.rsaCA + pki.ecCA
            case .openSSLTextDump:
                // `openssl x509 -text` output: explanatory text (with colons) before each block (RFC 7468 §2).
                let dump = try ProcessRunner.run("/usr/bin/openssl", ["x509", "-text"], input: pki.ecCA)
                return dump.standardOutput + "# second\n" + pki.rsaCA
            case .crlf: return pki.rsaCA.replacingOccurrences(of: "\n", with: "\r\n")
            }
        }
    }

    @Test(arguments: GoodBundle.allCases)
    func goodBundleIsAllowedClean(_ bundle: GoodBundle) throws {
        let pki = try pki()
        let text = try bundle.text(pki)
        if bundle == .openSSLTextDump { try #require(text.contains("Certificate:\n")) }
        let yaml =
            bundle == .crlf ? Self.manifests(binaryBundle: Array(text.utf8)) : Self.manifests(bundle: text)
        let run = try lint(yaml)
        #expect(run.status == 0, "\(run.text)\(run.summary)")
        #expect(run.results.map(\.kind) == ["ConfigMap", "BackendTLSPolicy"])
        #expect(run.results.allSatisfy { $0.verdict == "allowed" && $0.diagnostics.isEmpty }, "\(run.text)")
        #expect(run.summary.contains("checked 2 objects: 0 denied, 0 allowed with warnings, 2 clean"))
    }

    @Test func leafAsAnchorIsAllowedWithWarning() throws {
        let run = try lint(Self.manifests(bundle: try pki().leaf))
        #expect(run.status == 0, "\(run.text)")
        let configMap = try #require(run.result("ConfigMap"))
        #expect(configMap.verdict == "allowed")
        #expect(configMap.reasons == ["NotACertificateAuthority"])
        #expect(run.result("BackendTLSPolicy")?.reasons == ["NotACertificateAuthority"])
        #expect(
            run.text.contains(
                "Warning: configmap default/backend-ca: data[ca.crt]: certificate \"CN=backend.example.com\""))
    }

    // MARK: Keys

    @Test(arguments: KeyKind.allCases)
    func bundleWithAppendedKeyIsDeniedWithoutPrintingIt(_ kind: KeyKind) throws {
        let pki = try pki()
        let key = try #require(pki.keys[kind])
        try #require(key.hasPrefix("-----BEGIN \(kind.label)-----\n"))
        if kind == .legacyEncryptedPKCS1 { try #require(key.contains("Proc-Type: 4,ENCRYPTED")) }
        let run = try lint(Self.manifests(bundle: pki.rsaCA + key))
        #expect(run.status == 1)
        let configMap = try #require(run.result("ConfigMap"))
        #expect(configMap.verdict == "denied")
        #expect(configMap.reasons == ["PrivateKeyInBundle"])
        let finding = try #require(configMap.diagnostics.first)
        #expect(finding.severity == "error")
        #expect(finding.field == "data[ca.crt]")
        #expect(finding.message.contains("PEM block 2"))
        #expect(finding.message.contains("(\"\(kind.label)\")"))
        #expect(finding.message.contains("BackendTLSPolicy default/backend-tls"))
        let policy = try #require(run.result("BackendTLSPolicy"))
        #expect(policy.verdict == "denied")
        #expect(policy.reasons == ["PrivateKeyInBundle", "NoValidCACertificate"])
        #expect(run.text.contains("configmap default/backend-ca: data[ca.crt]: PEM block 2"))
        #expect(run.summary.contains("2 denied"))
        let lines = bodyLines(key)
        try #require(lines.count >= 3)
        for line in lines {
            #expect(!run.everything.contains(line), "the CLI printed key material")
            #expect(!run.everything.contains(line.prefix(16)), "the CLI printed key material")
        }
    }

    @Test func tlsSecretWithKeyNextToCAIsWarnedWithoutPrintingIt() throws {
        let pki = try pki()
        let key = try #require(pki.keys[.pkcs8])
        func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        let yaml = """
            apiVersion: v1
            kind: Secret
            metadata:
              name: backend-ca
            type: kubernetes.io/tls
            data:
              ca.crt: \(base64(pki.rsaCA))
              tls.crt: \(base64(pki.leaf))
              tls.key: \(base64(key))
            ---
            \(Self.serviceAndPolicy(kind: "Secret"))
            """
        let run = try lint(yaml)
        #expect(run.status == 0, "\(run.text)")
        #expect(run.result("Secret")?.diagnostics.isEmpty == true)
        let policy = try #require(run.result("BackendTLSPolicy"))
        #expect(policy.verdict == "allowed")
        #expect(policy.reasons == ["PrivateKeyInBundle"])
        #expect(policy.diagnostics.first?.severity == "warning")
        #expect(policy.diagnostics.first?.message.contains("tls.key") == true)
        for line in bodyLines(key) + [base64(key)] {
            #expect(!run.everything.contains(line), "the CLI printed key material")
        }
    }

    // MARK: Time

    @Test func farFutureNowIsExpired() throws {
        let pki = try pki()
        let run = try lint(Self.manifests(bundle: pki.rsaCA), ["--now", "2099-01-01T00:00:00Z"])
        #expect(run.status == 1)
        let configMap = try #require(run.result("ConfigMap"))
        #expect(configMap.verdict == "denied")
        #expect(configMap.reasons == ["ExpiredCertificate"])
        let message = try #require(configMap.diagnostics.first?.message)
        #expect(message.contains("expired on \(pki.rsaNotAfter)"), "\(message)")
        #expect(message.contains("O=backendtls,CN=E2E RSA Root CA"), "\(message)")
        #expect(run.result("BackendTLSPolicy")?.reasons == ["ExpiredCertificate", "NoValidCACertificate"])
    }

    @Test func nowBeforeNotBeforeIsNotYetValid() throws {
        let pki = try pki()
        let run = try lint(Self.manifests(bundle: pki.ecCA + pki.rsaCA), ["--now", "2020-01-01T00:00:00Z"])
        #expect(run.status == 1)
        let configMap = try #require(run.result("ConfigMap"))
        #expect(configMap.reasons == ["NotYetValidCertificate"])
        let message = try #require(configMap.diagnostics.first?.message)
        #expect(message.contains("none of the 2 certificates in the bundle is valid yet"), "\(message)")
        #expect(message.contains("is not valid until "), "\(message)")
    }

    @Test func singleCertificateBeforeNotBeforeNamesItsStart() throws {
        let pki = try pki()
        let run = try lint(Self.manifests(bundle: pki.rsaCA), ["--now", "2020-01-01T00:00:00Z"])
        #expect(run.status == 1)
        let message = try #require(run.result("ConfigMap")?.diagnostics.first?.message)
        #expect(message.contains("is not valid until \(pki.rsaNotBefore)"), "\(message)")
    }

    @Test func expiringSoonWarnsAndWindowIsAFlag() throws {
        let pki = try pki()
        // The intermediate expires in five years, the root in ten: judge ten days before the root expires.
        let notAfter = try #require(ISO8601DateFormatter().date(from: pki.rsaNotAfter))
        let now = ISO8601DateFormatter().string(from: notAfter.addingTimeInterval(-10 * 86_400))
        let run = try lint(Self.manifests(bundle: pki.rsaCA), ["--now", now])
        #expect(run.status == 0, "\(run.text)")
        let configMap = try #require(run.result("ConfigMap"))
        #expect(configMap.verdict == "allowed")
        #expect(configMap.reasons == ["ExpiringCertificate"])
        #expect(configMap.diagnostics.first?.message.contains("expires on \(pki.rsaNotAfter) (in 10 days)") == true)
        #expect(run.text.hasPrefix("Warning: "))

        let narrow = try lint(Self.manifests(bundle: pki.rsaCA), ["--now", now, "--expiry-warning-days", "5"])
        #expect(narrow.status == 0)
        #expect(narrow.results.allSatisfy { $0.diagnostics.isEmpty }, "\(narrow.text)")
    }

    // MARK: Format mistakes

    @Test func derInBinaryDataIsDeniedMentioningDER() throws {
        let pki = try pki()
        let run = try lint(Self.manifests(binaryBundle: pki.leafDER))
        #expect(run.status == 1)
        let configMap = try #require(run.result("ConfigMap"))
        #expect(configMap.reasons == ["MalformedBundle"])
        #expect(configMap.diagnostics.first?.field == "binaryData[ca.crt]")
        #expect(configMap.diagnostics.first?.message.contains("DER") == true)
    }
}
