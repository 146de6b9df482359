import BackendTLS
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization
import TestCertificates
import Testing

@testable import BackendTLSSidecar

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `UpstreamConnector` against NIOSSL servers on 127.0.0.1:0: the real handshake, SNI, NIOSSL configured
/// from the options, and failures mapped to reasons.
///
/// The verifier is async (swift-certificates), so its callback completes from a task; that needs a real
/// event loop rather than two `EmbeddedChannel`s. The connector verifies at the wall clock, so these
/// certificates are made around `Date()`, not `SidecarTestPKI.now`.
@Suite(.timeLimit(.minutes(1)))
struct UpstreamConnectorTests {
    typealias PKI = SidecarTestPKI

    static let hostname = "backend.example.com"
    static let spiffeID = "spiffe://cluster.local/ns/default/sa/backend"

    struct Credentials {
        let root: PKI.Issued
        let leaf: PKI.Issued

        init() {
            let now = Date()
            root = PKI.certificateAuthority(
                notBefore: now.addingTimeInterval(-86_400), notAfter: now.addingTimeInterval(86_400 * 30))
            leaf = PKI.issue(
                name: hostname, by: root, dnsNames: [hostname], uris: [spiffeID],
                notBefore: now.addingTimeInterval(-3_600), notAfter: now.addingTimeInterval(86_400 * 7))
        }
    }

    /// The SNI names a server saw, one per handshake.
    final class ServerNames: Sendable {
        private let names = Mutex<[String?]>([])
        func record(_ name: String?) { names.withLock { $0.append(name) } }
        var all: [String?] { names.withLock { $0 } }
    }

    /// A TLS server presenting `leaf`; `tls: false` accepts TCP and never answers.
    struct Server {
        let channel: any Channel
        let names: ServerNames
        var port: Int { channel.localAddress!.port! }

