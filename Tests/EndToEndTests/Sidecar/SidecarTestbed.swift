import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether the tools the sidecar end-to-end tests drive are installed (Debian: nginx-light, openssl, curl).
enum SidecarTools {
    static let nginx = "/usr/sbin/nginx"
    static let openssl = "/usr/bin/openssl"
    static let curl = "/usr/bin/curl"

    static let available = [nginx, openssl, curl].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

    static var sidecar: String { ProcessRunner.builtBinary("backendtls-sidecar") }
}

struct SidecarTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - PKI

/// A certificate and its key as openssl wrote them; `chainPEM` is what a server sends (leaf, then intermediates).
struct Credential: Sendable {
    var certificatePEM: String
    var chainPEM: String
    var keyPEM: String
}

/// Every certificate the sidecar tests need, made once per test process by the system openssl and kept in
/// memory (the working directory is gone by the time tests run). EC P-256 keys: fast to generate.
///
///     root ── intermediate ─┬─ leaf            DNS:backend.default.svc, URI:spiffe://…/sa/backend
///                           ├─ expired         same SANs, 2020-01-01 to 2021-01-01
///                           └─ notYetValid     same SANs, 2040-01-01 to 2041-01-01
///     selfSigned                               DNS:backend.default.svc, CA:FALSE, its own issuer
///     selfSignedCA                             DNS:backend.default.svc, CA:TRUE, its own issuer
///     otherRoot                                a CA that issued nothing the backends serve
///     newRoot ── newLeaf                       the CA the rotation test moves to
struct SidecarPKI: Sendable {
    static let serviceHostname = "backend.default.svc"
    static let spiffeID = "spiffe://cluster.local/ns/default/sa/backend"

    var root: Credential
    var intermediate: Credential
    var leaf: Credential
    var expired: Credential
    var notYetValid: Credential
    /// A self-signed server certificate marked CA:FALSE, as a careful operator makes it.
    var selfSigned: Credential
    /// A self-signed server certificate marked CA:TRUE, as `openssl req -x509` makes it by default.
    var selfSignedCA: Credential
    var otherRoot: Credential
    var newRoot: Credential
    var newLeaf: Credential

    private static let generated = Result { try generate() }

    static func shared() throws -> SidecarPKI { try generated.get() }

    private static func configuration(database: String) -> String {
        """
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
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid:always
        subjectAltName = DNS:\(serviceHostname), URI:\(spiffeID)
        [v3_self_signed]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = serverAuth
        subjectKeyIdentifier = hash
        subjectAltName = DNS:\(serviceHostname)
        [v3_self_signed_ca]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,digitalSignature,keyCertSign
        extendedKeyUsage = serverAuth
        subjectKeyIdentifier = hash
        subjectAltName = DNS:\(serviceHostname)
        # `openssl x509 -req` cannot set a start date in the past; `openssl ca` can (-startdate/-enddate).
        [ca]
        default_ca = test_ca
        [test_ca]
        database = \(database)/index.txt
        serial = \(database)/serial
        new_certs_dir = \(database)
        default_md = sha256
        policy = any_subject
        unique_subject = no
        copy_extensions = none
        [any_subject]
        commonName = supplied
        organizationName = optional

        """
    }

