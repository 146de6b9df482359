public import Prometheus
import Synchronization

/// The sidecar's Prometheus metrics (issue 5), served on `--metrics-listen` with the probes.
public struct SidecarMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let handshakeDuration: DurationHistogram
    let upstreamConnections: Gauge
    private let caches = MetricCaches()

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.handshakeDuration = registry.makeDurationHistogram(
            descriptor: Self.name(
                "backendtls_sidecar_handshake_duration_seconds", "Upstream TCP connect plus TLS handshake time."),
            buckets: [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
            ])
        self.upstreamConnections = registry.makeGauge(
            descriptor: Self.name(
                "backendtls_sidecar_upstream_connections", "Open upstream connections (in use and pooled)."))
    }

    static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Looked up on every request: the registry's lookup (help-text checks, label hashing under its lock)
    /// cost more than the counting, so the handful of codes seen are kept here.
    func requests(code: Int) -> Counter {
        if let counter = caches.requestCounters.withLock({ $0[code] }) { return counter }
        let counter = registry.makeCounter(
            descriptor: Self.name(
                "backendtls_sidecar_requests_total", "Requests answered in HTTP mode, by status code."),
            labels: [("code", String(code))])
        caches.requestCounters.withLock { $0[code] = counter }
        return counter
    }

    func handshakes(policy: String, result: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("backendtls_sidecar_upstream_handshakes_total", "Upstream TLS handshakes."),
            labels: [("policy", policy), ("result", result)])
    }

    func sessionsResumed(policy: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                "backendtls_sidecar_upstream_sessions_resumed_total",
                "Upstream TLS handshakes that resumed an earlier session (certificates still re-verified)."),
            labels: [("policy", policy)])
    }

    func verifyFailures(policy: String, reason: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                "backendtls_sidecar_verify_failures_total", "Upstream certificates refused, by reason."),
            labels: [("policy", policy), ("reason", reason)])
    }

    func configReloads(result: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("backendtls_sidecar_config_reloads_total", "Configuration loads, by result."),
            labels: [("result", result)])
    }

    func caBundleExpiry(policy: String) -> Gauge {
        registry.makeGauge(
            descriptor: Self.name(
                "backendtls_sidecar_ca_bundle_expiry_timestamp_seconds",
                "Earliest notAfter among a policy's trust anchors."),
            labels: [("policy", policy)])
    }
}

extension DurationHistogram {
    func recordNanoseconds(_ nanoseconds: Int64) {
        record(.nanoseconds(nanoseconds))
    }
}

/// What `SidecarMetrics` remembers between requests; a class so the struct stays copyable.
private final class MetricCaches: Sendable {
    let requestCounters = Mutex<[Int: Counter]>([:])
}
