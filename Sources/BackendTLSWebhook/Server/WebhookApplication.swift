import BackendTLS
import BackendTLSServerSupport
public import Logging
import Prometheus
public import ServiceLifecycle

/// Builds the webhook's parts from one configuration and lists them as services, in start order:
/// certificate reloader, admission server, probe server, metrics server, shutdown delay (stopped first).
public struct WebhookApplication: Sendable {
    public let configuration: WebhookConfiguration
    public let reloader: ServingCertificateReloader
    public let server: WebhookServer
    public let metrics: WebhookMetrics
    public let store: any WebhookStore

    /// Fails at start-up (unreadable or mismatched certificate files), naming the files.
    /// - Parameter metrics: pass the registry other parts (the Kubernetes store) already report into.
    public init(
        configuration: WebhookConfiguration,
        store: any WebhookStore = MemoryObjectStore(),
        metrics: WebhookMetrics = WebhookMetrics(),
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        self.reloader = try ServingCertificateReloader(tls: configuration.tls, logger: logger, metrics: metrics)
        let service = AdmissionService(
            configuration: configuration.validation, store: store, metrics: metrics, logger: logger)
        self.server = WebhookServer(configuration: configuration, service: service, reloader: reloader, logger: logger)
        self.logger = logger
    }

    private let logger: Logger

    public var services: [any ServiceLifecycle.Service] {
        let server = self.server
        let store = self.store
        let delay = ShutdownDelay(delay: configuration.limits.shutdownDelay, logger: logger)
        let registry = metrics.registry
        let probes = PlainHTTPServer(name: "probes", address: configuration.probeListen, logger: logger) { _, path in
            switch path {
            case "/healthz", "/livez":
                return .init(status: 200, body: Array("ok\n".utf8))
            case "/readyz":
                // Ready once the store has synced and the TLS listener is up with a loaded certificate, until shutdown.
                guard !delay.isShuttingDown else {
                    return .init(status: 503, body: Array("not ready: shutting down\n".utf8))
                }
                guard server.boundAddress != nil else {
                    return .init(status: 503, body: Array("not ready: the admission listener is not up\n".utf8))
                }
                guard store.isSynced else {
                    let reason = store.notReadyReason ?? "the store has not synced"
                    return .init(status: 503, body: Array("not ready: \(reason)\n".utf8))
                }
                return .init(status: 200, body: Array("ok\n".utf8))
            default:
                return .init(status: 404, body: Array("not found\n".utf8))
            }
        }
        let metricsServer = PlainHTTPServer(name: "metrics", address: configuration.metricsListen, logger: logger) {
            _, path in
            guard path == "/metrics" else { return .init(status: 404, body: Array("not found\n".utf8)) }
            return .init(
                status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToBuffer())
        }
        // The store first: informers start listing while the listeners come up.
        let storeServices = (store as? any ServiceLifecycle.Service).map { [$0] } ?? []
        return storeServices + [reloader, server, probes, metricsServer, delay]
    }
}