    static func generate() throws -> SidecarPKI {
        let directory = try ProcessRunner.temporaryDirectory("backendtls-sidecar-pki")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("ca-db")
        try FileManager.default.createDirectory(at: database, withIntermediateDirectories: true)
        try "".write(to: database.appendingPathComponent("index.txt"), atomically: true, encoding: .utf8)
        try "01\n".write(to: database.appendingPathComponent("serial"), atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("openssl.cnf").path
        try configuration(database: database.path).write(toFile: config, atomically: true, encoding: .utf8)

        func openssl(_ arguments: [String]) throws {
            let output = try ProcessRunner.run(SidecarTools.openssl, arguments, in: directory)
            guard output.status == 0 else {
                throw SidecarTestFailure("openssl \(arguments.joined(separator: " ")) failed:\n\(output.standardError)")
            }
        }
        func read(_ name: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        func key(_ name: String) throws {
            try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(name).key"])
        }
        func selfSigned(_ name: String, commonName: String, extensions: String) throws -> Credential {
            try key(name)
            try openssl([
                "req", "-config", config, "-x509", "-new", "-key", "\(name).key", "-subj",
                "/O=backendtls tests/CN=\(commonName)",
                "-days", "90", "-extensions", extensions, "-out", "\(name).crt",
            ])
            let certificate = try read("\(name).crt")
            return Credential(certificatePEM: certificate, chainPEM: certificate, keyPEM: try read("\(name).key"))
        }
        func issue(
            _ name: String, commonName: String, by issuer: String, issuerChain: Credential?, extensions: String,
            validity: [String] = ["-days", "90"]
        ) throws -> Credential {
            try key(name)
            try openssl([
                "req", "-config", config, "-new", "-key", "\(name).key", "-subj",
                "/O=backendtls tests/CN=\(commonName)",
                "-out", "\(name).csr",
            ])
            try openssl(
                [
                    "ca", "-config", config, "-batch", "-notext", "-cert", "\(issuer).crt", "-keyfile", "\(issuer).key",
                    "-in", "\(name).csr", "-extensions", extensions, "-out", "\(name).crt",
                ] + validity)
            let certificate = try read("\(name).crt")
            let chain = issuerChain.map { certificate + $0.chainPEM } ?? certificate
            return Credential(certificatePEM: certificate, chainPEM: chain, keyPEM: try read("\(name).key"))
        }

        let root = try selfSigned("root", commonName: "Sidecar Test Root CA", extensions: "v3_ca")
        // The intermediate's chain is itself only: servers send leaf + intermediate, never the root.
        var intermediate = try issue(
            "intermediate", commonName: "Sidecar Test Intermediate CA", by: "root", issuerChain: nil,
            extensions: "v3_intermediate")
        intermediate.chainPEM = intermediate.certificatePEM
        let leaf = try issue(
            "leaf", commonName: serviceHostname, by: "intermediate", issuerChain: intermediate, extensions: "v3_leaf")
        let expired = try issue(
            "expired", commonName: serviceHostname, by: "intermediate", issuerChain: intermediate,
            extensions: "v3_leaf", validity: ["-startdate", "20200101000000Z", "-enddate", "20210101000000Z"])
        let notYetValid = try issue(
            "future", commonName: serviceHostname, by: "intermediate", issuerChain: intermediate,
            extensions: "v3_leaf", validity: ["-startdate", "20400101000000Z", "-enddate", "20410101000000Z"])
        let selfSignedLeaf = try selfSigned("self-signed", commonName: serviceHostname, extensions: "v3_self_signed")
        let selfSignedCA = try selfSigned(
            "self-signed-ca", commonName: serviceHostname, extensions: "v3_self_signed_ca")
        let otherRoot = try selfSigned("other-root", commonName: "Unrelated Root CA", extensions: "v3_ca")
        let newRoot = try selfSigned("new-root", commonName: "Sidecar Test Root CA 2", extensions: "v3_ca")
        let newLeaf = try issue(
            "new-leaf", commonName: serviceHostname, by: "new-root", issuerChain: nil, extensions: "v3_leaf")
        return SidecarPKI(
            root: root, intermediate: intermediate, leaf: leaf, expired: expired, notYetValid: notYetValid,
            selfSigned: selfSignedLeaf, selfSignedCA: selfSignedCA, otherRoot: otherRoot, newRoot: newRoot,
            newLeaf: newLeaf)
    }
}

// MARK: - Manifests

/// The `--config-dir` manifests the tests write: Services on 127.0.0.1, CA ConfigMaps, v1 BackendTLSPolicies.
enum Manifest {
    static func service(_ name: String, ports: [(name: String, port: Int)]) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: \(name)
          namespace: default
        spec:
          clusterIP: 127.0.0.1
          ports:
        \(ports.map { "    - name: \($0.name)\n      port: \($0.port)\n      protocol: TCP" }.joined(separator: "\n"))

        """
    }

    static func caConfigMap(_ name: String, pem: String) -> String {
        """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: \(name)
          namespace: default
        data:
          ca.crt: |
        \(pem.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n"))

        """
    }

    enum Trust {
        case configMap(String)
        case system
    }

    enum SubjectAltName {
        case hostname(String)
        case uri(String)
    }

    static func policy(
        _ name: String,
        service: String,
        sectionName: String? = "https",
        hostname: String = SidecarPKI.serviceHostname,
        trust: Trust = .configMap("backend-ca"),
        subjectAltNames: [SubjectAltName] = [],
        options: [String: String] = [:]
    ) -> String {
        var text = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: BackendTLSPolicy
            metadata:
              name: \(name)
              namespace: default
            spec:
              targetRefs:
                - group: ""
                  kind: Service
                  name: \(service)

            """
        if let sectionName { text += "      sectionName: \(sectionName)\n" }
        text += "  validation:\n"
        switch trust {
        case .configMap(let configMap):
            text += "    caCertificateRefs:\n      - group: \"\"\n        kind: ConfigMap\n        name: \(configMap)\n"
        case .system:
            text += "    wellKnownCACertificates: System\n"
        }
        text += "    hostname: \"\(hostname)\"\n"
        if !subjectAltNames.isEmpty {
            text += "    subjectAltNames:\n"
            for san in subjectAltNames {
                switch san {
                case .hostname(let value): text += "      - type: Hostname\n        hostname: \(value)\n"
                case .uri(let value): text += "      - type: URI\n        uri: \(value)\n"
                }
            }
        }
        if !options.isEmpty {
            text += "  options:\n"
            for (key, value) in options.sorted(by: { $0.key < $1.key }) { text += "    \(key): \"\(value)\"\n" }
        }
        return text
    }
}

// MARK: - HTTP through curl

struct HTTPResult: CustomStringConvertible {
    /// curl's exit status: 0, or why no response came (52 empty reply, 56 receive failure, 7 refused, 28 timeout).
    var curlStatus: Int32
    var status: Int?
    /// Lower-cased names.
    var headers: [String: String]
    var body: String
    var curlError: String

    var backendTLSError: String? { headers["x-backendtls-error"] }

    var description: String {
        if let status {
            return "HTTP \(status) x-backendtls-error: \(backendTLSError ?? "-") body: \(body.debugDescription)"
        }
        return "no response (curl exit \(curlStatus): \(curlError.trimmingCharacters(in: .whitespacesAndNewlines)))"
    }

    init(curlStatus: Int32, output: String, error: String) {
        self.curlStatus = curlStatus
        self.curlError = error
        self.headers = [:]
        self.body = ""
        guard let split = output.range(of: "\r\n\r\n") else { return }
        let lines = output[..<split.lowerBound].components(separatedBy: "\r\n")
        body = String(output[split.upperBound...])
        let statusParts = (lines.first ?? "").split(separator: " ")
        status = statusParts.count >= 2 ? Int(statusParts[1]) : nil
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
    }
}

enum Curl {
    /// One request with `-i`: status, headers and body parsed; curl's exit status and error when none came.
    static func run(_ arguments: [String]) throws -> HTTPResult {
        let run = try CurlProcess.run(["-sS", "-i", "--max-time", "10"] + arguments)
        return HTTPResult(
            curlStatus: run.exitCode, output: String(decoding: run.standardOutput, as: UTF8.self),
            error: run.standardError)
    }
}

// MARK: - Processes and ports

/// A child process whose output goes to a file (a pipe nobody reads would stall it).
final class ChildProcess {
    let process = Process()
    let logFile: URL

    init(_ executable: String, _ arguments: [String], log: URL) throws {
        logFile = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try handle.close()
    }

    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL after `grace`; returns the exit status, or nil if it had to be killed.
    @discardableResult
    func stop(grace: TimeInterval = 5) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return nil
    }
}

// MARK: - nginx

/// nginx 1.22 backends on loopback: TLS servers that hand out a certificate only for the SNI names they are
/// told (any other SNI fails the handshake and names itself in the error log), and plain-HTTP servers.
/// The access log records `PORT SNI REQUEST` for every request that arrived.
final class NginxBackend {
    enum Server {
        /// Certificates by SNI; `protocols` is nginx's `ssl_protocols`.
        case tls(name: String, certificates: [String: Credential], protocols: String = "TLSv1.2 TLSv1.3")
        case plain(name: String)

