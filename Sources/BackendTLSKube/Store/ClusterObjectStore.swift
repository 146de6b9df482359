public import BackendTLS
public import Logging
import Synchronization

/// The cluster as the rules see it: BackendTLSPolicies and Services from informers, ConfigMaps and Secrets
/// fetched on demand (`CAObjectFetcher`).
///
/// Informer changes are applied to one `StoreSnapshot` and its `PolicyIndex` under a lock, incrementally,
/// so taking a snapshot per admission request costs a copy-on-write reference, not a rebuild.
public final class ClusterObjectStore: Sendable {
    public struct Configuration: Sendable {
        /// Watch one namespace, or (`nil`) the whole cluster.
        public var namespace: String?
        /// The BackendTLSPolicy version to watch (see `PolicyVersionDiscovery`).
        public var policyVersion: String
        public var informer = Informer.Configuration()
        /// How long a fetched ConfigMap or Secret is reused.
        public var cacheFreshFor: Duration = .seconds(5)
        /// How often the policies' informer is asked whether its version is still served.
        public var versionCheckInterval: Duration = .seconds(1)

        public init(namespace: String? = nil, policyVersion: String) {
            self.namespace = namespace
            self.policyVersion = policyVersion
        }
    }

    public let fetcher: CAObjectFetcher
    public let services: Informer
    private let state: LockedStore
    /// The policies' informer, replaced when the API server stops serving its version.
    private let policyInformer: Mutex<Informer>
    /// A policies' informer for a version, feeding the same store.
    private let makePolicyInformer: @Sendable (_ version: String) -> Informer
    private let client: KubeClient
    private let configuration: Configuration
    private let logger: Logger

    public var policies: Informer { policyInformer.withLock { $0 } }

    /// - Parameter onChange: called after every applied change (the sidecar rebuilds its configuration).
    public init(
        client: KubeClient,
        configuration: Configuration,
        metrics: KubeMetrics?,
        logger: Logger,
        onChange: @escaping @Sendable () -> Void = {}
    ) {
        let state = LockedStore()
        self.state = state
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.fetcher = CAObjectFetcher(client: client, freshFor: configuration.cacheFreshFor)
        let makePolicyInformer = { @Sendable (version: String) in
            Informer(
                client: client, resource: .backendTLSPolicies(version: version), namespace: configuration.namespace,
                configuration: configuration.informer, metrics: metrics, logger: logger
            ) { change in
                Self.applyPolicy(change, to: state, logger: logger)
                onChange()
            }
        }
        self.makePolicyInformer = makePolicyInformer
        self.policyInformer = Mutex(makePolicyInformer(configuration.policyVersion))
        self.services = Informer(
            client: client, resource: .services, namespace: configuration.namespace,
            configuration: configuration.informer, metrics: metrics, logger: logger
        ) { change in
            Self.applyService(change, to: state, logger: logger)
            onChange()
        }
    }

