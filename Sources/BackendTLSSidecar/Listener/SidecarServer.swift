import BackendTLS
import BackendTLSServerSupport
public import Logging
import NIOCore
import NIOHTTP1
public import NIOPosix
public import ServiceLifecycle

/// The sidecar's listeners: HTTP mode on `--listen` and one TCP relay per `--route`.
public final class SidecarServer: ServiceLifecycle.Service, Sendable {
    private let environment: SidecarEnvironment
    private let group: MultiThreadedEventLoopGroup

    public init(
        configuration: SidecarConfiguration,
        state: SidecarState,
        metrics: SidecarMetrics,
        logger: Logger,
        group: MultiThreadedEventLoopGroup = .singleton
    ) {
        let connector = UpstreamConnector(
            group: group, contexts: UpstreamTLSContextCache(metrics: metrics),
            connectTimeout: configuration.timeouts.connect.timeAmount,
            handshakeTimeout: configuration.timeouts.handshake.timeAmount, metrics: metrics)
        self.environment = SidecarEnvironment(
            configuration: configuration, state: state, connector: connector, metrics: metrics, logger: logger)
        self.group = group
        if !UpstreamTLSSessionCache.isAvailable {
            logger.warning(
                "upstream TLS session resumption is unavailable with this swift-nio-ssl; every connection does a full handshake"
            )
        }
    }

    public func run() async throws {
        let environment = self.environment
        let configuration = environment.configuration
        var channels: [any Channel] = []
        if let listen = configuration.httpListen {
            // One pool per event loop: pooled channels stay on the loop of the connections that use them.
            let pools = EventLoopPools(group: group, configuration: configuration, state: environment.state)
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // One handler: HTTPProxyHandler parses requests (ClientRequestParser), orders pipelined ones
                        // itself (without pausing reads per request), answers parse failures after the exchanges
                        // before them, and writes responses as bytes (ClientResponseEncoder).
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPProxyHandler(environment: environment, pool: pools.pool(for: channel.eventLoop)))
                    }
                }
                .bind(host: listen.host, port: listen.port)
                .get()
            environment.logger.info(
                "HTTP proxy listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            channels.append(channel)
        }
        for route in configuration.routes {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.autoRead, value: false)
                // A client that shuts down its sending side still gets the answer (GlueHandler).
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            TCPRelay.Starter(route: route, environment: environment))
                    }
                }
                .bind(host: route.listen.host, port: route.listen.port)
                .get()
            environment.logger.info(
                "TCP route listening",
                metadata: ["address": "\(route.listen)", "target": "\(route.service).\(route.namespace):\(route.port)"])
            channels.append(channel)
        }
        try? await gracefulShutdown()
        for channel in channels { try? await channel.close() }
    }
}

/// Pools keyed by event loop, created up front so lookups need no lock.
final class EventLoopPools: Sendable {
    private let pools: [ObjectIdentifier: UpstreamConnectionPoolBox]

    init(group: MultiThreadedEventLoopGroup, configuration: SidecarConfiguration, state: SidecarState) {
        var pools: [ObjectIdentifier: UpstreamConnectionPoolBox] = [:]
        for loop in group.makeIterator() {
            let pool = UpstreamConnectionPool(
                maximumPerKey: configuration.maximumIdleConnectionsPerBackend,
                idleTimeout: configuration.timeouts.poolIdle.timeAmount, currentGeneration: { state.generation })
            pools[ObjectIdentifier(loop)] = UpstreamConnectionPoolBox(eventLoop: loop, pool: pool)
        }
        self.pools = pools
    }

    func pool(for eventLoop: any EventLoop) -> UpstreamConnectionPool {
        pools[ObjectIdentifier(eventLoop)]!.pool(on: eventLoop)
    }
}

/// Holds a loop-confined pool; only its own event loop may take it out.
final class UpstreamConnectionPoolBox: Sendable {
    private let box: NIOLoopBoundBox<UpstreamConnectionPool>

    init(eventLoop: any EventLoop, pool: sending UpstreamConnectionPool) {
        self.box = NIOLoopBoundBox.makeBoxSendingValue(pool, as: UpstreamConnectionPool.self, eventLoop: eventLoop)
    }

    func pool(on eventLoop: any EventLoop) -> UpstreamConnectionPool { box.value }
}
