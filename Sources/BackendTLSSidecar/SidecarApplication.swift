public import BackendTLSKube
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
    private let kube: KubeConfigSource?

    /// - Parameter kubeClient: cluster mode (`--kube`): configuration comes from the API server, not a directory.
    /// - Parameter metrics: pass the registry the Kubernetes client already reports into.
    public init(
        configuration: SidecarConfiguration,
        kubeClient: KubeClient? = nil,
        metrics: SidecarMetrics = SidecarMetrics(),
        logger: Logger
    ) {
        self.configuration = configuration
        let state = SidecarState(
            configuration: configuration.validation, onlyNamespace: kubeClient == nil ? nil : configuration.namespace)
        self.state = state
        self.metrics = metrics
        self.logger = logger
        self.kube = kubeClient.map {
            KubeConfigSource(
                client: $0, namespace: configuration.namespace, state: state, validation: configuration.validation,
                metrics: metrics, logger: logger)
        }
    }

    public var services: [any ServiceLifecycle.Service] {
        let source: any ServiceLifecycle.Service =
            kube
            ?? ConfigDirectorySource(
                directory: configuration.configDirectory ?? ".", namespace: configuration.namespace, state: state,
                metrics: metrics, logger: logger)
        let kube = self.kube
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
                let reason = kube?.notReadyReason.map { ": \($0)" } ?? ""
                guard state.isLoaded else {
                    return .init(status: 503, body: Array("configuration not loaded\(reason)\n".utf8))
                }
                guard reason.isEmpty else { return .init(status: 503, body: Array("not ready\(reason)\n".utf8)) }
                return .init(status: 200, body: Array("ok\n".utf8))
            default:
                return .init(status: 404, body: Array("not found\n".utf8))
            }
        }
        return [source, server, observability]
    }
}
