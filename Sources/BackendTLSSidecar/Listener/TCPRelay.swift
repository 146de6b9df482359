import BackendTLS
import Logging
import NIOCore
import Prometheus

/// TCP mode: each accepted connection is resolved and relayed over a connection originated with the
/// resolved settings. A refusal closes the connection (TCP has no error page) and is logged with its reason.
enum TCPRelay {
    /// Starts the relay once the accepted connection is active. The listener runs its initializer before it
    /// registers the connection, and a read asked for before registration is lost: NIO marks it pending, and
    /// activation then does not ask again. Started from the initializer, the relay left a connection unread
    /// for ever whenever the upstream handshake finished first (29 of 1,200 connections in bursts of 8).
    final class Starter: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny
        private let route: SidecarConfiguration.Route
        private let environment: SidecarEnvironment

        init(route: SidecarConfiguration.Route, environment: SidecarEnvironment) {
            self.route = route
            self.environment = environment
        }

        func channelActive(context: ChannelHandlerContext) {
            let channel = context.channel
            context.fireChannelActive()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            TCPRelay.start(channel, route: route, environment: environment)
        }
    }

    static func start(_ downstream: any Channel, route: SidecarConfiguration.Route, environment: SidecarEnvironment) {
        let plan: UpstreamPlan
        switch UpstreamPlan.make(
            namespace: route.namespace, service: route.service, port: route.port,
            fallbackHost: "\(route.service).\(route.namespace).svc", environment: environment)
        {
        case .success(let made): plan = made
        case .failure(let failure): return refuse(downstream, failure.headerValue, environment: environment)
        }
        let host = plan.host
        let settings = plan.settings
        environment.connector.connect(host: host, port: route.port, tls: settings, use: .tcp, on: downstream.eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let upstream):
                    // A client gone while the upstream was made: its pipeline is torn down later in this
                    // tick, so adding the relay would still succeed and leave the upstream open.
                    guard downstream.isActive else {
                        upstream.close(promise: nil)
                        return
                    }
                    let (local, remote) = GlueHandler.matchedPair()
                    do {
                        try downstream.pipeline.syncOperations.addHandler(local)
                        try upstream.pipeline.syncOperations.addHandler(remote)
                    } catch {
                        downstream.close(promise: nil)
                        upstream.close(promise: nil)
                        return
                    }
                    downstream.setOption(.autoRead, value: true).whenComplete { _ in }
                    downstream.read()
                case .failure(let error):
                    refuse(downstream, "\(error)", environment: environment)
                }
            }
    }

    private static func refuse(_ channel: any Channel, _ reason: String, environment: SidecarEnvironment) {
        environment.logger.warning("TCP connection refused", metadata: ["reason": "\(reason)"])
        channel.close(promise: nil)
    }
}
