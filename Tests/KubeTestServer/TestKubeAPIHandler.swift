import BackendTLS
import BackendTLSServerSupport
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// One connection of `TestKubeAPIServer`: authenticates, routes and answers (watches stay open).
final class TestKubeAPIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: TestKubeAPIServer
    private var head: HTTPRequestHead?

    init(server: TestKubeAPIServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            receive(head, context: context)
        }
    }

    private func receive(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let parts = head.uri.split(separator: "?", maxSplits: 1)
        let path = String(parts.first ?? "")
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                query[key] = kv.count == 2 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            }
        }
        let bearer = head.headers.first(name: "authorization").flatMap {
            $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil
        }
        let (authorized, delay) = server.control.withLock { control in
            let authorized = server.requireClientCertificate || bearer.map { control.tokens.contains($0) } == true
            control.requests.append(
                .init(method: head.method.rawValue, path: path, query: query, authorized: authorized))
            return (authorized, control.responseDelay)
        }
        let respond = { [self] in
            self.respond(head, path: path, query: query, authorized: authorized, context: context)
        }
        if delay > .zero {
            context.eventLoop.assumeIsolated().scheduleTask(in: delay.timeAmount) { respond() }
        } else {
            respond()
        }
    }

    private func respond(
        _ head: HTTPRequestHead,
        path: String,
        query: [String: String],
        authorized: Bool,
        context: ChannelHandlerContext
    ) {
        guard authorized else {
            return send(401, TestKubeAPIServer.status(401, reason: "Unauthorized", message: "Unauthorized"), context)
        }
        guard head.method == .GET else {
            return send(
                405, TestKubeAPIServer.status(405, reason: "MethodNotAllowed", message: "only GET here"), context)
        }
        let segments = path.split(separator: "/").map(String.init)
        let group = "gateway.networking.k8s.io"
        if segments == ["apis", group] {
            let versions = server.servedPolicyVersions.map { version -> JSONValue in
                .object(JSONObject([("groupVersion", .string("\(group)/\(version)")), ("version", .string(version))]))
            }
            return send(
                200,
                .object(
                    JSONObject([
                        ("kind", .string("APIGroup")), ("apiVersion", .string("v1")), ("name", .string(group)),
                        ("versions", .array(versions)), ("preferredVersion", versions.first ?? .null),
                    ])), context)
        }
        if segments.count == 3, segments[0] == "apis", segments[1] == group {
            guard server.servedPolicyVersions.contains(segments[2]) else { return notFound(path, context) }
            let resource: JSONValue = .object(
                JSONObject([
                    ("name", .string("backendtlspolicies")), ("namespaced", .bool(true)),
                    ("kind", .string("BackendTLSPolicy")),
                    ("verbs", .array(["get", "list", "watch"].map { .string($0) })),
                ]))
            return send(
                200,
                .object(
                    JSONObject([
                        ("kind", .string("APIResourceList")), ("groupVersion", .string("\(group)/\(segments[2])")),
                        ("resources", .array([resource])),
                    ])), context)
        }
        guard let target = Self.parse(segments),
            TestKubeAPIServer.isServed(target.collection, server.servedPolicyVersions)
        else { return notFound(path, context) }
        var nameSelector: String?
        if let selector = query["fieldSelector"], !selector.isEmpty {
            guard selector.hasPrefix("metadata.name=") else {
                return send(
                    400,
                    TestKubeAPIServer.status(
                        400, reason: "BadRequest",
                        message: "field selector \(selector) not supported by the test server"),
                    context)
            }
            nameSelector = String(selector.dropFirst("metadata.name=".count))
        }
        if let name = target.name {
            let object = server.state.withLock {
                $0.objects[target.collection]?[TestKubeAPIServerState.key(target.namespace ?? "", name)]
            }
            guard let object else {
                let kind = target.collection.split(separator: "/").last.map(String.init) ?? ""
                return send(
                    404,
                    TestKubeAPIServer.status(404, reason: "NotFound", message: "\(kind) \"\(name)\" not found"),
                    context)
            }
            return send(200, object, context)
        }
        if query["watch"] == "1" || query["watch"] == "true" {
            return watch(target, nameSelector: nameSelector, query: query, context: context)
        }
        var (items, version) = server.state.withLock {
            ($0.list(target.collection, namespace: target.namespace, nameSelector: nameSelector), $0.resourceVersion)
        }
        // Paging: `continue` is "RESOURCEVERSION:SNAPSHOT:OFFSET" here (opaque to clients, as the real one is). The
        // pages after the first come from the first one's snapshot; once compaction has passed its resourceVersion,
        // the token is answered 410 Expired, as the real API server answers it.
        var next: String?
        if let limit = Int(query["limit"] ?? ""), limit > 0 {
            var offset = 0
            var snapshot: Int?
            if let token = query["continue"], !token.isEmpty {
                let parts = token.split(separator: ":")
                guard parts.count == 3, let tokenVersion = Int(parts[0]), let id = Int(parts[1]),
                    let start = Int(parts[2])
                else {
                    return send(
                        400, TestKubeAPIServer.status(400, reason: "BadRequest", message: "invalid continue token"),
                        context)
                }
                let expireAll = server.control.withLock { $0.expireContinueTokens }
                let kept = server.state.withLock { state in
                    expireAll || tokenVersion < state.compactedBelow ? nil : state.listSnapshots[id]
                }
                guard let kept else {
                    return send(
                        410,
                        TestKubeAPIServer.status(
                            410, reason: "Expired",
                            message:
                                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results."
                        ), context)
                }
                (items, version, offset, snapshot) = (kept, tokenVersion, start, id)
            }
            let end = min(items.count, offset + limit)
            if end < items.count {
                let id =
                    snapshot
                    ?? server.state.withLock { [items] state in
                        defer { state.nextListSnapshot += 1 }
                        state.listSnapshots[state.nextListSnapshot] = items
                        return state.nextListSnapshot
                    }
                next = "\(version):\(id):\(end)"
            }
            items = Array(items[min(offset, items.count)..<end])
        }
        var metadata = JSONObject([("resourceVersion", .string(String(version)))])
        if let next { metadata["continue"] = .string(next) }
        let kind = Self.kind(of: target.collection) + "List"
        let apiVersion = target.collection.split(separator: "/").dropLast().joined(separator: "/")
        send(
            200,
            .object(
                JSONObject([
                    ("kind", .string(kind)), ("apiVersion", .string(apiVersion)),
                    ("metadata", .object(metadata)),
                    ("items", .array(items)),
                ])), context)
    }

    private func watch(
        _ target: (collection: String, namespace: String?, name: String?),
        nameSelector: String?,
        query: [String: String],
        context: ChannelHandlerContext
    ) {
        let server = self.server
        let requested = query["resourceVersion"] ?? ""
        let since = Int(requested) ?? 0
        let channel = context.channel
        let goneAsStatus = server.control.withLock { $0.goneAsHTTPStatus }
        var startedStream = false
        var watcherID: Int?
        var gone = false
        server.state.withLock { state in
            if since != 0, since < state.compactedBelow {
                gone = true
                return
            }
            var lines: [[UInt8]] = []
            if since == 0 {
                lines = state.list(target.collection, namespace: target.namespace, nameSelector: nameSelector).map {
                    TestKubeAPIServer.eventLine("ADDED", $0)
                }
            } else {
                lines = state.events.filter {
                    $0.resourceVersion > since && $0.collection == target.collection
                        && state.matches($0.object, namespace: target.namespace, nameSelector: nameSelector)
                }.map { TestKubeAPIServer.eventLine($0.type, $0.object) }
            }
            let stalled = server.control.withLock { control -> Bool in
                let id = control.nextWatcher
                control.nextWatcher += 1
                control.watchers[id] = .init(
                    channel: channel, collection: target.collection, namespace: target.namespace, name: nameSelector,
                    stalled: control.stallWatches)
                watcherID = id
                return control.stallWatches
            }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            channel.write(
                HTTPServerResponsePart.head(.init(version: .http1_1, status: .ok, headers: headers)), promise: nil)
            startedStream = true
            if !stalled {
                for line in lines { server.write(line, to: channel) }
            }
            channel.flush()
        }
        if gone {
            if goneAsStatus {
                return send(
                    410,
                    TestKubeAPIServer.status(410, reason: "Expired", message: "too old resource version: \(since)"),
                    context)
            }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            server.write(TestKubeAPIServer.goneLine(since), to: channel)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        guard startedStream, let watcherID else { return }
        if server.control.withLock({ $0.endWatchesAtOnce }) {
            server.control.withLock { _ = $0.watchers.removeValue(forKey: watcherID) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let timeout = Int64(query["timeoutSeconds"] ?? "") ?? 1800
        context.eventLoop.scheduleTask(in: .seconds(timeout)) {
            let open = server.control.withLock { $0.watchers.removeValue(forKey: watcherID) != nil }
            if open { channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil) }
        }
    }

    static func kind(of collection: String) -> String {
        switch collection.split(separator: "/").last {
        case "services": "Service"
        case "configmaps": "ConfigMap"
        case "secrets": "Secret"
        default: "BackendTLSPolicy"
        }
    }

    /// `/api/v1[/namespaces/NS]/PLURAL[/NAME]` or `/apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME]`.
    static func parse(_ segments: [String]) -> (collection: String, namespace: String?, name: String?)? {
        var rest: ArraySlice<String>
        var prefix: String
        if segments.first == "api", segments.count >= 3 {
            prefix = segments[1]
            rest = segments[2...]
        } else if segments.first == "apis", segments.count >= 4 {
            prefix = "\(segments[1])/\(segments[2])"
            rest = segments[3...]
        } else {
            return nil
        }
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3 {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        guard let plural = rest.first, rest.count <= 2 else { return nil }
        guard ["services", "configmaps", "secrets", "backendtlspolicies"].contains(plural) else { return nil }
        let name = rest.count == 2 ? rest.last : nil
        return ("\(prefix)/\(plural)", namespace, name)
    }

    private func notFound(_ path: String, _ context: ChannelHandlerContext) {
        send(
            404, TestKubeAPIServer.status(404, reason: "NotFound", message: "the server could not find \(path)"),
            context)
    }

    private func send(_ status: Int, _ body: JSONValue, _ context: ChannelHandlerContext) {
        let bytes = JSONSerializer.serializeBytes(body)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(bytes.count))
        context.write(
            wrapOutboundOut(.head(.init(version: .http1_1, status: .init(statusCode: status), headers: headers))),
            promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
