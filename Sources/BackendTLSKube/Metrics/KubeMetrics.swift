public import Prometheus

/// Metrics of the API access, registered in the caller's registry so they appear on its `/metrics`.
public struct KubeMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// `type` is the watch event type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) or `UNDECODABLE`.
    func watchEvents(resource: String, type: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("backendtls_kube_watch_events_total", "Watch events received, by resource and type."),
            labels: [("resource", resource), ("type", type)])
    }

    /// `reason`: initial, gone (410 / too old resource version), resync, error.
    func relists(resource: String, reason: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                "backendtls_kube_relists_total", "Full lists of a resource, by why the informer listed again."),
            labels: [("resource", resource), ("reason", reason)])
    }

    func requestDuration(verb: String, code: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: Self.name(
                "backendtls_kube_request_duration_seconds",
                "Kubernetes API requests until the response head (a watch: until it started), by verb and code."),
            labels: [("verb", verb), ("code", code)],
            buckets: [
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
            ])
    }

    /// Whether each informer has listed successfully at least once (1) or not yet (0).
    func synced(resource: String) -> Gauge {
        registry.makeGauge(
            descriptor: Self.name("backendtls_kube_informer_synced", "1 once the informer's first list succeeded."),
            labels: [("resource", resource)])
    }
}
