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
        case forwarding(Forwarding)
        /// The answer was sent before the request ended (a refusal, or an early response); the rest of the
        /// request is dropped, and the connection closes at its end unless keep-alive.
        case discarding(keepAlive: Bool)
    }

    private struct Forwarding {
        let upstream: any Channel
        let key: UpstreamConnectionPool.Key
        let keepAlive: Bool
        var responseStarted = false
        var requestEnded = false
        /// The backend's response allows reuse (keep-alive).
        var reusable = true
    }

    private let environment: SidecarEnvironment
    private let pool: UpstreamConnectionPool
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var lastTarget: Target?

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
        switch Target.parse(head, defaultNamespace: environment.configuration.namespace, known: lastTarget) {
        case .success(let parsed):
            target = parsed
            lastTarget = parsed
        case .failure(let failure): return refuse(failure, keepAlive: keepAlive, context: context)
        }
        let plan: UpstreamPlan
        switch UpstreamPlan.make(
            namespace: target.authority.namespace, service: target.authority.service, port: target.port,
            fallbackHost: target.host, environment: environment)
        {
        case .success(let made): plan = made
        case .failure(let failure): return refuse(failure, keepAlive: keepAlive, context: context)
        }
        let settings = plan.settings
        if let settings, !settings.options.alpnProtocols.isEmpty, !settings.options.alpnProtocols.contains("http/1.1") {
            return refuse(
                ProxyFailure(
                    status: 502, reason: "alpn", policy: "policy \(settings.policy.namespacedName)",
                    message:
                        "the policy offers only \(settings.options.alpnProtocols.joined(separator: ",")) in ALPN, but HTTP mode speaks HTTP/1.1 to backends; use a TCP route (--route)"
                ),
                keepAlive: keepAlive, context: context)
        }
        let host = plan.host
        let key = UpstreamConnectionPool.Key(
            host: host, port: target.port, settings: settings, generation: plan.generation)
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
                guard case .connecting(let buffered, let keepAlive) = state else {
                    // The client went away while we connected: nobody will use this connection.
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                // The request may have ended while we connected: its `.end` is among the buffered parts.
                let ended = buffered.contains { part in
                    if case .end = part { return true }
                    return false
                }
                switch result {
                case .success(let channel):
                    environment.metrics.upstreamConnections.increment()
                    channel.closeFuture.whenComplete { [metrics = environment.metrics] _ in
                        metrics.upstreamConnections.decrement()
                    }
                    attach(channel, key: key, keepAlive: keepAlive, requestEnded: ended)
                    for part in buffered { channel.write(part, promise: nil) }
                    channel.flush()
                case .failure(let error):
                    let failure =
                        (error as? UpstreamConnector.ConnectFailure).map {
                            ProxyFailure.connect($0, policy: settings?.policy)
                        }
                        ?? ProxyFailure(status: 502, reason: "connect_failed", policy: nil, message: "\(error)")
                    refuse(failure, keepAlive: keepAlive, requestEnded: ended, context: context)
                }
                context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
            }
    }

    /// Points the connection's relay (installed once per upstream connection) at this downstream.
    private func attach(
        _ upstream: any Channel, key: UpstreamConnectionPool.Key, keepAlive: Bool, requestEnded: Bool = false
    ) {
        state = .forwarding(Forwarding(upstream: upstream, key: key, keepAlive: keepAlive, requestEnded: requestEnded))
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
        case .forwarding(var forwarding):
            if case .end = part {
                forwarding.requestEnded = true
                state = .forwarding(forwarding)
                forwarding.upstream.writeAndFlush(part, promise: nil)
            } else {
                forwarding.upstream.write(part, promise: nil)
                if !forwarding.upstream.isWritable {
                    context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
                }
            }
        case .discarding(let keepAlive):
            if case .end = part {
                state = .idle
                if !keepAlive { context.close(promise: nil) }
            }
        case .idle:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(let forwarding) = state { forwarding.upstream.flush() }
        context.fireChannelReadComplete()
    }

    // MARK: Response (called by UpstreamResponseRelay on the shared event loop)

    fileprivate func upstreamResponse(_ part: HTTPClientResponsePart, from upstream: any Channel) {
        guard let context, case .forwarding(var forwarding) = state, forwarding.upstream === upstream else { return }
        let keepAlive = forwarding.keepAlive
        switch part {
        case .head(var head):
            forwarding.responseStarted = true
            forwarding.reusable = head.isKeepAlive
            state = .forwarding(forwarding)
            head.headers.remove(name: "connection")
            head.headers.remove(name: "keep-alive")
            if !keepAlive { head.headers.add(name: "connection", value: "close") }
            environment.metrics.requests(code: Int(head.status.code)).increment()
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: head.status, headers: head.headers))),
                promise: nil)
        case .body(let buffer):
            // Flushed when the upstream read burst ends (or at `.end`): one write syscall per response, not per part.
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if !context.channel.isWritable { upstream.setOption(.autoRead, value: false).whenComplete { _ in } }
        case .end(let trailers):
            (try? upstream.pipeline.syncOperations.handler(type: UpstreamResponseRelay.self))?.proxy = nil
            // Back-pressure may have paused either side; a pooled connection must be able to read again.
            upstream.setOption(.autoRead, value: true).whenComplete { _ in }
            context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
            // A connection whose request body was not fully sent cannot frame the next request: close it.
            if forwarding.reusable && forwarding.requestEnded {
                pool.checkin(upstream, key: forwarding.key)
            } else {
                upstream.close(promise: nil)
            }
            finishResponse(
                trailers: trailers, keepAlive: keepAlive, requestEnded: forwarding.requestEnded, context: context)
        }
    }

    fileprivate func upstreamClosed(_ upstream: any Channel, error: (any Error)?) {
        guard let context, case .forwarding(let forwarding) = state, forwarding.upstream === upstream else { return }
        state = .idle
        if forwarding.responseStarted {
            context.close(promise: nil)
        } else {
            refuse(
                ProxyFailure(
                    status: 502, reason: "upstream_closed", policy: nil,
                    message: "the backend closed the connection before responding\(error.map { ": \($0)" } ?? "")"),
                keepAlive: forwarding.keepAlive, requestEnded: forwarding.requestEnded, context: context)
        }
    }

    fileprivate func upstreamReadComplete(_ upstream: any Channel) {
        guard let context, case .forwarding(let forwarding) = state, forwarding.upstream === upstream else { return }
        context.flush()
    }

    fileprivate func upstreamWritabilityChanged(_ upstream: any Channel) {
        guard let context, upstream.isWritable else { return }
        context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .forwarding(let forwarding) = state {
            forwarding.upstream.setOption(.autoRead, value: true).whenComplete { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .forwarding(let forwarding) = state { forwarding.upstream.close(promise: nil) }
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
        finishResponse(trailers: nil, keepAlive: keepAlive, requestEnded: requestEnded, context: context)
    }

    /// Ends the response: the rest of an unfinished request is discarded, and a connection that does not
    /// stay alive is closed once the end is written.
    private func finishResponse(
        trailers: HTTPHeaders?, keepAlive: Bool, requestEnded: Bool, context: ChannelHandlerContext
    ) {
        state = requestEnded ? .idle : .discarding(keepAlive: keepAlive)
        guard requestEnded, !keepAlive else {
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
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

    /// - Parameter known: the previous request's target on this connection; keep-alive clients repeat the
    ///   authority, so its parse is reused when the text is the same.
    static func parse(_ head: HTTPRequestHead, defaultNamespace: String, known: Target? = nil)
        -> Result<Target, ProxyFailure>
    {
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
        if let known, known.hostHeader == authorityText {
            return .success(
                Target(
                    authority: known.authority, host: known.host, port: known.port, path: path,
                    hostHeader: known.hostHeader))
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
