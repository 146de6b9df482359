import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a webhook end-to-end step could not even be attempted (a tool failed, the binary did not start).
struct WebhookTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The binary under test and the real clients that talk to it.
enum WebhookTools {
    static let curl = "/usr/bin/curl"
    static let openssl = "/usr/bin/openssl"

    static let available = [curl, openssl, webhook].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

    static var webhook: String { ProcessRunner.builtBinary("backendtls-webhook") }

    /// Writing to a pipe whose reader died (a client the server cut off) must be an error, not a signal.
    static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}

// MARK: - curl

/// One curl transfer: the HTTP answer, or why there was none.
struct CurlResult: CustomStringConvertible {
    /// curl's exit status: 0, or e.g. 35 (TLS connect error), 52 (empty reply), 56 (receive failure),
    /// 58 (client certificate problem), 60 (server certificate not trusted), 92 (HTTP/2 stream error).
    var exitCode: Int32
    /// `nil` when no response arrived (`%{http_code}` 000).
    var status: Int?
    /// `%{http_version}`: "1.1", "2", or "0" without a response.
    var httpVersion: String
    var numConnects: Int
    var body: Data
    var standardError: String

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    /// The `error` member of a JSON error body.
    var errorMessage: String? { json?["error"] as? String }
    var admission: AdmissionAnswer? { AdmissionAnswer(body) }

    var description: String {
        guard let status else {
            return
                "no response (curl exit \(exitCode): \(standardError.trimmingCharacters(in: .whitespacesAndNewlines)))"
        }
        return "HTTP/\(httpVersion) \(status) body: \(text.prefix(600).debugDescription)"
    }
}

enum WebhookCurl {
    static let marker = "\n<<backendtls-e2e-curl>>"

    /// Runs curl for one transfer; the body comes back whole, then curl's `-w` figures.
    static func run(_ arguments: [String], timeout: TimeInterval = 20) throws -> CurlResult {
        let output = try CurlProcess.run(
            [
                "-sS", "--max-time", String(Int(timeout)), "-o", "-", "-w",
                "\(marker)%{http_code} %{http_version} %{num_connects}",
            ]
                + arguments)
        return parse(output)
    }

    static func parse(_ output: (exitCode: Int32, standardOutput: Data, standardError: String)) -> CurlResult {
        let data = output.standardOutput
        let markerBytes = Data(marker.utf8)
        var body = data
        var figures = ""
        if let range = data.range(of: markerBytes, options: .backwards) {
            body = data.subdata(in: data.startIndex..<range.lowerBound)
            figures = String(decoding: data.subdata(in: range.upperBound..<data.endIndex), as: UTF8.self)
        }
        let parts = figures.split(separator: " ").map(String.init)
        let code = parts.first.flatMap { Int($0) } ?? 0
        return CurlResult(
            exitCode: output.exitCode, status: code == 0 ? nil : code, httpVersion: parts.count > 1 ? parts[1] : "0",
            numConnects: parts.count > 2 ? Int(parts[2]) ?? 0 : 0, body: body, standardError: output.standardError)
    }
}

/// A curl started in the background (many at once, e.g. requests in flight during a shutdown).
typealias BackgroundCurl = BackgroundValue<CurlResult>

extension BackgroundValue where Value == CurlResult {
    convenience init(_ arguments: [String], timeout: TimeInterval = 20) {
        self.init {
            (try? WebhookCurl.run(arguments, timeout: timeout))
                ?? CurlResult(
                    exitCode: -1, status: nil, httpVersion: "0", numConnects: 0, body: Data(),
                    standardError: "curl did not start")
        }
    }
}

// MARK: - Metrics

