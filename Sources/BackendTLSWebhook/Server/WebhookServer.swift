import BackendTLSServerSupport
public import Logging
public import NIOCore
import NIOExtras
import NIOHTTP1
import NIOHTTP2
public import NIOPosix
import NIOSSL
import NIOTLS
import Prometheus
public import ServiceLifecycle
import Synchronization

/// The HTTPS listener: TLS, ALPN to HTTP/2 or HTTP/1.1, limits, and graceful shutdown that lets in-flight
/// requests finish. Plain NIO pipelines end in one synchronous handler (DESIGN.md: the fast path).
public final class WebhookServer: Service, Sendable {
    private let configuration: WebhookConfiguration
    private let service: AdmissionService
    private let reloader: ServingCertificateReloader
    private let logger: Logger
    private let group: any EventLoopGroup
    private let limiter: ConnectionLimiter
    private let bound = Mutex<SocketAddress?>(nil)
    private let listening: AsyncStream<SocketAddress>.Continuation
    /// Yields the bound address once listening (tests bind port 0 and learn the port here).
    public let listeningAddresses: AsyncStream<SocketAddress>

    public init(
        configuration: WebhookConfiguration,
        service: AdmissionService,
        reloader: ServingCertificateReloader,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.service = service
        self.reloader = reloader
        self.logger = logger
        self.group = group
        self.limiter = ConnectionLimiter(maximum: configuration.limits.maximumConnections)
        (self.listeningAddresses, self.listening) = AsyncStream.makeStream(of: SocketAddress.self)
    }

    public var boundAddress: SocketAddress? { bound.withLock { $0 } }

    public func run() async throws {
        let sslContext = try configuration.makeServerTLSContext(reloader: reloader)
        let quiesce = ServerQuiescingHelper(group: group)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelInitializer { [configuration, service, limiter, logger] channel in
                guard limiter.admit(channel) else {
                    logger.warning(
                        "connection limit reached; closing new connection", metadata: ["limit": "\(limiter.maximum)"])
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configureConnection(
                        channel, sslContext: sslContext, configuration: configuration, service: service)
                }
            }
            .bind(host: configuration.listen.host, port: configuration.listen.port)
            .get()
        if let address = channel.localAddress {
            bound.withLock { $0 = address }
            listening.yield(address)
            logger.info(
                "webhook listening", metadata: ["address": "\(address)", "http2": "\(!configuration.disableHTTP2)"])
        }
        listening.finish()
        try? await gracefulShutdown()
        logger.info("shutting down: no new connections, finishing in-flight requests")
        let done = group.next().makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: done)
        let grace = configuration.limits.shutdownGracePeriod
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try? await done.futureResult.get() }
            tasks.addTask { try? await Task.sleep(for: grace) }
            await tasks.next()
            tasks.cancelAll()
        }
        try? await channel.close()
    }

    static func configureConnection(
        _ channel: any Channel,
        sslContext: NIOSSLContext,
        configuration: WebhookConfiguration,
        service: AdmissionService
    ) throws {
        let limits = configuration.limits
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(NIOSSLServerHandler(context: sslContext))
        try pipeline.addHandler(IdleStateHandler(allTimeout: limits.idleTimeout.timeAmount))
        try pipeline.addHandler(IdleConnectionCloser())
        try pipeline.addHandler(
            ApplicationProtocolNegotiationHandler { result, channel in
                channel.eventLoop.makeCompletedFuture {
                    if case .negotiated("h2") = result {
                        try configureHTTP2(channel, limits: limits, service: service)
                    } else {
                        try configureHTTP1(channel, limits: limits, service: service)
                    }
                }
            })
    }

    static func configureHTTP1(_ channel: any Channel, limits: WebhookConfiguration.Limits, service: AdmissionService)
        throws
    {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(
            RequestDeadlineHandler(
                readTimeout: limits.readTimeout.timeAmount, maximumHeaderBytes: limits.maximumHeaderBytes,
                onRefusal: { code in service.metrics.httpErrors(code: code).increment() }))
        try pipeline.configureHTTPServerPipeline(withErrorHandling: false)
        try pipeline.addHandler(JSONProtocolErrorHandler(service: service))
        try pipeline.addHandler(AdmissionHTTPHandler(service: service, limits: limits))
    }

    static func configureHTTP2(_ channel: any Channel, limits: WebhookConfiguration.Limits, service: AdmissionService)
        throws
    {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.maximumConcurrentStreams),
            // HPACK decodes with its 16 KiB default until the client acknowledges our settings, which a first
            // request may not wait for; advertising more would invite header blocks that fail that request.
            HTTP2Setting(parameter: .maxHeaderListSize, value: min(limits.maximumHeaderBytes, 16 << 10)),
        ]
        var stream = NIOHTTP2Handler.StreamConfiguration()
        // Rapid-reset (CVE-2023-44487) protection: bound the rate of RST_STREAM frames a peer may send.
        stream.streamResetFrameRateLimit.maximumCount = 200
        stream.streamResetFrameRateLimit.windowLength = .seconds(30)
        let readTimeout = limits.readTimeout.timeAmount
        try channel.pipeline.syncOperations.addHandler(HTTP2FrameDeadlineHandler(readTimeout: readTimeout))
        defer { try? channel.pipeline.syncOperations.addHandler(CloseOnErrorHandler()) }
        _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: stream
        ) { streamChannel in
            streamChannel.eventLoop.makeCompletedFuture {
                try streamChannel.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try streamChannel.pipeline.syncOperations.addHandler(
                    AdmissionHTTPHandler(service: service, limits: limits, streamReadTimeout: readTimeout))
            }
        }
    }
}
