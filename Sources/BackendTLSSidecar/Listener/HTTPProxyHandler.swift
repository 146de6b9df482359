import BackendTLS
import Logging
import NIOCore
import NIOHTTP1
import Prometheus

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// HTTP mode: one per downstream (app) connection. Each request names a Service by its authority; the
/// resolver decides TLS (with exactly the policy's settings), plaintext (no policy), or a refusal (502/503
/// with `x-backendtls-error`). Requests and responses stream with back-pressure; upstream connections are
/// pooled per settings.
final class HTTPProxyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// Waiting for an upstream connection; request parts are held (downstream reads are paused).
        case connecting(buffered: [HTTPClientRequestPart], keepAlive: Bool)
        case forwarding(upstream: any Channel, key: UpstreamConnectionPool.Key, keepAlive: Bool, responseStarted: Bool)
        /// A refusal was sent; the rest of the request is dropped.
        case refusing(keepAlive: Bool)
    }

    private let environment: SidecarEnvironment
    private let pool: UpstreamConnectionPool
    private var state = State.idle
    private var context: ChannelHandlerContext?

    init(environment: SidecarEnvironment, pool: UpstreamConnectionPool) {
        self.environment = environment
        self.pool = pool
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): start(head, context: context)
        case .body(let buffer): forward(.body(.byteBuffer(buffer)), context: context)
        case .end(let trailers): forward(.end(trailers), context: context)
        }
    }

    // MARK: Request

    private func start(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        let target: Target
        switch Target.parse(head, defaultNamespace: environment.configuration.namespace) {
        case .success(let parsed): target = parsed
        case .failure(let failure): return refuse(failure, keepAlive: keepAlive, context: context)
        }
        guard
            let resolution = environment.state.resolve(
                namespace: target.authority.namespace, service: target.authority.service, port: .number(target.port)),
            let snapshot = environment.state.snapshot
        else {
            return refuse(
                ProxyFailure(
                    status: 503, reason: "not_ready", policy: nil, message: "the configuration has not been loaded yet"),
                keepAlive: keepAlive, context: context)
        }
        let settings: ResolvedBackendTLS?
        switch resolution {
        case .failed(let failure):
            return refuse(.resolution(failure), keepAlive: keepAlive, context: context)
        case .noPolicy:
            guard !environment.configuration.requirePolicy else {
                return refuse(
                    ProxyFailure(
                        status: 502, reason: "no_policy", policy: nil,
                        message:
                            "no BackendTLSPolicy covers Service \(target.authority.namespace)/\(target.authority.service) port \(target.port), and --require-policy is set"
                    ),
                    keepAlive: keepAlive, context: context)
            }
            settings = nil
        case .resolved(let resolved):
            settings = resolved
            if let expiry = resolved.trustExpiry {
                environment.metrics.caBundleExpiry(policy: resolved.policy.namespacedName).set(
                    expiry.timeIntervalSince1970)
            }
        }
        let service = snapshot.store.service(namespace: target.authority.namespace, name: target.authority.service)
        let host = service?.clusterIP.flatMap { $0.isEmpty || $0 == "None" ? nil : $0 } ?? target.host
        let key = UpstreamConnectionPool.Key(
            host: host, port: target.port, settings: settings, generation: snapshot.generation)
        var upstreamHead = HTTPRequestHead(
            version: .http1_1, method: head.method, uri: target.path, headers: head.headers)
        for name in ["connection", "proxy-connection", "keep-alive", "proxy-authorization"] {
            upstreamHead.headers.remove(name: name)
        }
        if !upstreamHead.headers.contains(name: "host") {
            upstreamHead.headers.add(name: "host", value: target.hostHeader)
        }

        if let pooled = pool.checkout(key) {
            attach(pooled, key: key, keepAlive: keepAlive)
            pooled.write(HTTPClientRequestPart.head(upstreamHead), promise: nil)
            return
        }
        state = .connecting(buffered: [.head(upstreamHead)], keepAlive: keepAlive)
        context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
        environment.connector.connect(host: host, port: target.port, tls: settings, use: .http, on: context.eventLoop)
            .flatMap { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamResponseRelay())
                    return channel
                }
            }
            .assumeIsolated()
            .whenComplete { [self] result in
                guard case .connecting(let buffered, let keepAlive) = state else { return }
                switch result {
                case .success(let channel):
                    environment.metrics.upstreamConnections.increment()
                    channel.closeFuture.whenComplete { [metrics = environment.metrics] _ in
                        metrics.upstreamConnections.decrement()
                    }
                    attach(channel, key: key, keepAlive: keepAlive)
                    for part in buffered { channel.write(part, promise: nil) }
                    channel.flush()
                case .failure(let error):
                    let failure =
                        (error as? UpstreamConnector.ConnectFailure).map {
                            ProxyFailure.connect($0, policy: settings?.policy)
                        }
                        ?? ProxyFailure(status: 502, reason: "connect_failed", policy: nil, message: "\(error)")
                    let ended = buffered.contains { part in
                        if case .end = part { return true }
                        return false
                    }
                    refuse(failure, keepAlive: keepAlive, requestEnded: ended, context: context)
                }
                context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
            }
    }

    /// Points the connection's relay (installed once per upstream connection) at this downstream.
    private func attach(_ upstream: any Channel, key: UpstreamConnectionPool.Key, keepAlive: Bool) {
        state = .forwarding(upstream: upstream, key: key, keepAlive: keepAlive, responseStarted: false)
        if let relay = try? upstream.pipeline.syncOperations.handler(type: UpstreamResponseRelay.self) {
            relay.proxy = self
        } else {
            upstream.close(promise: nil)
        }
    }

    private func forward(_ part: HTTPClientRequestPart, context: ChannelHandlerContext) {
        switch state {
        case .connecting(var buffered, let keepAlive):
            buffered.append(part)
            state = .connecting(buffered: buffered, keepAlive: keepAlive)
        case .forwarding(let upstream, _, _, _):
            if case .end = part {
                upstream.writeAndFlush(part, promise: nil)
            } else {
                upstream.write(part, promise: nil)
                if !upstream.isWritable { context.channel.setOption(.autoRead, value: false).whenComplete { _ in } }
            }
        case .refusing(let keepAlive):
            if case .end = part {
                state = .idle
                if !keepAlive { context.close(promise: nil) }
            }
        case .idle:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(let upstream, _, _, _) = state { upstream.flush() }
        context.fireChannelReadComplete()
    }

    // MARK: Response (called by UpstreamResponseRelay on the shared event loop)

    fileprivate func upstreamResponse(_ part: HTTPClientResponsePart, from upstream: any Channel) {
        guard let context, case .forwarding(let current, let key, let keepAlive, _) = state, current === upstream else {
            return
        }
        switch part {
        case .head(var head):
            state = .forwarding(upstream: upstream, key: key, keepAlive: keepAlive, responseStarted: true)
            let upstreamKeepAlive = head.isKeepAlive
            head.headers.remove(name: "connection")
            head.headers.remove(name: "keep-alive")
            if !keepAlive { head.headers.add(name: "connection", value: "close") }
            pooledAfterResponse = upstreamKeepAlive
            environment.metrics.requests(code: Int(head.status.code)).increment()
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: head.status, headers: head.headers))),
                promise: nil)
        case .body(let buffer):
            // Flushed when the upstream read burst ends (or at `.end`): one write syscall per response, not per part.
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if !context.channel.isWritable { upstream.setOption(.autoRead, value: false).whenComplete { _ in } }
        case .end(let trailers):
            state = .idle
            (try? upstream.pipeline.syncOperations.handler(type: UpstreamResponseRelay.self))?.proxy = nil
            if pooledAfterResponse { pool.checkin(upstream, key: key) } else { upstream.close(promise: nil) }
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: written)
            if !keepAlive { written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        }
    }

    private var pooledAfterResponse = true

    fileprivate func upstreamClosed(_ upstream: any Channel, error: (any Error)?) {
        guard let context, case .forwarding(let current, _, let keepAlive, let responseStarted) = state,
            current === upstream
        else { return }
        state = .idle
        if responseStarted {
            context.close(promise: nil)
        } else {
            refuse(
                ProxyFailure(
                    status: 502, reason: "upstream_closed", policy: nil,
                    message: "the backend closed the connection before responding\(error.map { ": \($0)" } ?? "")"),
                keepAlive: keepAlive, context: context)
            state = .idle
        }
    }

    fileprivate func upstreamReadComplete(_ upstream: any Channel) {
        guard let context, case .forwarding(let current, _, _, _) = state, current === upstream else { return }
        context.flush()
    }

    fileprivate func upstreamWritabilityChanged(_ upstream: any Channel) {
        guard let context, upstream.isWritable else { return }
        context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .forwarding(let upstream, _, _, _) = state {
            upstream.setOption(.autoRead, value: true).whenComplete { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .forwarding(let upstream, _, _, _) = state { upstream.close(promise: nil) }
        state = .idle
        context.fireChannelInactive()
    }

    // MARK: Refusals

    /// - Parameter requestEnded: the request's end already arrived (refusals after an async connect), so the
    ///   connection must not wait for it.
    private func refuse(
        _ failure: ProxyFailure, keepAlive: Bool, requestEnded: Bool = false, context: ChannelHandlerContext
    ) {
        environment.logger.warning(
            "refused",
            metadata: [
                "status": "\(failure.status)", "reason": "\(failure.reason)", "detail": "\(failure.headerValue)",
            ])
        environment.metrics.requests(code: failure.status).increment()
        state = .refusing(keepAlive: keepAlive)
        var headers = HTTPHeaders()
        let body = failure.body
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "x-backendtls-error", value: failure.headerValue)
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: failure.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if requestEnded {
            state = .idle
            if !keepAlive { written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        }
    }
}

/// Forwards upstream response parts to the proxy handler of the downstream connection that owns it.
final class UpstreamResponseRelay: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    /// The downstream connection this upstream currently serves; `nil` while pooled.
    weak var proxy: HTTPProxyHandler?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        proxy?.upstreamResponse(unwrapInboundIn(data), from: context.channel)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        proxy?.upstreamReadComplete(context.channel)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        proxy?.upstreamClosed(context.channel, error: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        proxy?.upstreamClosed(context.channel, error: error)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        proxy?.upstreamWritabilityChanged(context.channel)
        context.fireChannelWritabilityChanged()
    }
}