/// Prometheus text exposition, parsed into samples.
struct PrometheusSamples {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample] = []

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else {
                samples.append(Sample(name: String(series), labels: [:], value: value))
                continue
            }
            var labels: [String: String] = [:]
            var rest = series[series.index(after: brace)...].dropLast()  // drop "}"
            while let equals = rest.firstIndex(of: "=") {
                let key = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                var index = rest.index(equals, offsetBy: 2)  // skip ="
                var value = ""
                while index < rest.endIndex, rest[index] != "\"" {
                    if rest[index] == "\\" { index = rest.index(after: index) }
                    if index < rest.endIndex { value.append(rest[index]) }
                    index = rest.index(after: index)
                }
                labels[key] = value
                rest = index < rest.endIndex ? rest[rest.index(after: index)...] : rest[rest.endIndex...]
            }
            samples.append(Sample(name: String(series[..<brace]), labels: labels, value: value))
        }
    }

    /// The sum of every sample named `name` whose labels include `labels`; 0 when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }.reduce(0) { $0 + $1.value }
    }

    func contains(_ name: String) -> Bool { samples.contains { $0.name == name } }
}

// MARK: - The webhook process

/// `backendtls-webhook` started on free loopback ports, ready (`/readyz` 200) when `start` returns.
///
/// Tests call `stop()` in a `defer`: SIGTERM, a wait, SIGKILL if it hangs, and the working directory removed.
final class WebhookProcess: @unchecked Sendable {
    let process: Process
    /// A private temporary directory: the log, and the dev PKI in `pki/` unless certificate files were given.
    let directory: URL
    let port: Int
    let probePort: Int
    let metricsPort: Int
    /// The CA clients trust: the dev PKI's `ca.crt`, or the one given to `start`.
    let caFile: String
    let logFile: URL

    var pki: URL { directory.appendingPathComponent("pki") }
    var url: String { "https://localhost:\(port)" }
    func url(_ path: String) -> String { "\(url)\(path)" }
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    private init(
        process: Process, directory: URL, port: Int, probePort: Int, metricsPort: Int, caFile: String, logFile: URL
    ) {
        self.process = process
        self.directory = directory
        self.port = port
        self.probePort = probePort
        self.metricsPort = metricsPort
        self.caFile = caFile
        self.logFile = logFile
    }