        var name: String {
            switch self {
            case .tls(let name, _, _), .plain(let name): name
            }
        }
    }

    struct AccessLogEntry: Equatable, CustomStringConvertible {
        var port: Int
        /// `-` when the connection had no TLS or no SNI.
        var serverName: String
        var request: String
        var description: String { "\(port) \(serverName) \(request)" }
    }

    let directory: URL
    private(set) var ports: [String: Int] = [:]
    /// nginx's `keepalive_requests`: 1 closes every connection after its first response.
    var keepaliveRequests = 1000
    private var child: ChildProcess?
    private var configFile: URL { directory.appendingPathComponent("nginx.conf") }
    private var errorLogFile: URL { directory.appendingPathComponent("error.log") }
    private var accessLogFile: URL { directory.appendingPathComponent("access.log") }
    private var sessionLogFile: URL { directory.appendingPathComponent("sessions.log") }
    private var pidFile: URL { directory.appendingPathComponent("nginx.pid") }

    init(directory: URL) {
        self.directory = directory
    }

    func port(_ name: String) -> Int { ports[name]! }

    /// Starts nginx with `servers`, each on a fresh loopback port; retried when a port was taken meanwhile.
    func start(_ servers: [Server]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lastOutput = ""
        for _ in 0..<3 {
            ports = [:]
            for server in servers { ports[server.name] = try LoopbackPort.free() }
            try writeConfiguration(servers)
            try? FileManager.default.removeItem(at: pidFile)
            let child = try ChildProcess(
                SidecarTools.nginx, ["-e", errorLogFile.path, "-c", configFile.path, "-p", directory.path + "/"],
                log: directory.appendingPathComponent("nginx.out"))
            self.child = child
            // Listening sockets are open once the master writes its pid file; no probe connections, so the
            // error log shows only what the sidecar did.
            let started = eventually(timeout: 10) {
                !child.isRunning || ((try? String(contentsOf: pidFile, encoding: .utf8)) ?? "").contains("\n")
            }
            if started, child.isRunning { return }
            child.stop()
            lastOutput = child.output + errorLog
            guard lastOutput.contains("Address already in use") else { break }
        }
        throw SidecarTestFailure("nginx did not start:\n\(lastOutput)")
    }

