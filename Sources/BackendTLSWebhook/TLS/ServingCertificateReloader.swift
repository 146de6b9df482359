import BackendTLSServerSupport
public import Logging
import NIOCore
import NIOPosix
public import NIOSSL
import Prometheus
public import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Keeps the serving certificate current without a restart: Kubernetes swaps a Secret volume's `..data`
/// symlink, we notice (file-system events, and polling as a safety net, like controller-runtime's
/// certwatcher), load and check the new pair, and hand it to new handshakes through NIOSSL's
/// `sslContextCallback`. A broken new pair is refused with a log line and a metric; the old one keeps serving.
public final class ServingCertificateReloader: Service, Sendable {
    public let certificateFile: String
    public let keyFile: String
    private let pollInterval: Duration
    private let logger: Logger
    private let metrics: WebhookMetrics
    private let current: Mutex<ServingCertificate>
    private let lastFailureDigest = Mutex<String?>(nil)
    /// File events and polls may fire together; one reload at a time, so an older read never wins.
    private let reloading = Mutex<Void>(())

    /// Loads the initial pair; failing here fails start-up, naming the flag's file.
    public init(tls: WebhookConfiguration.TLS, logger: Logger, metrics: WebhookMetrics) throws(ServingCertificate
        .LoadError)
    {
        self.certificateFile = tls.certificateFile
        self.keyFile = tls.keyFile
        self.pollInterval = tls.pollInterval
        self.logger = logger
        self.metrics = metrics
        let initial = try ServingCertificate.load(certificateFile: tls.certificateFile, keyFile: tls.keyFile)
        self.current = Mutex(initial)
        metrics.servingCertificateExpiry.set(initial.notAfter.timeIntervalSince1970)
    }

    public var certificate: ServingCertificate { current.withLock { $0 } }

    /// Called by NIOSSL once per ClientHello: every new handshake gets the newest loaded pair.
    public var contextCallback: NIOSSLContextCallback {
        { [self] _, promise in
            let certificate = self.certificate
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = certificate.chain.map { .certificate($0) }
            override.privateKey = .privateKey(certificate.key)
            promise.succeed(override)
        }
    }

    public func run() async throws {
        let watcher = await FileChangeWatcher.start(
            paths: [certificateFile, keyFile], group: MultiThreadedEventLoopGroup.singleton, logger: logger
        ) { [weak self] in
            self?.reload(trigger: "file event")
        }
        defer { watcher?.close(promise: nil) }
        // Poll too: events can be missed (overflow, watched directory replaced), and polling is cheap.
        // Shutdown cancels the sleep; that is the normal way out, not an error.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.pollInterval)
                self.reload(trigger: "poll")
            }
        }
    }

    /// Re-reads the files; returns whether a new pair was installed.
    @discardableResult
    public func reload(trigger: String = "manual") -> Bool {
        reloading.withLock { _ in reloadSerially(trigger: trigger) }
    }

    private func reloadSerially(trigger: String) -> Bool {
        let loaded: ServingCertificate
        do {
            // Polls run every second: compare bytes first and parse only when the files actually changed.
            let files = try ServingCertificate.read(certificateFile: certificateFile, keyFile: keyFile)
            let digest = ServingCertificate.digest(certificatePEM: files.certificatePEM, keyPEM: files.keyPEM)
            if current.withLock({ $0.contentDigest }) == digest {
                lastFailureDigest.withLock { $0 = nil }
                return false
            }
            loaded = try ServingCertificate.make(
                certificatePEM: files.certificatePEM, keyPEM: files.keyPEM, certificatePath: certificateFile,
                keyPath: keyFile, digest: digest)
        } catch {
            // Log a broken pair once, not every poll.
            let signature = error.description
            let isNew = lastFailureDigest.withLock { last in
                defer { last = signature }
                return last != signature
            }
            if isNew {
                logger.error(
                    "refusing new serving certificate; the previous one keeps serving",
                    metadata: ["reason": "\(error)", "trigger": "\(trigger)"])
                metrics.certificateReloads(result: "failure").increment()
            }
            return false
        }
        lastFailureDigest.withLock { $0 = nil }
        let changed = current.withLock { current in
            guard current.contentDigest != loaded.contentDigest else { return false }
            current = loaded
            return true
        }
        if changed {
            metrics.certificateReloads(result: "success").increment()
            metrics.servingCertificateExpiry.set(loaded.notAfter.timeIntervalSince1970)
            logger.info(
                "serving certificate reloaded", metadata: ["trigger": "\(trigger)", "notAfter": "\(loaded.notAfter)"])
        }
        return changed
    }
}
