public import BackendTLS
public import NIOSSL
import Prometheus
import Synchronization

/// One `NIOSSLContext` (and verifier) per distinct `ResolvedBackendTLS`, bounded LRU.
///
/// Keyed by the settings' value, which includes the CA content: a rotated bundle is a new key, so new
/// connections pick it up at once and stale contexts are never reused (STYLE §8).
public final class UpstreamTLSContextCache: Sendable {
    public struct Entry: Sendable {
        public let context: NIOSSLContext
        public let verifier: UpstreamCertificateVerifier
    }

    /// The HTTP listener speaks HTTP/1.1 upstream, so it must not offer h2 in ALPN.
    public enum Use: Sendable, Hashable {
        case http
        case tcp
    }

    private struct Key: Hashable {
        let settings: ResolvedBackendTLS
        let use: Use
    }

    private let entries = Mutex<[Key: (entry: Entry, lastUse: UInt64)]>([:])
    private let clock = Mutex<UInt64>(0)
    private let capacity: Int
    private let metrics: SidecarMetrics?

    public init(capacity: Int = 256, metrics: SidecarMetrics? = nil) {
        self.capacity = capacity
        self.metrics = metrics
    }

    public func entry(for settings: ResolvedBackendTLS, use: Use) throws -> Entry {
        let key = Key(settings: settings, use: use)
        let tick = clock.withLock { value in
            value += 1
            return value
        }
        if let hit = entries.withLock({ cache -> Entry? in
            guard let found = cache[key] else { return nil }
            cache[key] = (found.entry, tick)
            return found.entry
        }) {
            return hit
        }
        let entry = Entry(
            context: try Self.makeContext(settings, use: use, metrics: metrics),
            verifier: try UpstreamCertificateVerifier(settings: settings))
        entries.withLock { cache in
            if cache.count >= capacity, let oldest = cache.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                cache[oldest] = nil
            }
            cache[key] = (entry, tick)
        }
        return entry
    }

    static func makeContext(_ settings: ResolvedBackendTLS, use: Use, metrics: SidecarMetrics?) throws -> NIOSSLContext
    {
        var configuration = TLSConfiguration.makeClientConfiguration()
        // Chain and identity are checked by UpstreamCertificateVerifier; NIOSSL must not add its own
        // hostname check (wrong when subjectAltNames are set). Verification itself is never off.
        configuration.certificateVerification = .noHostnameVerification
        // Trust is decided by the verifier; an empty store keeps NIOSSL from reading the system bundle from
        // disk when a context is built (on an event loop, after a CA rotation).
        configuration.trustRoots = .certificates([])
        let options = settings.options
        configuration.minimumTLSVersion = options.minimumTLSVersion == .v1_3 ? .tlsv13 : .tlsv12
        if let maximum = options.maximumTLSVersion {
            configuration.maximumTLSVersion = maximum == .v1_3 ? .tlsv13 : .tlsv12
        }
        if !options.cipherSuites.isEmpty {
            configuration.cipherSuites = options.cipherSuites.compactMap { TLS12CipherSuite.named($0)?.openSSLName }
                .joined(separator: ":")
        }
        switch use {
        case .http:
            configuration.applicationProtocols = options.alpnProtocols.isEmpty ? [] : ["http/1.1"]
        case .tcp:
            configuration.applicationProtocols = options.alpnProtocols
        }
        let context = try NIOSSLContext(configuration: configuration)
        let resumed = metrics?.sessionsResumed(policy: "\(settings.policy.namespacedName)")
        UpstreamTLSSessionCache.install(on: context) { resumed?.increment() }
        return context
    }
}
