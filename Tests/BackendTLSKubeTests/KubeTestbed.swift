import BackendTLS
import BackendTLSKube
import Foundation
import KubeTestServer
import Logging
import Prometheus
import Synchronization

/// A started `TestKubeAPIServer` and a client authenticated to it through a kubeconfig file.
struct KubeTestbed {
    let directory: String
    let server: TestKubeAPIServer
    let registry = PrometheusCollectorRegistry()
    let logger = Logger(label: "kube-test", factory: { _ in SwiftLogNoOpLogHandler() })
    /// AsyncHTTPClient insists on `shutdown()` before deinit; `cleanUp` shuts down every client made here.
    private let clients = ClientList()

    init(servedPolicyVersions: [String] = ["v1", "v1alpha3"], requireClientCertificate: Bool = false) async throws {
        directory = NSTemporaryDirectory() + "kube-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        server = try TestKubeAPIServer(
            directory: directory + "/pki", servedPolicyVersions: servedPolicyVersions,
            requireClientCertificate: requireClientCertificate)
        try await server.start()
    }

    var metrics: KubeMetrics { KubeMetrics(registry: registry) }

    /// A client using a kubeconfig with `token` (default: the server's first token).
    func client(token: String? = "token-1", clientCertificate: Bool = false) throws -> KubeClient {
        let path = directory + "/kubeconfig-\(UUID().uuidString)"
        try server.writeKubeconfig(to: path, token: token, clientCertificate: clientCertificate)
        let credentials = try KubeCredentials.kubeconfig(paths: [path])
        return try track(KubeClient(credentials: credentials, metrics: metrics, logger: logger))
    }

    /// A client whose bearer token is read from a file (holding "token-1"), cached for an hour: only a 401
    /// makes it read the file again, so tests see exactly the rotation path.
    func clientWithTokenFile() throws -> (KubeClient, tokenFile: String) {
        let tokenFile = directory + "/token"
        try "token-1".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let credentials = KubeCredentials(
            server: server.url,
            certificateAuthorityPEM: Array(try Data(contentsOf: URL(fileURLWithPath: server.caFile))),
            token: try BearerTokenSource(file: tokenFile, refreshInterval: .seconds(3600)), origin: "test")
        return (track(try KubeClient(credentials: credentials, logger: logger)), tokenFile)
    }

    func track(_ client: KubeClient) -> KubeClient {
        clients.add(client)
        return client
    }

    /// Fast timings so fault tests take seconds, not minutes.
    static var fastInformer: Informer.Configuration {
        var configuration = Informer.Configuration()
        // Quiet watches are normal in these tests; only the stall test shortens this (a 1 s stall timeout
        // would churn every quiet watch on a loaded CI machine).
        configuration.stallTimeout = .seconds(30)
        configuration.backoff = Backoff(initial: .milliseconds(50), maximum: .milliseconds(300))
        configuration.watchTimeoutSeconds = 30...30
        return configuration
    }

    func metricsText() -> String {
        String(decoding: registry.emitToBuffer(), as: UTF8.self)
    }

    func cleanUp() async {
        for client in clients.all { await client.shutdown() }
        await server.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func service(_ name: String, namespace: String = "apps", ports: [(String, Int)] = [("https", 443)])
        -> JSONValue
    {
        let portList = ports.map { #"{"name": "\#($0.0)", "port": \#($0.1)}"# }.joined(separator: ",")
        return try! JSONParser.parse(
            #"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "\#(name)", "namespace": "\#(namespace)"}, "spec": {"clusterIP": "10.0.0.1", "ports": [\#(portList)]}}"#
        )
    }

    static func policy(_ name: String, service: String, namespace: String = "apps", configMap: String = "ca")
        -> JSONValue
    {
        try! JSONParser.parse(
            #"""
            {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "BackendTLSPolicy",
             "metadata": {"name": "\#(name)", "namespace": "\#(namespace)"},
             "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": "\#(service)"}],
                      "validation": {"hostname": "\#(service).example.com",
                                     "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "\#(configMap)"}]}}}
            """#)
    }

    static func configMap(_ name: String, namespace: String = "apps", data: [String: String]) -> JSONValue {
        .object(
            JSONObject([
                ("apiVersion", .string("v1")), ("kind", .string("ConfigMap")),
                ("metadata", .object(JSONObject([("name", .string(name)), ("namespace", .string(namespace))]))),
                ("data", .object(JSONObject(data.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))),
            ]))
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(
    timeout: Duration = .seconds(20),
    _ condition: @Sendable () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

final class ClientList: Sendable {
    private let clients = Mutex<[KubeClient]>([])

    func add(_ client: KubeClient) { clients.withLock { $0.append(client) } }

    var all: [KubeClient] { clients.withLock { $0 } }
}
