public import BackendTLS
import Logging
public import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Prometheus
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Opens upstream connections: plain TCP, or TLS originated with exactly the resolved settings.
///
/// A TLS connection is handed out only after a successful handshake and verification; any failure is a
/// `ConnectFailure` carrying the reason, so callers answer 502 with it — never plaintext, never unverified.
public struct UpstreamConnector: Sendable {
    public struct ConnectFailure: Error, Sendable, CustomStringConvertible {
        public enum Reason: String, Sendable {
            case connectionRefused = "connection_refused"
            case connectTimeout = "connect_timeout"
            case handshakeTimeout = "handshake_timeout"
            case handshakeFailed = "handshake_failed"
            case verification
            case configuration
        }

        public var reason: Reason
        /// The verifier's reason when `reason == .verification`.
        public var verifyReason: UpstreamCertificateVerifier.Failure.Reason?
        public var message: String
        public var description: String { message }
    }

    let group: any EventLoopGroup
    let contexts: UpstreamTLSContextCache
    let connectTimeout: TimeAmount
    let handshakeTimeout: TimeAmount
    let metrics: SidecarMetrics

    public init(
        group: any EventLoopGroup,
        contexts: UpstreamTLSContextCache,
        connectTimeout: TimeAmount,
        handshakeTimeout: TimeAmount,
        metrics: SidecarMetrics
    ) {
        self.group = group
        self.contexts = contexts
        self.connectTimeout = connectTimeout
        self.handshakeTimeout = handshakeTimeout
        self.metrics = metrics
    }

    /// Connects to `host:port`; with `tls`, completes a verified handshake first. Every connection handed
    /// out is counted in `backendtls_sidecar_upstream_connections` until it closes.
    public func connect(
        host: String,
        port: Int,
        tls: ResolvedBackendTLS?,
        use: UpstreamTLSContextCache.Use,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<any Channel> {
        establish(host: host, port: port, tls: tls, use: use, on: eventLoop).map { [metrics] channel in
            metrics.upstreamConnections.increment()
            channel.closeFuture.whenComplete { _ in metrics.upstreamConnections.decrement() }
            return channel
        }
    }

    private func establish(
        host: String,
        port: Int,
        tls: ResolvedBackendTLS?,
        use: UpstreamTLSContextCache.Use,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<any Channel> {
        let entry: UpstreamTLSContextCache.Entry?
        if let tls {
            do {
                entry = try contexts.entry(for: tls, use: use)
            } catch {
                return eventLoop.makeFailedFuture(
                    ConnectFailure(
                        reason: .configuration,
                        message: "cannot build the TLS configuration for \(tls.policy): \(error)"))
            }
        } else {
            entry = nil
        }
        let verdict = VerificationOutcome()
        let started = NIODeadline.now()
        // Made here, not looked up later: a backend may close before a lookup would run.
        let handshake = eventLoop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // TCP routes pass a backend's end of output on to the client, and the reverse (GlueHandler).
            .channelOption(.allowRemoteHalfClosure, value: use == .tcp)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let entry, let tls else { return }
                    let verifier = entry.verifier
                    let handler = try NIOSSLClientHandler(
                        context: entry.context, serverHostname: tls.serverName,
                        customVerificationCallback: { @Sendable certificates, promise in
                            let ders = certificates.compactMap { try? $0.toDERBytes() }
                            if verifier.alreadyVerified(chain: ders, now: Date()) {
                                promise.succeed(.certificateVerified)
                                return
                            }
                            promise.completeWithTask {
                                switch await verifier.verify(chain: ders, now: Date()) {
                                case .success: return .certificateVerified
                                case .failure(let failure):
                                    verdict.record(failure)
                                    return .failed
                                }
                            }
                        })
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(HandshakeCompletionHandler(promise: handshake))
                }
            }
        // Service cluster IPs are literals: connecting to the address directly skips NIO's getaddrinfo,
        // which runs on another thread and cost more per new connection than the TLS key exchange.
        let connect =
            if let address = try? SocketAddress(ipAddress: host, port: port) {
                bootstrap.connect(to: address)
            } else {
                bootstrap.connect(host: host, port: port)
            }
        let target = "\(host):\(port)"
        if tls == nil {
            handshake.succeed(())
        }
        let connected = connect.flatMapError { error -> EventLoopFuture<any Channel> in
            handshake.fail(error)
            let reason: ConnectFailure.Reason =
                (error as? ChannelError) == .connectTimeout(connectTimeout) ? .connectTimeout : .connectionRefused
            return eventLoop.makeFailedFuture(
                ConnectFailure(reason: reason, message: "cannot connect to \(target): \(error)"))
        }
        guard let tls else { return connected }
        let policy = "\(tls.policy.namespacedName)"
        return connected.flatMap { channel in
            let timeout = channel.eventLoop.scheduleTask(in: handshakeTimeout) {
                channel.close(promise: nil)
            }
            return handshake.futureResult.map { _ -> any Channel in
                timeout.cancel()
                metrics.handshakes(policy: policy, result: "success").increment()
                metrics.handshakeDuration.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
                return channel
            }.flatMapError { error in
                timeout.cancel()
                channel.close(promise: nil)
                metrics.handshakes(policy: policy, result: "failure").increment()
                if let failure = verdict.failure {
                    metrics.verifyFailures(policy: policy, reason: failure.reason.rawValue).increment()
                    return channel.eventLoop.makeFailedFuture(
                        ConnectFailure(
                            reason: .verification, verifyReason: failure.reason,
                            message:
                                "TLS to \(target) (SNI \(tls.serverName)) refused by \(tls.policy): \(failure.message)")
                    )
                }
                let timedOut = NIODeadline.now() - started >= handshakeTimeout
                return channel.eventLoop.makeFailedFuture(
                    ConnectFailure(
                        reason: timedOut ? .handshakeTimeout : .handshakeFailed,
                        message: timedOut
                            ? "TLS handshake with \(target) did not finish within \(handshakeTimeout.nanoseconds / 1_000_000) ms"
                            : "TLS handshake with \(target) (SNI \(tls.serverName)) failed: \(Self.describe(error))"))
            }
        }
    }