    /// Starts the webhook with `arguments` added to the listen flags. Without `--tls-cert-file` in `arguments`
    /// it serves a dev PKI generated into `pki/`; `caFile` names the CA clients should trust otherwise.
    static func start(_ arguments: [String] = [], caFile: String? = nil, waitUntilReady: Bool = true) throws
        -> WebhookProcess
    {
        _ = WebhookTools.ignoreBrokenPipes
        let directory = try ProcessRunner.temporaryDirectory("backendtls-webhook-e2e")
        var lastLog = ""
        for attempt in 1...5 {
            let ports = try LoopbackPort.free(3)
            let logFile = directory.appendingPathComponent("webhook-\(attempt).log")
            let usesDevPKI = !arguments.contains("--tls-cert-file")
            var all = [
                "--listen", "127.0.0.1:\(ports[0])", "--probe-listen", "127.0.0.1:\(ports[1])",
                "--metrics-listen", "127.0.0.1:\(ports[2])", "--log-level", "debug",
            ]
            if usesDevPKI { all += ["--dev-certificate", directory.appendingPathComponent("pki").path] }
            all += arguments
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let handle = try FileHandle(forWritingTo: logFile)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: WebhookTools.webhook)
            process.arguments = all
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try handle.close()
            let webhook = WebhookProcess(
                process: process, directory: directory, port: ports[0], probePort: ports[1], metricsPort: ports[2],
                caFile: caFile ?? directory.appendingPathComponent("pki/ca.crt").path, logFile: logFile)
            guard waitUntilReady else { return webhook }
            let ready = eventually(timeout: 15) {
                guard process.isRunning else { return true }
                return (try? webhook.probe("/readyz"))?.status == 200
            }
            if ready, process.isRunning { return webhook }
            lastLog = webhook.log
            _ = webhook.terminate(timeout: 2)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            // Someone took a port between our probe and the webhook's bind: pick new ones.
            guard lastLog.contains("Address already in use") else { break }
        }
        try? FileManager.default.removeItem(at: directory)
        throw WebhookTestError("backendtls-webhook did not become ready:\n\(lastLog)")
    }

    /// SIGTERM, then waits up to `timeout`; the exit status, or `nil` if it is still running.
    func terminate(timeout: TimeInterval) -> Int32? {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Teardown: SIGTERM, SIGKILL after 5 s, working directory removed.
    func stop() {
        if terminate(timeout: 5) == nil {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Requests

    /// curl against the TLS port, trusting `caFile` (unless `arguments` name their own `--cacert`).
    func curl(_ arguments: [String], timeout: TimeInterval = 20) throws -> CurlResult {
        let trust = arguments.contains("--cacert") ? [] : ["--cacert", caFile]
        return try WebhookCurl.run(trust + arguments, timeout: timeout)
    }

    /// POSTs `body` to `path` (`/validate` or `/mutate`) as JSON.
    func post(
        _ path: String, _ body: Data, http: String = "--http1.1", _ extra: [String] = [], timeout: TimeInterval = 20
    ) throws -> CurlResult {
        let file = directory.appendingPathComponent("body-\(UUID().uuidString).json")
        try body.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try curl(
            [http, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@\(file.path)"] + extra
                + [url(path)], timeout: timeout)
    }

    /// POSTs an AdmissionReview and decodes the answer, failing the test when it is not a 200 AdmissionReview.
    func review(
        _ path: String, _ review: [String: Any], http: String = "--http1.1",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> AdmissionAnswer {
        let result = try post(path, AdmissionFixture.data(review), http: http)
        try #require(result.status == 200, "\(path): \(result)", sourceLocation: sourceLocation)
        return try #require(
            result.admission, "\(path): not an AdmissionReview: \(result)", sourceLocation: sourceLocation)
    }

    /// A plain-HTTP GET on the probe port.
    func probe(_ path: String) throws -> CurlResult {
        try WebhookCurl.run(["--max-time", "2", "http://127.0.0.1:\(probePort)\(path)"], timeout: 3)
    }

    func metrics() throws -> PrometheusSamples {
        let result = try WebhookCurl.run(["http://127.0.0.1:\(metricsPort)/metrics"], timeout: 5)
        guard result.status == 200 else { throw WebhookTestError("/metrics: \(result)") }
        return PrometheusSamples(result.text)
    }
}

// MARK: - Raw TLS connections

/// `openssl s_client` as a raw TLS client: whatever bytes the test writes go to the server as they are
/// (malformed HTTP, a byte at a time, nothing at all), and the answer collects in a file.
///
/// `-quiet` keeps the connection open after our input ends, so the process exits exactly when the server
/// closes the connection (or the handshake fails).
final class RawTLSClient: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let outputFile: URL
    private let errorFile: URL
    let started = Date()

    init(port: Int, caFile: String, alpn: String = "http/1.1", extra: [String] = []) throws {
        _ = WebhookTools.ignoreBrokenPipes
        let directory = FileManager.default.temporaryDirectory
        outputFile = directory.appendingPathComponent("backendtls-e2e-raw-\(UUID().uuidString).out")
        errorFile = directory.appendingPathComponent("backendtls-e2e-raw-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)
        let error = try FileHandle(forWritingTo: errorFile)
        process.executableURL = URL(fileURLWithPath: WebhookTools.openssl)
        process.arguments =
            [
                "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-CAfile", caFile,
                "-verify_return_error", "-quiet", "-alpn", alpn,
            ] + extra
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        try output.close()
        try error.close()
    }

    deinit { close() }

    /// Writes `bytes`; `false` once the connection (and so s_client) is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(
                    input.fileHandleForWriting.fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Whether the server closed the connection (s_client exited) within `timeout`.
    func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        return !process.isRunning
    }

    /// Waits until the answer holds `text` (s_client buffers nothing: bytes appear as they arrive).
    func waitForOutput(containing text: String, timeout: TimeInterval = 5) -> Bool {
        eventually(timeout: timeout) { output.contains(text) }
    }

    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
    var errors: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }
    /// The HTTP status of the first response in the answer, if any.
    var status: Int? {
        guard output.hasPrefix("HTTP/") else { return nil }
        let parts = output.prefix { $0 != "\r" && $0 != "\n" }.split(separator: " ")
        return parts.count > 1 ? Int(parts[1]) : nil
    }
    /// The body of the first response (after the blank line).
    var body: String {
        guard let range = output.range(of: "\r\n\r\n") else { return "" }
        return String(output[range.upperBound...])
    }
    var errorMessage: String? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? String
    }

    /// Kills s_client if it still runs and removes its files.
    func close() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? input.fileHandleForWriting.close()
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }
}

