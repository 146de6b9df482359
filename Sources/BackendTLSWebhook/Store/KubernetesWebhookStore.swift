public import BackendTLS
public import BackendTLSKube
public import Logging
public import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// `--store kubernetes`: policies and Services from informers, referenced ConfigMaps and Secrets fetched
/// per request within `lookupTimeout`.
///
/// When the API server cannot be reached, a policy's own rules still apply and what could not be checked
/// becomes a warning (or, with `denyWhenUnavailable`, a denial): the webhook never hangs admission and
/// never claims a check it did not make.
public final class KubernetesWebhookStore: WebhookStore, ServiceLifecycle.Service {
    public struct Configuration: Sendable {
        public var namespace: String?
        public var lookupTimeout: Duration = .seconds(2)
        public var denyWhenUnavailable = false
        public var informer = Informer.Configuration()
        /// Discovery is retried this often until the cluster serves BackendTLSPolicy.
        public var discoveryRetry = Backoff(initial: .seconds(1), maximum: .seconds(30))

        public init() {}
    }

    private let client: KubeClient
    private let configuration: Configuration
    private let validation: ValidationConfiguration
    private let metrics: KubeMetrics
    private let logger: Logger
    private let cluster = Mutex<ClusterObjectStore?>(nil)
    private let discoveryProblem = Mutex<String?>("discovering the BackendTLSPolicy version the cluster serves")

    public init(
        client: KubeClient,
        configuration: Configuration,
        validation: ValidationConfiguration,
        metrics: KubeMetrics,
        logger: Logger
    ) {
        self.client = client
        self.configuration = configuration
        self.validation = validation
        self.metrics = metrics
        self.logger = logger
    }

    /// Discovers the served version, then runs the informers until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.watch() }
        await client.shutdown()
    }

    private func watch() async {
        guard
            let store = await ClusterObjectStore.discovering(
                client: client, namespace: configuration.namespace, informer: configuration.informer,
                retry: configuration.discoveryRetry, metrics: metrics, logger: logger,
                onProblem: { problem in self.discoveryProblem.withLock { $0 = problem } })
        else { return }
        discoveryProblem.withLock { $0 = nil }
        cluster.withLock { $0 = store }
        await store.run()
    }

    public var isSynced: Bool { cluster.withLock { $0 }?.isSynced ?? false }

    public var notReadyReason: String? {
        if let problem = discoveryProblem.withLock({ $0 }) { return problem }
        guard let store = cluster.withLock({ $0 }) else { return "starting" }
        let waiting = [store.policies, store.services].filter { !$0.hasSynced }
        guard !waiting.isEmpty else { return nil }
        return "waiting for the first list of "
            + waiting.map { "\($0.resource.plural)\($0.status.lastError.map { " (\($0))" } ?? "")" }.joined(
                separator: ", ")
    }

    public func snapshot() -> (store: StoreSnapshot, index: PolicyIndex) {
        cluster.withLock { $0 }?.snapshot() ?? (StoreSnapshot(), PolicyIndex(policies: []))
    }

    /// Admitted writes of CA objects change them: the next policy must not be judged against a cached copy.
    public func observe(admitted request: AdmissionRequest, now: Date) {
        guard request.kind.group.isEmpty, let store = cluster.withLock({ $0 }) else { return }
        switch request.kind.kind {
        case "ConfigMap": store.fetcher.invalidate(.configMaps, namespace: request.namespace, name: request.name)
        case "Secret": store.fetcher.invalidate(.secrets, namespace: request.namespace, name: request.name)
        default: break
        }
    }

    /// The CA objects a policy request names, in the request's namespace.
    private func caReferences(of request: AdmissionRequest) -> [CAObjectReference] {
        guard request.kind.group == BackendTLSPolicyVersion.group, request.kind.kind == "BackendTLSPolicy",
            request.operation == .create || request.operation == .update,
            let object = request.object,
            let policy = try? BackendTLSPolicy(json: object)
        else { return [] }
        return policy.caObjectReferences(allowed: validation.allowedCACertificateRefKinds)
    }

    public func prepare(for request: AdmissionRequest) -> PreparedStore {
        guard let store = cluster.withLock({ $0 }), store.isSynced else {
            // Not ready: the API server routes no traffic here normally, but a direct caller gets told.
            let reason = notReadyReason ?? "starting"
            return .ready(
                StoreView(
                    store: StoreSnapshot(), index: PolicyIndex(policies: []),
                    notices: [
                        "the webhook has not synced with the Kubernetes API (\(reason)); conflicts, targets and CA references were not checked"
                    ], noticesDeny: configuration.denyWhenUnavailable))
        }
        let snapshot = store.snapshot()
        var view = StoreView(
            store: snapshot.store, index: snapshot.index, noticesDeny: configuration.denyWhenUnavailable)
        let isPolicy = request.kind.kind == "BackendTLSPolicy"
        if isPolicy, let staleness = store.staleness {
            view.notices.append(
                "conflicts and targets were checked against the last known state; the watch of \(staleness) is interrupted"
            )
        }
        let references = caReferences(of: request)
        let namespace = request.namespace
        // Everything fresh in the cache: answer on the event loop, no task hop.
        var missing: [CAObjectReference] = []
        for reference in references {
            if let cached = store.fetcher.cached(reference.resource, namespace: namespace, name: reference.name) {
                view.store.insert(cached, defaultNamespace: namespace)
            } else {
                missing.append(reference)
            }
        }
        guard !missing.isEmpty else { return .ready(view) }
        let timeout = configuration.lookupTimeout
        let deny = configuration.denyWhenUnavailable
        let logger = self.logger
        let lookups = missing
        let partial = view
        return .pending {
            var view = partial
            await withTaskGroup(of: (Int, Result<JSONValue?, KubeAPIError>).self) { group in
                for (index, reference) in lookups.enumerated() {
                    group.addTask {
                        let result = await store.fetcher.result(
                            reference.resource, namespace: namespace, name: reference.name, timeout: timeout)
                        return (index, result)
                    }
                }
                for await (index, result) in group {
                    let reference = lookups[index]
                    switch result {
                    case .success(let object):
                        guard let object, let problem = view.store.insert(object, defaultNamespace: namespace)
                        else { break }
                        // Present but unreadable: say so rather than let it read as "not found".
                        view.store.recordLookupFailure(
                            LookupFailure(message: "the object cannot be read: \(problem.detail)", deny: deny),
                            reference.groupKind, namespace: namespace, name: reference.name)
                    case .failure(let error):
                        logger.warning(
                            "CA object lookup failed",
                            metadata: [
                                "object": "\(reference.resource.kind) \(namespace)/\(reference.name)",
                                "error": "\(error)",
                            ])
                        view.store.recordLookupFailure(
                            LookupFailure(message: error.description, deny: deny), reference.groupKind,
                            namespace: namespace, name: reference.name)
                    }
                }
            }
            return view
        }
    }
}
