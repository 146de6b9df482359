public import Prometheus

/// The webhook's Prometheus metrics, in one registry served on `--metrics-listen`.
///
/// Labels are low-cardinality by construction: endpoint, kind, operation, verdict, reason, HTTP code.
/// Messages never become labels (STYLE §6).
public struct WebhookMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let servingCertificateExpiry: Gauge
    let requestDuration: DurationHistogram

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.servingCertificateExpiry = registry.makeGauge(
            descriptor: Self.name(
                "backendtls_webhook_serving_certificate_expiry_timestamp_seconds",
                "notAfter of the serving certificate in use, as a Unix timestamp."))
        self.requestDuration = registry.makeDurationHistogram(
            descriptor: Self.name(
                "backendtls_webhook_request_duration_seconds",
                "Time from a complete AdmissionReview request to its response."),
            buckets: [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1),
            ])
    }

    /// Full metric names are given whole, so they can be grepped for.
    static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func requests(endpoint: String, kind: String, operation: String, allowed: Bool) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("backendtls_webhook_requests_total", "AdmissionReview requests answered."),
            labels: [
                ("endpoint", endpoint), ("kind", kind), ("operation", operation),
                ("allowed", allowed ? "true" : "false"),
            ])
    }

    func denials(reason: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                "backendtls_webhook_denials_total", "Errors behind denied requests, by diagnostic reason."),
            labels: [("reason", reason)])
    }

    func warnings(reason: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("backendtls_webhook_warnings_total", "Warnings returned, by diagnostic reason."),
            labels: [("reason", reason)])
    }

    func httpErrors(code: Int) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                "backendtls_webhook_http_errors_total",
                "Requests answered with an HTTP error status instead of an AdmissionReview."),
            labels: [("code", String(code))])
    }

    func certificateReloads(result: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                "backendtls_webhook_certificate_reloads_total",
                "Serving certificate reload attempts that changed something or failed."), labels: [("result", result)])
    }
}