    /// Rewrites the configuration (same ports) and has the running nginx reload it (`nginx -s reload`).
    func reload(_ servers: [Server]) throws {
        try writeConfiguration(servers)
        let output = try ProcessRunner.run(
            SidecarTools.nginx,
            ["-e", errorLogFile.path, "-c", configFile.path, "-p", directory.path + "/", "-s", "reload"])
        guard output.status == 0 else { throw SidecarTestFailure("nginx -s reload failed: \(output.standardError)") }
    }

    func stop() {
        child?.stop()
        child = nil
    }

    var errorLog: String { (try? String(contentsOf: errorLogFile, encoding: .utf8)) ?? "" }

    var accessLog: [AccessLogEntry] {
        let text = (try? String(contentsOf: accessLogFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let port = Int(parts[0]) else { return nil }
            return AccessLogEntry(port: port, serverName: String(parts[1]), request: String(parts[2]))
        }
    }

    /// Per request, the TLS version and whether the connection resumed a session (`r`) or not (`.`).
    var sessionLog: [String] {
        ((try? String(contentsOf: sessionLogFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits for `count` access-log entries (nginx logs after it has answered) and returns them all.
    func waitForAccessLog(count: Int, timeout: TimeInterval = 3) -> [AccessLogEntry] {
        _ = eventually(timeout: timeout) { accessLog.count >= count }
        return accessLog
    }

    /// Error-log lines about client connections (`client: 127.0.0.1`): empty when nobody connected at all.
    var clientConnectionLines: [String] {
        errorLog.split(separator: "\n").map(String.init).filter {
            $0.contains("client: ") || $0.contains("client 127.")
        }
    }

    /// Where PUT stores uploads and GET serves files (`/files/NAME`): `fileDirectory/NAME`.
    var fileDirectory: URL { directory.appendingPathComponent("www/files") }

    private func writeConfiguration(_ servers: [Server]) throws {
        let path = directory.path
        // Workers run as nobody and must be able to store uploads.
        try FileManager.default.createDirectory(at: fileDirectory, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: fileDirectory.path)
        // `/echo/...` answers with the request line as nginx received it; `/files/` stores PUT bodies and
        // serves files, for the streaming tests; `/slow/` serves the same files at 2 KiB/s; `/headers/` reports
        // headers a proxy must not forward; `/chunked/` answers without a Content-Length (a filtered body), so
        // HTTP/1.1 gets it chunked.
        let protocolLocations = """
                location /echo/ { return 200 "$request_uri $server_protocol\\n"; }
                location /files/ { root \(path)/www; client_max_body_size 0; dav_methods PUT; }
                location /slow/ { alias \(path)/www/files/; limit_rate 2k; }
                location /headers/ {
                  return 200 "x-hop=[$http_x_hop] upgrade=[$http_upgrade] te=[$http_te] x-end=[$http_x_end]\\n";
                }
                location /chunked/ {
                  sub_filter_types text/plain;
                  sub_filter_once off;
                  sub_filter "LENGTH" "chunks";
                  return 200 "body without a LENGTH\\n";
                }

            """
        var maps = ""
        var blocks = ""
        for (index, server) in servers.enumerated() {
            let port = ports[server.name]!
            switch server {
            case .tls(let name, let certificates, let protocols):
                var certificateEntries = ""
                var keyEntries = ""
                for (serverName, credential) in certificates.sorted(by: { $0.key < $1.key }) {
                    let base = directory.appendingPathComponent("\(name)-\(serverName)")
                    try credential.chainPEM.write(toFile: base.path + ".crt", atomically: true, encoding: .utf8)
                    try credential.keyPEM.write(toFile: base.path + ".key", atomically: true, encoding: .utf8)
                    // Workers (not root) load certificates chosen by variables at handshake time.
                    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: base.path + ".key")
                    certificateEntries += "    \(serverName) \"\(base.path).crt\";\n"
                    keyEntries += "    \(serverName) \"\(base.path).key\";\n"
                }
                maps += """
                      map $ssl_server_name $backendtls_certificate_\(index) {
                    \(certificateEntries)    default "\(path)/no-certificate-for-SNI-[$ssl_server_name]";
                      }
                      map $ssl_server_name $backendtls_key_\(index) {
                    \(keyEntries)    default "\(path)/no-key-for-SNI-[$ssl_server_name]";
                      }

                    """
                blocks += """
                      server {
                        listen 127.0.0.1:\(port) ssl;
                        ssl_protocols \(protocols);
                        ssl_certificate $backendtls_certificate_\(index);
                        ssl_certificate_key $backendtls_key_\(index);
                        location / { return 200 "\(name)\\n"; }
                    \(protocolLocations)  }

                    """
            case .plain(let name):
                blocks += """
                      server {
                        listen 127.0.0.1:\(port);
                        location / { return 200 "\(name)\\n"; }
                    \(protocolLocations)  }

                    """
            }
        }
        let configuration = """
            daemon off;
            worker_processes 1;
            pid \(pidFile.path);
            error_log \(errorLogFile.path) info;
            events { worker_connections 128; }
            http {
              log_format sni '$server_port $ssl_server_name $request';
              access_log \(accessLogFile.path) sni;
              log_format sessions '$ssl_protocol $ssl_session_reused';
              access_log \(sessionLogFile.path) sessions;
              client_body_temp_path \(path)/client_body;
              proxy_temp_path \(path)/proxy;
              fastcgi_temp_path \(path)/fastcgi;
              uwsgi_temp_path \(path)/uwsgi;
              scgi_temp_path \(path)/scgi;
              keepalive_timeout 30s;
              keepalive_requests \(keepaliveRequests);
            \(maps)\(blocks)}

            """
        try configuration.write(to: configFile, atomically: true, encoding: .utf8)
    }
}

// MARK: - The sidecar

/// The built `backendtls-sidecar`, started on fresh loopback ports and ready (`/readyz` 200) unless asked not to wait.
final class SidecarUnderTest {
    let httpPort: Int
    let metricsPort: Int
    /// Listen ports of `--route`s, in the order given.
    let routePorts: [Int]
    private let child: ChildProcess

    private init(httpPort: Int, metricsPort: Int, routePorts: [Int], child: ChildProcess) {
        self.httpPort = httpPort
        self.metricsPort = metricsPort
        self.routePorts = routePorts
        self.child = child
    }

    var isRunning: Bool { child.isRunning }

    /// `routes` are `SERVICE.NAMESPACE:PORT` targets; each gets a listen port.
    static func start(
        configDirectory: URL, log: URL, routes: [String] = [], arguments: [String] = [], waitUntilReady: Bool = true
    ) throws -> SidecarUnderTest {
        try #require(
            FileManager.default.isExecutableFile(atPath: SidecarTools.sidecar),
            "\(SidecarTools.sidecar) is missing: run swift build --build-tests first")
        var lastOutput = ""
        for _ in 0..<3 {
            let httpPort = try LoopbackPort.free()
            let metricsPort = try LoopbackPort.free()
            let routePorts = try routes.map { _ in try LoopbackPort.free() }
            var flags = [
                "--listen", "127.0.0.1:\(httpPort)", "--metrics-listen", "127.0.0.1:\(metricsPort)", "--log-level",
                "debug",
            ]
            // Cluster mode reads the (test) API server instead of a directory.
            if !arguments.contains("--kube") { flags += ["--config-dir", configDirectory.path] }
            for (port, route) in zip(routePorts, routes) { flags += ["--route", "127.0.0.1:\(port)=\(route)"] }
            let child = try ChildProcess(SidecarTools.sidecar, flags + arguments, log: log)
            let sidecar = SidecarUnderTest(
                httpPort: httpPort, metricsPort: metricsPort, routePorts: routePorts, child: child)
            let probe = waitUntilReady ? "/readyz" : "/healthz"
            let up = eventually(timeout: 15) {
                !child.isRunning || (try? sidecar.observability(probe).status) == 200
            }
            if up, child.isRunning { return sidecar }
            child.stop()
            lastOutput = child.output
            guard lastOutput.contains("already in use") else { break }
        }
        throw SidecarTestFailure("backendtls-sidecar did not become ready:\n\(lastOutput)")
    }

    /// Origin form: `GET path` with `Host: authority`, sent to the HTTP listener.
    func get(_ authority: String, path: String = "/") throws -> HTTPResult {
        try Curl.run(["--noproxy", "*", "-H", "Host: \(authority)", "http://127.0.0.1:\(httpPort)\(path)"])
    }

    /// Absolute form, the sidecar as `HTTP_PROXY`: `GET http://authority/path`.
    func getThroughProxy(_ url: String) throws -> HTTPResult {
        try Curl.run(["-x", "http://127.0.0.1:\(httpPort)", url])
    }

    /// Plain HTTP over the `index`th TCP route (the sidecar relays the bytes over TLS).
    func getThroughRoute(_ index: Int, authority: String) throws -> HTTPResult {
        try Curl.run(["--noproxy", "*", "-H", "Host: \(authority)", "http://127.0.0.1:\(routePorts[index])/"])
    }

    func observability(_ path: String) throws -> HTTPResult {
        try Curl.run(["--noproxy", "*", "http://127.0.0.1:\(metricsPort)\(path)"])
    }

    /// The value of the sample of `name` whose labels include all of `labels`; 0 when there is none yet.
    func metric(_ name: String, _ labels: [String: String] = [:]) throws -> Double {
        let text = try observability("/metrics").body
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let parts = line.split(separator: " ")
            guard let value = parts.last.flatMap({ Double($0) }) else { continue }
            if labels.allSatisfy({ line.contains("\($0.key)=\"\($0.value)\"") }) { return value }
        }
        return 0
    }

    var log: String { child.output }

    var processIdentifier: Int32 { child.process.processIdentifier }

    /// `VmRSS` (now) or `VmHWM` (the peak so far) from `/proc`, in KiB.
    func memoryKiB(_ field: String = "VmRSS") -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// SIGTERM; the exit status, or nil when it had to be killed.
    @discardableResult
    func stop() -> Int32? { child.stop() }
}

// MARK: - One test's world

/// A temporary directory with nginx, a `--config-dir` and the sidecar; `tearDown()` stops both and removes it.
final class SidecarTestbed {
    let directory: URL
    let configDirectory: URL
    let nginx: NginxBackend
    private(set) var sidecar: SidecarUnderTest?

    init() throws {
        directory = try ProcessRunner.temporaryDirectory("backendtls-sidecar-e2e")
        configDirectory = directory.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: configDirectory, withIntermediateDirectories: true)
        nginx = NginxBackend(directory: directory.appendingPathComponent("nginx"))
    }

    /// Writes (atomically: the sidecar polls the directory) one manifest file of the `--config-dir`.
    func write(_ name: String, _ manifests: String...) throws {
        try manifests.joined(separator: "---\n").write(
            to: configDirectory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// nginx presenting `certificate` for the policy's hostname, the Service, a policy trusting `bundle`,
    /// and the sidecar, ready; with `tcpRoute`, also relaying its first TCP route to the backend.
    func startPolicedBackend(
        presenting certificate: Credential, trusting bundle: String, protocols: String = "TLSv1.2 TLSv1.3",
        arguments: [String] = [], tcpRoute: Bool = false
    ) throws -> (sidecar: SidecarUnderTest, port: Int) {
        try nginx.start([
            .tls(name: "backend", certificates: [SidecarPKI.serviceHostname: certificate], protocols: protocols)
        ])
        let port = nginx.port("backend")
        try write(
            "all.yaml", Manifest.service("backend", ports: [("https", port)]),
            Manifest.caConfigMap("backend-ca", pem: bundle), Manifest.policy("backend", service: "backend"))
        return (try startSidecar(routes: tcpRoute ? ["backend.default:\(port)"] : [], arguments: arguments), port)
    }

    /// `startPolicedBackend` with the shared PKI's leaf, trusted through its root: a backend that verifies.
    func startTrustedBackend(arguments: [String] = [], tcpRoute: Bool = false) throws -> (
        sidecar: SidecarUnderTest, port: Int
    ) {
        let pki = try SidecarPKI.shared()
        return try startPolicedBackend(
            presenting: pki.leaf, trusting: pki.root.certificatePEM, arguments: arguments, tcpRoute: tcpRoute)
    }

    @discardableResult
    func startSidecar(routes: [String] = [], arguments: [String] = [], waitUntilReady: Bool = true) throws
        -> SidecarUnderTest
    {
        let started = try SidecarUnderTest.start(
            configDirectory: configDirectory, log: directory.appendingPathComponent("sidecar.log"), routes: routes,
            arguments: arguments, waitUntilReady: waitUntilReady)
        sidecar = started
        return started
    }

    /// Everything a failing expectation needs to be understood.
    var diagnostics: String {
        """
        --- sidecar log
        \(sidecar?.log ?? "(not started)")
        --- nginx access log
        \(nginx.accessLog.map(\.description).joined(separator: "\n"))
        --- nginx error log
        \(nginx.errorLog)
        """
    }

    /// Stops the sidecar (returning its exit status) and nginx, and removes the directory.
    @discardableResult
    func tearDown() -> Int32? {
        let status = sidecar?.stop()
        nginx.stop()
        if ProcessInfo.processInfo.environment["BACKENDTLS_E2E_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
        return status
    }
}
