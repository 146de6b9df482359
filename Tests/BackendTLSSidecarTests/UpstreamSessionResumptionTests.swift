import BackendTLS
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import Testing

@testable import BackendTLSSidecar

/// Upstream TLS session resumption through `UpstreamConnector`, against NIOSSL (BoringSSL) servers that issue
/// tickets by default: resumed for TLS 1.2 and 1.3, counted, and never a way around verification.
@Suite(.timeLimit(.minutes(1)))
struct UpstreamSessionResumptionTests {
    typealias PKI = SidecarTestPKI
    typealias Server = UpstreamConnectorTests.Server

    struct Harness {
        let metrics = SidecarMetrics()
        let contexts: UpstreamTLSContextCache
        let connector: UpstreamConnector

        init() {
            contexts = UpstreamTLSContextCache(metrics: metrics)
            connector = UpstreamConnector(
                group: MultiThreadedEventLoopGroup.singleton, contexts: contexts, connectTimeout: .seconds(5),
                handshakeTimeout: .seconds(5), metrics: metrics)
        }

        func connect(to port: Int, _ settings: ResolvedBackendTLS) async throws -> any Channel {
            try await connector.connect(
                host: "127.0.0.1", port: port, tls: settings, use: .http,
                on: MultiThreadedEventLoopGroup.singleton.next()
            ).get()
        }

        func sessions(for settings: ResolvedBackendTLS) throws -> UpstreamTLSSessionCache {
            let context = try contexts.entry(for: settings, use: .http).context
            return try #require(UpstreamTLSSessionCache.attached(to: context), "no session cache on the context")
        }

        /// Connects and waits until the server's session (or TLS 1.3 ticket) reached the cache.
        func connectAndKeepSession(to port: Int, _ settings: ResolvedBackendTLS) async throws {
            let cache = try sessions(for: settings)
            let before = cache.count
            let channel = try await connect(to: port, settings)
            let deadline = ContinuousClock.now + .seconds(3)
            while cache.count <= before, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await channel.close()
            #expect(cache.count > before, "the server's session never reached the cache")
        }

        var resumed: Double {
            var text: [UInt8] = []
            metrics.registry.emit(into: &text)
            let prefix = "backendtls_sidecar_upstream_sessions_resumed_total{policy=\"default/backend\"} "
            return String(decoding: text, as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix(prefix) }
                .flatMap { Double($0.dropFirst(prefix.count)) } ?? 0
        }
    }

    @Test(arguments: [TLSVersion.tlsv12, .tlsv13])
    func secondConnectionResumesTheFirstSession(_ version: TLSVersion) async throws {
        let credentials = UpstreamConnectorTests.Credentials()
        let server = try await Server.start(
            presenting: credentials.leaf, minimum: version, maximum: version, greets: true)
        defer { Task { await server.stop() } }
        let harness = Harness()
        let settings = PKI.settings(trusting: [credentials.root])

        try await harness.connectAndKeepSession(to: server.port, settings)
        #expect(harness.resumed == 0)
        let second = try await harness.connect(to: server.port, settings)
        try await second.close()
        #expect(harness.resumed == 1)
    }

    /// Settings that differ (here only the trusted roots) have their own context, so a session verified under
    /// one is never offered under the other.
    @Test func sessionsAreNotSharedBetweenDifferentSettings() async throws {
        let credentials = UpstreamConnectorTests.Credentials()
        let server = try await Server.start(presenting: credentials.leaf, greets: true)
        defer { Task { await server.stop() } }
        let harness = Harness()
        let other = PKI.certificateAuthority(
            notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(86_400))
        let first = PKI.settings(trusting: [credentials.root])
        let second = PKI.settings(trusting: [credentials.root, other])

        try await harness.connectAndKeepSession(to: server.port, first)
        let channel = try await harness.connect(to: server.port, second)
        try await channel.close()
        #expect(harness.resumed == 0)
        #expect(try harness.sessions(for: first).count > 0)
    }

    /// Reverify-on-resume: the stored chain goes through the verifier again, so a certificate that expired
    /// after the first handshake is refused on resumption instead of being trusted from the session.
    @Test func resumedHandshakeRefusesACertificateThatExpiredSince() async throws {
        let now = Date()
        let root = PKI.certificateAuthority(
            notBefore: now.addingTimeInterval(-3_600), notAfter: now.addingTimeInterval(86_400))
        let leaf = PKI.issue(
            name: UpstreamConnectorTests.hostname, by: root, dnsNames: [UpstreamConnectorTests.hostname],
            // Long enough for the first handshake on a loaded machine (2 s failed there), short for the test.
            notBefore: now.addingTimeInterval(-3_600), notAfter: now.addingTimeInterval(5))
        let server = try await Server.start(presenting: leaf, minimum: .tlsv13, greets: true)
        defer { Task { await server.stop() } }
        let harness = Harness()
        let settings = PKI.settings(trusting: [root])
        try await harness.connectAndKeepSession(to: server.port, settings)
        let cache = try harness.sessions(for: settings)
        let stored = cache.count

        try await Task.sleep(for: .seconds(max(0, now.addingTimeInterval(6).timeIntervalSinceNow)))
        do {
            let channel = try await harness.connect(to: server.port, settings)
            try? await channel.close()
            Issue.record("a resumed session skipped verification of an expired certificate")
        } catch let failure as UpstreamConnector.ConnectFailure {
            #expect(failure.verifyReason == .expired, "\(failure)")
        }
        // The TLS 1.3 ticket was taken (offered), so the refusal came from re-verifying a resumption.
        #expect(cache.count == stored - 1)
        #expect(harness.resumed == 0)
    }
}
