import BackendTLSServerSupport
public import Logging
import Prometheus
public import ServiceLifecycle

/// The sidecar's parts, in start order: configuration source, listeners, metrics and probes.
public struct SidecarApplication: Sendable {
    public let configuration: SidecarConfiguration
    public let state: SidecarState
    public let metrics: SidecarMetrics
    private let logger: Logger

    public init(configuration: SidecarConfiguration, logger: Logger) {
        self.configuration = configuration
        self.state = SidecarState(configuration: configuration.validation)
        self.metrics = SidecarMetrics()
        self.logger = logger
    }

    public var services: [any ServiceLifecycle.Service] {
        let source = ConfigDirectorySource(
            directory: configuration.configDirectory, namespace: configuration.namespace, state: state,
            metrics: metrics,
            logger: logger)
        let server = SidecarServer(configuration: configuration, state: state, metrics: metrics, logger: logger)
        let state = self.state
        let registry = metrics.registry
        let observability = PlainHTTPServer(name: "metrics", address: configuration.metricsListen, logger: logger) {
            _, path in
            switch path {
            case "/metrics":
                return .init(
                    status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToBuffer())
            case "/healthz", "/livez":
                return .init(status: 200, body: Array("ok\n".utf8))
            case "/readyz":
                return state.isLoaded
                    ? .init(status: 200, body: Array("ok\n".utf8))
                    : .init(status: 503, body: Array("configuration not loaded\n".utf8))
            default:
                return .init(status: 404, body: Array("not found\n".utf8))
            }
        }
        return [source, server, observability]
    }
}