        static func start(
            presenting leaf: PKI.Issued?, minimum: TLSVersion = .tlsv12, maximum: TLSVersion? = nil,
            greets: Bool = false
        ) async throws -> Server {
            let names = ServerNames()
            let context: NIOSSLContext?
            if let leaf {
                var configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: [.certificate(try NIOSSLCertificate(bytes: leaf.der, format: .der))],
                    privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(leaf.keyPEM.utf8), format: .pem)))
                configuration.minimumTLSVersion = minimum
                configuration.maximumTLSVersion = maximum
                configuration.sslContextCallback = { values, promise in
                    names.record(values.serverHostname)
                    promise.succeed(.noChanges)
                }
                context = try NIOSSLContext(configuration: configuration)
            } else {
                context = nil
            }
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                        }
                        if greets {
                            try channel.pipeline.syncOperations.addHandler(GreetingHandler())
                        }
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
            return Server(channel: channel, names: names)
        }

        func stop() async { try? await channel.close() }
    }

    /// Writes a line once the handshake is done: BoringSSL servers send TLS 1.3 session tickets only with
    /// their first write, as a real backend does with its response.
    final class GreetingHandler: ChannelInboundHandler {
        typealias InboundIn = NIOAny

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted = event as? TLSUserEvent {
                context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: "hello\n")), promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func connector(handshakeTimeout: TimeAmount = .seconds(5)) -> UpstreamConnector {
        UpstreamConnector(
            group: MultiThreadedEventLoopGroup.singleton, contexts: UpstreamTLSContextCache(),
            connectTimeout: .seconds(5), handshakeTimeout: handshakeTimeout, metrics: SidecarMetrics())
    }

    private func connect(
        _ connector: UpstreamConnector, to port: Int, _ settings: ResolvedBackendTLS?,
        use: UpstreamTLSContextCache.Use = .http
    ) async throws -> any Channel {
        try await connector.connect(
            host: "127.0.0.1", port: port, tls: settings, use: use, on: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
    }

    /// Expects the connection to fail with `reason` (and `verifyReason`), returning the failure.
    @discardableResult
    private func expectFailure(
        _ connector: UpstreamConnector, to port: Int, _ settings: ResolvedBackendTLS?,
        reason: UpstreamConnector.ConnectFailure.Reason,
        verifyReason: UpstreamCertificateVerifier.Failure.Reason? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> UpstreamConnector.ConnectFailure? {
        do {
            let channel = try await connect(connector, to: port, settings)
            Issue.record("connected; wanted \(reason)", sourceLocation: sourceLocation)
            try? await channel.close()
            return nil
        } catch let failure as UpstreamConnector.ConnectFailure {
            #expect(failure.reason == reason, "\(failure)", sourceLocation: sourceLocation)
            #expect(failure.verifyReason == verifyReason, "\(failure)", sourceLocation: sourceLocation)
            return failure
        } catch {
            Issue.record("failed with \(error), not a ConnectFailure", sourceLocation: sourceLocation)
            return nil
        }
    }

    @Test func verifiedHandshakeSendsTheHostnameAsSNI() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf)
        let channel = try await connect(connector(), to: server.port, PKI.settings(trusting: [credentials.root]))
        #expect(channel.isActive)
        try await channel.close()
        await server.stop()
        #expect(server.names.all == [Self.hostname])
    }

    /// Once the handshake is done, its watcher leaves: every later event of the connection would pass through it.
    @Test func verifiedConnectionKeepsOnlyTheTLSHandler() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf)
        let channel = try await connect(connector(), to: server.port, PKI.settings(trusting: [credentials.root]))
        let handlers = try await channel.eventLoop.submit {
            let sync = channel.pipeline.syncOperations
            return (
                tls: (try? sync.handler(type: NIOSSLClientHandler.self)) != nil,
                watcher: (try? sync.handler(type: HandshakeCompletionHandler.self)) != nil
            )
        }.get()
        #expect(handlers.tls)
        #expect(!handlers.watcher)
        try await channel.close()
        await server.stop()
    }

    @Test func subjectAltNamesAuthenticateAHostnameTheCertificateDoesNotName() async throws {
        // Issue 5: NIOSSL must not add its own hostname check, or this GEP-1897 case would fail.
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf)
        let settings = PKI.settings(
            trusting: [credentials.root], serverName: "alias.example.com",
            identity: .subjectAltNames([.uri(Self.spiffeID)]))
        let channel = try await connect(connector(), to: server.port, settings)
        try await channel.close()
        await server.stop()
        #expect(server.names.all == ["alias.example.com"])
    }

    @Test func hostnameMismatchFailsWithTheVerifierReason() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf)
        let failure = await expectFailure(
            connector(), to: server.port, PKI.settings(trusting: [credentials.root], serverName: "other.example.com"),
            reason: .verification, verifyReason: .hostnameMismatch)
        await server.stop()
        #expect(failure?.message.contains("SNI other.example.com") == true, "\(failure.map { "\($0)" } ?? "")")
        #expect(server.names.all == ["other.example.com"])
    }

    @Test func unknownIssuerFailsWithTheVerifierReason() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf)
        await expectFailure(
            connector(), to: server.port, PKI.settings(trusting: [Credentials().root]), reason: .verification,
            verifyReason: .unknownIssuer)
        await server.stop()
    }

    @Test func minimumTLS13RefusesATLS12OnlyServer() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf, maximum: .tlsv12)
        let settings = PKI.settings(
            trusting: [credentials.root], options: BackendTLSOptions(minimumTLSVersion: .v1_3))
        let failure = await expectFailure(connector(), to: server.port, settings, reason: .handshakeFailed)
        await server.stop()
        #expect(failure?.message.contains("TLS version") == true, "\(failure.map { "\($0)" } ?? "")")
    }

    @Test func maximumTLS12RefusesATLS13OnlyServer() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf, minimum: .tlsv13)
        let settings = PKI.settings(
            trusting: [credentials.root], options: BackendTLSOptions(maximumTLSVersion: .v1_2))
        let failure = await expectFailure(connector(), to: server.port, settings, reason: .handshakeFailed)
        await server.stop()
        #expect(failure?.message.contains("TLS version") == true, "\(failure.map { "\($0)" } ?? "")")
    }

    @Test func tls12OnlyServerIsFineWithoutAMinimum() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf, maximum: .tlsv12)
        let channel = try await connect(connector(), to: server.port, PKI.settings(trusting: [credentials.root]))
        try await channel.close()
        await server.stop()
    }

    @Test func pinMismatchFailsWithTheVerifierReason() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: credentials.leaf)
        let settings = PKI.settings(
            trusting: [credentials.root], options: BackendTLSOptions(certificateHashes: [credentials.root.sha256]))
        await expectFailure(
            connector(), to: server.port, settings, reason: .verification, verifyReason: .pinMismatch)
        await server.stop()
    }

    @Test func serverThatNeverAnswersTimesOutTheHandshake() async throws {
        let credentials = Credentials()
        let server = try await Server.start(presenting: nil)
        await expectFailure(
            connector(handshakeTimeout: .milliseconds(200)), to: server.port,
            PKI.settings(trusting: [credentials.root]), reason: .handshakeTimeout)
        await server.stop()
    }

    // Regression: the connector leaked HandshakeCompletionHandler's promise when the TCP connect failed,
    // and NIO's debug leak check killed the process instead of answering connection refused.
    @Test func portWithoutAListenerIsConnectionRefused() async throws {
        // A socket bound but not listening holds the port, so no parallel test can take it meanwhile.
        let reserved = try await ReservedPort.make()
        defer { reserved.release() }
        await expectFailure(
            connector(), to: reserved.port, PKI.settings(trusting: [Credentials().root]), reason: .connectionRefused)
    }

    @Test func withoutSettingsTheConnectionIsPlain() async throws {
        let server = try await Server.start(presenting: nil)
        let channel = try await connect(connector(), to: server.port, nil)
        #expect(channel.isActive)
        try await channel.close()
        await server.stop()
        #expect(server.names.all.isEmpty)
    }
}

/// A loopback port that was just free: bound by NIO on port 0, then closed, so connecting is refused.
/// (Raw sockets would pin it for longer, but their C structs resolve differently in clean and incremental
/// builds under MemberImportVisibility.)
struct ReservedPort {
    let port: Int

    static func make() async throws -> ReservedPort {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return ReservedPort(port: port)
    }

    func release() {}
}