    /// Runs both informers until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runPolicies() }
            group.addTask { await self.services.run() }
        }
    }

    /// Runs the policies' informer, and when the API server answers 404 for its version (a Gateway API upgrade
    /// stopped serving it), discovers the version served now and watches that instead: otherwise the store would
    /// keep the last policies it saw, ready, for as long as the process lives.
    private func runPolicies() async {
        var attempts = 0
        while !Task.isCancelled {
            let informer = policies
            let running = Task { await informer.run() }
            var replacement: String?
            while !Task.isCancelled, replacement == nil {
                try? await Task.sleep(for: configuration.versionCheckInterval)
                guard informer.status.resourceMissing, !Task.isCancelled else {
                    attempts = 0
                    continue
                }
                let current = informer.resource.version
                if let served = try? await PolicyVersionDiscovery.discover(using: client), served != current {
                    replacement = served
                    logger.warning(
                        "the API server no longer serves the BackendTLSPolicy version watched; watching the one it serves",
                        metadata: ["was": "\(current)", "now": "\(served)"])
                } else {
                    // Still served, or nothing served yet (the CRD is being replaced): the informer retries by itself.
                    try? await Task.sleep(for: configuration.informer.backoff.delay(attempt: attempts))
                    attempts += 1
                }
            }
            running.cancel()
            await running.value
            guard let replacement, !Task.isCancelled else { return }
            attempts = 0
            let next = makePolicyInformer(replacement)
            policyInformer.withLock { $0 = next }
        }
    }

    public var isSynced: Bool { policies.hasSynced && services.hasSynced }

    public func snapshot() -> (store: StoreSnapshot, index: PolicyIndex) { state.mutex.withLock { $0 } }

    /// A sentence for a warning when an informer is not watching right now (its data may be stale), else nil.
    public var staleness: String? {
        let broken = [policies, services].filter { !$0.status.isWatching && $0.status.lastError != nil }
        guard !broken.isEmpty else { return nil }
        return broken.map { "\($0.resource.plural) (\($0.status.lastError ?? "not watching"))" }.joined(
            separator: "; ")
    }

    static func applyPolicy(
        _ change: Informer.Change,
        to state: LockedStore,
        logger: Logger
    ) {
        func decode(_ object: JSONValue) -> BackendTLSPolicy? {
            do {
                return try BackendTLSPolicy(json: object)
            } catch {
                logger.warning(
                    "ignoring a BackendTLSPolicy that cannot be read",
                    metadata: [
                        "object":
                            "\(object["metadata"]?["namespace"]?.stringValue ?? "")/\(object["metadata"]?["name"]?.stringValue ?? "")",
                        "error": "\(error)",
                    ])
                return nil
            }
        }
        switch change {
        case .replaced(let objects):
            let policies = objects.compactMap(decode)
            state.mutex.withLock { state in
                for old in state.store.allPolicies {
                    state.store.removePolicy(namespace: old.metadata.namespace, name: old.metadata.name)
                }
                for policy in policies { state.store.insert(policy) }
                state.index = PolicyIndex(policies: policies)
            }
        case .upserted(let object):
            guard let policy = decode(object) else { return }
            state.mutex.withLock { state in
                state.store.insert(policy)
                state.index.insert(policy)
            }
        case .deleted(let object):
            let (namespace, name) = Self.name(object)
            state.mutex.withLock { state in
                state.store.removePolicy(namespace: namespace, name: name)
                state.index.remove(namespace: namespace, name: name)
            }
        }
    }

    static func applyService(
        _ change: Informer.Change,
        to state: LockedStore,
        logger: Logger
    ) {
        switch change {
        case .replaced(let objects):
            state.mutex.withLock { state in
                for old in state.store.allServices {
                    state.store.removeService(namespace: old.metadata.namespace, name: old.metadata.name)
                }
                for object in objects { Self.insert(object, into: &state.store, logger: logger) }
            }
        case .upserted(let object):
            state.mutex.withLock { Self.insert(object, into: &$0.store, logger: logger) }
        case .deleted(let object):
            let (namespace, name) = Self.name(object)
            state.mutex.withLock { $0.store.removeService(namespace: namespace, name: name) }
        }
    }

    private static func insert(_ object: JSONValue, into store: inout StoreSnapshot, logger: Logger) {
        if let problem = store.insert(object) {
            logger.warning("ignoring an object that cannot be read", metadata: ["error": "\(problem.detail)"])
        }
    }

    static func name(_ object: JSONValue) -> (namespace: String, name: String) {
        (
            object["metadata"]?["namespace"]?.stringValue ?? "",
            object["metadata"]?["name"]?.stringValue ?? ""
        )
    }
}

/// The snapshot and index under one lock, in a class so the informers' change handlers can share it.
final class LockedStore: Sendable {
    let mutex = Mutex<(store: StoreSnapshot, index: PolicyIndex)>((StoreSnapshot(), PolicyIndex(policies: [])))
}