/// Where a request goes: the Service authority, the port, and the origin-form path to send upstream.
struct Target {
    let authority: ServiceAuthority
    let host: String
    let port: Int
    let path: String
    let hostHeader: String

    static func parse(_ head: HTTPRequestHead, defaultNamespace: String) -> Result<Target, ProxyFailure> {
        var authorityText: String
        var path = head.uri
        if head.uri.hasPrefix("http://") {
            let rest = head.uri.dropFirst("http://".count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            authorityText = String(rest[..<slash])
            path = slash == rest.endIndex ? "/" : String(rest[slash...])
        } else if head.uri.hasPrefix("https://") {
            return .failure(
                ProxyFailure(
                    status: 400, reason: "https_request", policy: nil,
                    message: "send plain http:// requests; the sidecar originates TLS itself"))
        } else {
            guard let host = head.headers.first(name: "host") else {
                return .failure(
                    ProxyFailure(
                        status: 400, reason: "no_host", policy: nil,
                        message: "the request names no Service (no Host header)"))
            }
            authorityText = host
        }
        guard let authority = ServiceAuthority(parsing: authorityText, defaultNamespace: defaultNamespace) else {
            return .failure(
                ProxyFailure(
                    status: 400, reason: "bad_authority", policy: nil,
                    message: "\(authorityText.debugDescription) is not SERVICE[.NAMESPACE[.svc[.cluster.local]]][:PORT]"
                ))
        }
        let host = String(authorityText.split(separator: ":").first ?? Substring(authorityText))
        return .success(
            Target(authority: authority, host: host, port: authority.port ?? 80, path: path, hostHeader: authorityText))
    }
}
