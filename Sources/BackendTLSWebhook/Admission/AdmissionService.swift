public import BackendTLS
public import Logging
import Prometheus

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Turns one HTTP request into one HTTP answer: routing, AdmissionReview decoding, the library's decision,
/// metrics, logs and (memory mode) store learning. Synchronous and CPU-only, so it runs on the event loop.
public struct AdmissionService: Sendable {
    /// What to send back; `body` is JSON in every case.
    public struct Answer: Error, Sendable, Equatable {
        public var status: Int
        public var body: [UInt8]
    }

    let evaluator: AdmissionEvaluator
    let store: any WebhookStore
    let inspector: CABundleInspector
    let metrics: WebhookMetrics
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(
        configuration: ValidationConfiguration,
        store: any WebhookStore,
        metrics: WebhookMetrics,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.evaluator = AdmissionEvaluator(configuration: configuration)
        self.store = store
        self.inspector = CABundleInspector(configuration: configuration.bundle)
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
    }

    /// Decides where a request goes before its body is read, so wrong paths and methods cost nothing.
    public func route(method: String, path: String) -> Result<AdmissionEvaluator.Endpoint, Answer> {
        let endpoint: AdmissionEvaluator.Endpoint
        switch path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path {
        case "/validate": endpoint = .validate
        case "/mutate": endpoint = .mutate
        default:
            return .failure(error(404, "no such endpoint \(path.debugDescription); use POST /validate or POST /mutate"))
        }
        guard method == "POST" else {
            return .failure(error(405, "\(method) is not allowed on \(path); AdmissionReviews are POSTed"))
        }
        return .success(endpoint)
    }

    /// An answer now, or work that must wait for the store (on-demand lookups) and answers later.
    public enum Reply: Sendable {
        case now(Answer)
        case later(@Sendable () async -> Answer)
    }

    public func respond(endpoint: AdmissionEvaluator.Endpoint, body: [UInt8]) -> Reply {
        let start = ContinuousClock.now
        let review: AdmissionReview
        do {
            review = try AdmissionReview(bytes: body)
        } catch {
            logger.debug("malformed AdmissionReview", metadata: ["error": "\(error)"])
            return .now(self.error(400, error.description))
        }
        // Only validation reads other objects; defaulting never waits for the API server.
        let prepared: PreparedStore
        if endpoint == .validate {
            prepared = store.prepare(for: review.request)
        } else {
            let snapshot = store.snapshot()
            prepared = .ready(StoreView(store: snapshot.store, index: snapshot.index))
        }
        switch prepared {
        case .ready(let view):
            return .now(decide(review, endpoint: endpoint, view: view, start: start))
        case .pending(let work):
            return .later { decide(review, endpoint: endpoint, view: await work(), start: start) }
        }
    }

    private func decide(
        _ review: AdmissionReview,
        endpoint: AdmissionEvaluator.Endpoint,
        view: StoreView,
        start: ContinuousClock.Instant
    ) -> Answer {
        let request = review.request
        let now = clock()
        let context = ValidationContext(
            store: view.store, now: now, configuration: evaluator.configuration, inspector: inspector,
            index: view.index)
        var decision = evaluator.evaluate(request, endpoint: endpoint, context: context)
        if decision.handled, endpoint == .validate, !view.notices.isEmpty {
            let object = ObjectReference(kind: request.kind.kind, namespace: request.namespace, name: request.name)
            for notice in view.notices {
                decision.diagnostics.append(
                    Diagnostic(
                        severity: view.noticesDeny ? .error : .warning, reason: .lookupFailed, field: "",
                        object: object, message: notice))
            }
        }
        let response = AdmissionResponse(uid: request.uid, decision: decision)
        if response.allowed, endpoint == .validate { store.observe(admitted: request, now: now) }
        record(request, endpoint: endpoint, decision: decision, response: response)
        metrics.requestDuration.record(ContinuousClock.now - start)
        return Answer(status: 200, body: JSONSerializer.serializeBytes(response.review(apiVersion: review.apiVersion)))
    }

    private func record(
        _ request: AdmissionRequest,
        endpoint: AdmissionEvaluator.Endpoint,
        decision: AdmissionDecision,
        response: AdmissionResponse
    ) {
        let kind = decision.handled ? request.kind.kind : "unhandled"
        metrics.requests(
            endpoint: endpoint.rawValue, kind: kind, operation: request.operation.rawValue, allowed: response.allowed
        )
        .increment()
        let errors = decision.diagnostics.filter(\.isError)
        for diagnostic in decision.diagnostics {
            if diagnostic.isError {
                metrics.denials(reason: diagnostic.reason.rawValue).increment()
            } else {
                metrics.warnings(reason: diagnostic.reason.rawValue).increment()
            }
        }
        let objectName = request.namespace.isEmpty ? request.name : "\(request.namespace)/\(request.name)"
        if !errors.isEmpty {
            logger.info(
                "denied",
                metadata: [
                    "uid": "\(request.uid)", "kind": "\(request.kind.kind)", "object": "\(objectName)",
                    "operation": "\(request.operation.rawValue)",
                    "reasons": "\(Set(errors.map(\.reason.rawValue)).sorted().joined(separator: ","))",
                ])
        } else {
            logger.debug(
                "admitted",
                metadata: [
                    "uid": "\(request.uid)", "endpoint": "\(endpoint.rawValue)", "kind": "\(request.kind.kind)",
                    "object": "\(objectName)", "operation": "\(request.operation.rawValue)",
                    "warnings": "\(response.warnings.count)", "patch": "\(response.patch.count)",
                ])
        }
    }

    /// An HTTP error with a JSON body naming the problem.
    public func error(_ status: Int, _ message: String) -> Answer {
        metrics.httpErrors(code: status).increment()
        let body: JSONValue = .object(JSONObject([("code", .number(String(status))), ("error", .string(message))]))
        return Answer(status: status, body: JSONSerializer.serializeBytes(body))
    }
}