    /// BoringSSL's error stack, shortened to what tells version, cipher or ALPN mismatches apart.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("UNSUPPORTED_PROTOCOL") || text.contains("PROTOCOL_VERSION") {
            return "no common TLS version (\(text))"
        }
        if text.contains("NO_SHARED_CIPHER") || text.contains("HANDSHAKE_FAILURE_ON_CLIENT_HELLO") {
            return "no common cipher suite (\(text))"
        }
        if text.contains("ALPN") || text.contains("NO_APPLICATION_PROTOCOL") {
            return "no common ALPN protocol (\(text))"
        }
        return text
    }
}

/// The verifier's verdict for one handshake, read after NIOSSL reports failure.
final class VerificationOutcome: Sendable {
    private let stored = Mutex<UpstreamCertificateVerifier.Failure?>(nil)
    func record(_ failure: UpstreamCertificateVerifier.Failure) { stored.withLock { $0 = failure } }
    var failure: UpstreamCertificateVerifier.Failure? { stored.withLock { $0 } }
}

/// Completes its promise when the TLS handshake succeeds or fails, whichever comes first, and leaves the pipeline
/// once it has succeeded.
final class HandshakeCompletionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    /// A channel torn down before it ever connected must still complete the promise.
    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(ChannelError.ioOnClosedChannel)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .handshakeCompleted = event as? TLSUserEvent else {
            return context.fireUserInboundEventTriggered(event)
        }
        promise.succeed(())
        context.fireUserInboundEventTriggered(event)
        // Done: left in, every later read, write and flush of the connection would pass through it.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}
