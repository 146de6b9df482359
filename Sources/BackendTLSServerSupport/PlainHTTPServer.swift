public import Logging
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// A small plain-HTTP listener for health probes and Prometheus scraping, kept off the TLS port so a
/// kubelet or a scraper never competes with the API server's connections.
public final class PlainHTTPServer: Service, Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]

        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public typealias Route = @Sendable (_ method: String, _ path: String) -> Response

    private let name: String
    private let address: ListenAddress
    private let route: Route
    private let logger: Logger
    private let group: any EventLoopGroup
    private let requestTimeout: TimeAmount
    private let limiter: ConnectionLimiter
    private let bound = Mutex<SocketAddress?>(nil)

    /// - Parameters:
    ///   - requestTimeout: each request must arrive whole within this time of the connection's start or of the
    ///     previous answer, or the connection is closed: a client trickling bytes (or sitting idle) holds it no
    ///     longer. Probes and scrapes send their request at once.
    ///   - maximumConnections: more open at once are closed as they are accepted, so slow clients cannot take
    ///     every file descriptor the process has (the admission port and certificate reloads need them).
    public init(
        name: String,
        address: ListenAddress,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        requestTimeout: TimeAmount = .seconds(10),
        maximumConnections: Int = 64,
        route: @escaping Route
    ) {
        self.name = name
        self.address = address
        self.route = route
        self.logger = logger
        self.group = group
        self.requestTimeout = requestTimeout
        self.limiter = ConnectionLimiter(maximum: maximumConnections)
    }

    /// Where it listens, once it does (tests bind port 0).
    public var localAddress: SocketAddress? { bound.withLock { $0 } }

    public func run() async throws {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [route, requestTimeout, limiter] channel in
                guard limiter.admit(channel) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    // Nothing more is read while answers wait to be written: pipelined requests from a client that
                    // reads nothing must not pile answers up in memory.
                    try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        RouteHandler(route: route, requestTimeout: requestTimeout))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
        bound.withLock { $0 = channel.localAddress }
        logger.info("\(name) listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        try? await gracefulShutdown()
        try? await channel.close()
    }

    private final class RouteHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let route: Route
        let requestTimeout: TimeAmount
        var head: HTTPRequestHead?
        var deadline: Scheduled<Void>?

        init(route: @escaping Route, requestTimeout: TimeAmount) {
            self.route = route
            self.requestTimeout = requestTimeout
        }

        func handlerAdded(context: ChannelHandlerContext) {
            armDeadline(context: context)
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            deadline?.cancel()
        }

        private func armDeadline(context: ChannelHandlerContext) {
            deadline?.cancel()
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: requestTimeout) {
                context.close(promise: nil)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let requestHead): head = requestHead
            case .body: break
            case .end:
                guard let head else { return }
                self.head = nil
                let response = route(head.method.rawValue, head.uri)
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: response.contentType)
                headers.add(name: "content-length", value: String(response.body.count))
                // HTTP/1.0 and `Connection: close` end with the answer (NIO's encoder says so in the head).
                let keepAlive = head.isKeepAlive
                if !keepAlive { headers.add(name: "connection", value: "close") }
                let status = HTTPResponseStatus(statusCode: response.status)
                let version = head.version.major == 1 && head.version.minor == 0 ? HTTPVersion.http1_0 : .http1_1
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))),
                    promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
                let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
                if keepAlive {
                    armDeadline(context: context)
                } else {
                    written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                }
            }
        }
    }
}
