public import BackendTLS
public import BackendTLSWebhook
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A **test double** of the Kubernetes API server, for tests only: HTTPS with a bearer token (or a client
/// certificate), discovery for gateway.networking.k8s.io, get, list (resourceVersion, `fieldSelector`
/// by `metadata.name`) and chunked watch streams of JSON events with bookmarks and 410 for compacted
/// resourceVersions — the subset of the real protocol that backendtls uses, plus fault injection
/// (restart, stalls, garbage lines, slow answers, token rotation).
public final class TestKubeAPIServer: Sendable {
    public struct RecordedRequest: Sendable {
        public var method: String
        public var path: String
        public var query: [String: String]
        public var authorized: Bool
    }

    struct Watcher {
        var channel: any Channel
        var collection: String
        var namespace: String?
        var name: String?
        /// Registered while watches were stalled: it never receives anything.
        var stalled: Bool
    }

    struct Control {
        var tokens: Set<String>
        var stallWatches = false
        var responseDelay: Duration = .zero
        var goneAsHTTPStatus = false
        var expireContinueTokens = false
        var servedPolicyVersions: [String] = []
        var endWatchesAtOnce = false
        var watchers: [Int: Watcher] = [:]
        var nextWatcher = 0
        var requests: [RecordedRequest] = []
        var serverChannel: (any Channel)?
        var children: [ObjectIdentifier: any Channel] = [:]
        var port = 0
    }

    public let caFile: String
    public let pki: DevelopmentCertificate.Files
    /// The BackendTLSPolicy versions discovery lists and list/watch answer; others are 404, as for a CRD version
    /// that is not served.
    public var servedPolicyVersions: [String] { control.withLock { $0.servedPolicyVersions } }
    let requireClientCertificate: Bool
    let state = Mutex(TestKubeAPIServerState())
    let control: Mutex<Control>

    /// - Parameter directory: where the server's PKI (CA, serving and client certificates) is written.
    public init(
        directory: String,
        token: String = "token-1",
        servedPolicyVersions: [String] = ["v1", "v1alpha3"],
        requireClientCertificate: Bool = false
    ) throws {
        self.pki = try DevelopmentCertificate.generate(
            in: directory, dnsNames: ["localhost", "kubernetes.default.svc"])
        self.caFile = pki.caCertificate
        self.requireClientCertificate = requireClientCertificate
        var control = Control(tokens: [token])
        control.servedPolicyVersions = servedPolicyVersions
        self.control = Mutex(control)
    }

    public var port: Int { control.withLock { $0.port } }
    public var url: String { "https://127.0.0.1:\(port)" }

    // MARK: Life cycle

    /// Listens on 127.0.0.1 (a fresh port the first time, the same one after `restart`).
    public func start() async throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.serverCertificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.serverKey, format: .pem)))
        if requireClientCertificate {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .file(pki.caCertificate)
        }
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(TestKubeAPIHandler(server: self))
                    let id = ObjectIdentifier(channel)
                    self.control.withLock { $0.children[id] = channel }
                    channel.closeFuture.whenComplete { _ in self.forget(channel) }
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        control.withLock {
            $0.serverChannel = channel
            $0.port = channel.localAddress?.port ?? 0
        }
    }

    /// Closes the listener and every connection, watches included (what a crashed API server does).
    public func stop() async {
        let (server, children) = control.withLock { control in
            let result = (control.serverChannel, Array(control.children.values))
            control.serverChannel = nil
            control.children = [:]
            control.watchers = [:]
            return result
        }
        try? await server?.close()
        for child in children { try? await child.close() }
    }

    public func restart() async throws {
        await stop()
        try await start()
    }

    func forget(_ channel: any Channel) {
        control.withLock { control in
            control.children[ObjectIdentifier(channel)] = nil
            control.watchers = control.watchers.filter { $0.value.channel !== channel }
        }
    }

    // MARK: Objects

    static func collection(of object: JSONValue) -> String? {
        switch object["kind"]?.stringValue {
        case "Service": "v1/services"
        case "ConfigMap": "v1/configmaps"
        case "Secret": "v1/secrets"
        case "BackendTLSPolicy":
            "\(object["apiVersion"]?.stringValue ?? "gateway.networking.k8s.io/v1")/backendtlspolicies"
        default: nil
        }
    }

    /// Creates or replaces an object and tells the matching watches.
    @discardableResult
    public func apply(_ object: JSONValue) -> JSONValue {
        guard let collection = Self.collection(of: object) else { preconditionFailure("unsupported kind") }
        let exists = state.withLock { state in
            let metadata = object["metadata"]
            let key = TestKubeAPIServerState.key(
                metadata?["namespace"]?.stringValue ?? "", metadata?["name"]?.stringValue ?? "")
            return state.objects[collection]?[key] != nil
        }
        return record(object, collection: collection, type: exists ? "MODIFIED" : "ADDED")
    }

    public func apply(json: String) {
        apply(try! JSONParser.parse(json))
    }

    public func delete(_ object: JSONValue) {
        guard let collection = Self.collection(of: object) else { preconditionFailure("unsupported kind") }
        record(object, collection: collection, type: "DELETED")
    }

    @discardableResult
    private func record(_ object: JSONValue, collection: String, type: String) -> JSONValue {
        // Under the state lock, so watch streams see events in resourceVersion order.
        state.withLock { state in
            let stored = state.write(object, collection: collection, type: type)
            broadcast(collection: collection, object: stored) { Self.eventLine(type, stored) }
            return stored
        }
    }

    // MARK: Faults

    /// Only `token` is accepted from now on; the previous one gets 401.
    public func rotateToken(to token: String) {
        control.withLock { $0.tokens = [token] }
    }

    /// Open watches, and watches opened while set, receive nothing more (no events, no bookmarks), ever.
    public func setStallWatches(_ stall: Bool) {
        control.withLock { control in
            control.stallWatches = stall
            if stall { for id in control.watchers.keys { control.watchers[id]?.stalled = true } }
        }
    }

    /// Every answer waits this long first.
    public func setResponseDelay(_ delay: Duration) {
        control.withLock { $0.responseDelay = delay }
    }

    /// Answer stale watches with HTTP 410 instead of a 200 stream carrying an ERROR event.
    public func setGoneAsHTTPStatus(_ value: Bool) {
        control.withLock { $0.goneAsHTTPStatus = value }
    }

    /// Serves these BackendTLSPolicy versions from now on (a Gateway API upgrade changed the CRD), and ends the
    /// watches of the others, as the API server does when a CRD version stops being served.
    public func setServedPolicyVersions(_ versions: [String]) {
        let ended = control.withLock { control in
            control.servedPolicyVersions = versions
            let ended = control.watchers.filter { !Self.isServed($0.value.collection, versions) }
            for id in ended.keys { control.watchers[id] = nil }
            return Array(ended.values)
        }
        for watcher in ended { watcher.channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil) }
    }

    /// Whether a collection (`GROUP/VERSION/PLURAL`) is served: everything but an unserved policy version.
    static func isServed(_ collection: String, _ versions: [String]) -> Bool {
        let parts = collection.split(separator: "/")
        guard parts.last == "backendtlspolicies", parts.count == 3 else { return true }
        return versions.contains(String(parts[1]))
    }

    /// Every continue token is answered 410 Expired, as after a compaction past its snapshot.
    public func setExpireContinueTokens(_ value: Bool) {
        control.withLock { $0.expireContinueTokens = value }
    }

    /// Watches are answered 200 and ended at once, with no event (a proxy or a draining server does this).
    public func setEndWatchesAtOnce(_ value: Bool) {
        control.withLock { $0.endWatchesAtOnce = value }
    }

    /// Writes a line that is not a watch event to every open watch.
    public func injectGarbage(_ line: String = "{not json at all") {
        broadcast(collection: nil, object: nil) { Array((line + "\n").utf8) }
    }

    /// Sends a BOOKMARK at the current resourceVersion to every open watch.
    public func sendBookmark() {
        let version = state.withLock { $0.resourceVersion }
        broadcast(collection: nil, object: nil) { Self.bookmarkLine(version) }
    }

    /// Forgets history: watches from any resourceVersion before the current one get 410 Gone.
    public func compact() {
        state.withLock { $0.compactedBelow = $0.resourceVersion }
    }

    /// Sends a 410 ERROR event to every open watch and ends them.
    public func expireWatches() {
        let watchers = control.withLock { control in
            let all = Array(control.watchers.values)
            control.watchers = [:]
            return all
        }
        for watcher in watchers {
            write(Self.goneLine(0), to: watcher.channel)
            watcher.channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        }
    }

    public var requests: [RecordedRequest] { control.withLock { $0.requests } }
    public var openWatchCount: Int { control.withLock { $0.watchers.count } }

    /// A kubeconfig for this server, authenticating with `token` (or the client certificate).
    public func writeKubeconfig(to path: String, token: String?, clientCertificate: Bool = false) throws {
        var user = token.map { "    token: \($0)\n" } ?? ""
        if clientCertificate {
            user += "    client-certificate: \(pki.clientCertificate)\n    client-key: \(pki.clientKey)\n"
        }
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: \(url)
                certificate-authority: \(caFile)
            users:
            - name: tester
              user:
            \(user.isEmpty ? "    {}\n" : user)contexts:
            - name: test
              context:
                cluster: test
                user: tester
                namespace: default
            current-context: test

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    // MARK: Streams

    func broadcast(collection: String?, object: JSONValue?, line: () -> [UInt8]) {
        let targets = control.withLock { control -> [any Channel] in
            return control.watchers.values.filter { watcher in
                guard !watcher.stalled else { return false }
                guard let collection, let object else { return true }
                guard watcher.collection == collection else { return false }
                if let namespace = watcher.namespace, object["metadata"]?["namespace"]?.stringValue != namespace {
                    return false
                }
                if let name = watcher.name, object["metadata"]?["name"]?.stringValue != name { return false }
                return true
            }.map(\.channel)
        }
        guard !targets.isEmpty else { return }
        let bytes = line()
        for channel in targets { write(bytes, to: channel) }
    }

    func write(_ bytes: [UInt8], to channel: any Channel) {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
    }

    static func eventLine(_ type: String, _ object: JSONValue) -> [UInt8] {
        JSONSerializer.serializeBytes(.object(JSONObject([("type", .string(type)), ("object", object)])))
            + [UInt8(ascii: "\n")]
    }

    static func bookmarkLine(_ version: Int) -> [UInt8] {
        eventLine(
            "BOOKMARK",
            .object(JSONObject([("metadata", .object(JSONObject([("resourceVersion", .string(String(version)))])))])))
    }

    static func status(_ code: Int, reason: String, message: String) -> JSONValue {
        .object(
            JSONObject([
                ("kind", .string("Status")), ("apiVersion", .string("v1")), ("metadata", .object(JSONObject())),
                ("status", .string("Failure")), ("message", .string(message)), ("reason", .string(reason)),
                ("code", .number(String(code))),
            ]))
    }

    static func goneLine(_ version: Int) -> [UInt8] {
        eventLine("ERROR", status(410, reason: "Expired", message: "too old resource version: \(version)"))
    }
}
