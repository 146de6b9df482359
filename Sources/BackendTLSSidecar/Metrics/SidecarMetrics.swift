public import Prometheus

/// The sidecar's Prometheus metrics (issue 5), served on `--metrics-listen` with the probes.
public struct SidecarMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let handshakeDuration: DurationHistogram
    let upstreamConnections: Gauge

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

    func requests(code: Int) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                "backendtls_sidecar_requests_total", "Requests answered in HTTP mode, by status code."),
            labels: [("code", String(code))])
    }

    func handshakes(policy: String, result: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("backendtls_sidecar_upstream_handshakes_total", "Upstream TLS handshakes."),
            labels: [("policy", policy), ("result", result)])
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