// MARK: - A PKI made by openssl

/// A CA with a serving certificate (localhost, 127.0.0.1, ::1) and a client certificate, made by the system
/// openssl, independent of the webhook's own dev PKI generator.
struct OpenSSLPKI {
    var directory: URL
    var caCertificate: String { directory.appendingPathComponent("ca.crt").path }
    var serverCertificate: String { directory.appendingPathComponent("tls.crt").path }
    var serverKey: String { directory.appendingPathComponent("tls.key").path }
    var clientCertificate: String { directory.appendingPathComponent("client.crt").path }
    var clientKey: String { directory.appendingPathComponent("client.key").path }

    /// Generates into `directory` (created); `serverDays` sets the serving certificate's lifetime.
    static func generate(in directory: URL, name: String, serverDays: Int = 30) throws -> OpenSSLPKI {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let extensions = """
            [server]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
            [client]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = clientAuth

            """
        try extensions.write(to: directory.appendingPathComponent("ext.cnf"), atomically: true, encoding: .utf8)
        func openssl(_ arguments: [String]) throws {
            let output = try ProcessRunner.run(WebhookTools.openssl, arguments, in: directory)
            guard output.status == 0 else {
                throw WebhookTestError("openssl \(arguments.joined(separator: " ")) failed:\n\(output.standardError)")
            }
        }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try openssl(
            ["req", "-x509"] + curve + [
                "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/O=backendtls e2e/CN=\(name)",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        for (leaf, section, subject, days) in [
            ("tls", "server", "localhost", serverDays), ("client", "client", "system:apiserver", 30),
        ] {
            try openssl(
                ["req", "-new"] + curve + ["-keyout", "\(leaf).key", "-out", "\(leaf).csr", "-subj", "/CN=\(subject)"])
            try openssl([
                "x509", "-req", "-in", "\(leaf).csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-set_serial", "0x\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16))",
                "-days", String(days), "-extfile", "ext.cnf", "-extensions", section, "-out", "\(leaf).crt",
            ])
        }
        return OpenSSLPKI(directory: directory)
    }
}

// MARK: - AdmissionReview answers

/// The `response` of an AdmissionReview answer, with the patch decoded.
struct AdmissionAnswer: CustomStringConvertible {
    var apiVersion: String?
    var kind: String?
    var response: [String: Any]
    var text: String

    init?(_ body: Data) {
        guard let root = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let response = root["response"] as? [String: Any]
        else { return nil }
        apiVersion = root["apiVersion"] as? String
        kind = root["kind"] as? String
        self.response = response
        text = String(decoding: body, as: UTF8.self)
    }

    var uid: String? { response["uid"] as? String }
    var allowed: Bool? { response["allowed"] as? Bool }
    var status: [String: Any]? { response["status"] as? [String: Any] }
    var statusCode: Int? { status?["code"] as? Int }
    var reason: String? { status?["reason"] as? String }
    var message: String? { status?["message"] as? String }
    var warnings: [String] { response["warnings"] as? [String] ?? [] }
    var patchType: String? { response["patchType"] as? String }
    var hasPatch: Bool { response["patch"] != nil || response["patchType"] != nil }

    /// The base64 JSON Patch, decoded into its operations.
    var patch: [[String: Any]]? {
        guard let encoded = response["patch"] as? String, let data = Data(base64Encoded: encoded) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]]
    }

    var description: String { text }
}

/// Every warning must survive the API server: no control characters, at most 256 characters, a few at most.
func expectWellFormedWarnings(_ answer: AdmissionAnswer, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(answer.warnings.count <= 6, "too many warnings: \(answer.warnings)", sourceLocation: sourceLocation)
    for warning in answer.warnings {
        #expect(!warning.isEmpty, sourceLocation: sourceLocation)
        #expect(warning.count <= 256, "warning over 256 characters: \(warning)", sourceLocation: sourceLocation)
        #expect(
            !warning.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
            "control character in warning: \(warning.debugDescription)", sourceLocation: sourceLocation)
        #expect(!warning.hasPrefix("Warning:"), sourceLocation: sourceLocation)
    }
}
