public import BackendTLS
public import BackendTLSKube
public import Logging
import Prometheus
public import ServiceLifecycle
import Synchronization

/// `--kube`: the sidecar's configuration from the API server — BackendTLSPolicies and Services of its
/// namespace through informers, and each CA ConfigMap or Secret those policies reference through its own
/// watch (`fieldSelector=metadata.name=…`), so no other ConfigMap or Secret ever reaches the pod.
///
/// Every change rebuilds the store, within milliseconds of the watch event, and installs it if anything resolution
/// reads changed (a new generation: new connections use it, pooled ones made under the old one are drained);
/// otherwise the rebuild counts as `unchanged`.
public final class KubeConfigSource: ServiceLifecycle.Service, Sendable {
    private let client: KubeClient
    private let namespace: String
    private let state: SidecarState
    private let validation: ValidationConfiguration
    private let metrics: SidecarMetrics
    private let kubeMetrics: KubeMetrics
    private let informerConfiguration: Informer.Configuration
    private let logger: Logger
    private let problem = Mutex<String?>("discovering the BackendTLSPolicy version the cluster serves")

    public init(
        client: KubeClient,
        namespace: String,
        state: SidecarState,
        validation: ValidationConfiguration,
        metrics: SidecarMetrics,
        informer: Informer.Configuration = .init(),
        logger: Logger
    ) {
        self.client = client
        self.namespace = namespace
        self.state = state
        self.validation = validation
        self.metrics = metrics
        self.kubeMetrics = client.metrics ?? KubeMetrics(registry: metrics.registry)
        self.informerConfiguration = informer
        self.logger = logger
    }

    /// Why the configuration is not loaded yet, for `/readyz`.
    public var notReadyReason: String? { problem.withLock { $0 } }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.watch() }
        await client.shutdown()
    }

    private func watch() async {
        let (changes, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        guard
            let cluster = await ClusterObjectStore.discovering(
                client: client, namespace: namespace, informer: informerConfiguration,
                retry: Backoff(initial: .seconds(1)), metrics: kubeMetrics, logger: logger,
                onProblem: { problem in self.problem.withLock { $0 = problem } }, onChange: { signal.yield() })
        else { return }
        problem.withLock { $0 = "waiting for the first list of backendtlspolicies and services" }
        let caObjects = CAObjectWatches()
        let clusterTask = Task { await cluster.run() }
        var installed: Int?
        for await _ in changes {
            // Events come in bursts (a list, an apply of several objects): settle, then rebuild once.
            try? await Task.sleep(for: .milliseconds(20))
            let snapshot = cluster.snapshot()
            caObjects.reconcile(
                wanted: referencedCAObjects(snapshot.store),
                start: { reference, token in
                    Informer(
                        client: self.client, resource: reference.resource, namespace: self.namespace,
                        fieldSelector: "metadata.name=\(reference.name)", configuration: self.informerConfiguration,
                        metrics: self.kubeMetrics, logger: self.logger
                    ) { change in
                        caObjects.apply(change, reference: reference, token: token)
                        signal.yield()
                    }
                })
            guard cluster.isSynced else { continue }
            var store = snapshot.store
            let objects = caObjects.objects
            for object in objects { store.insert(object, defaultNamespace: namespace) }
            // Ready once every referenced CA object has been listed: before that, its policies fail closed.
            let pending = caObjects.unsynced
            problem.withLock {
                $0 = pending.isEmpty ? nil : "waiting for the first list of \(pending.joined(separator: ", "))"
            }
            // A gateway controller writes policy status, and Services change metadata, all the time: only a
            // change to what resolution reads makes a new generation (which drains pooled connections).
            let fingerprint = Self.fingerprint(store, caObjects: objects)
            guard fingerprint != installed else {
                metrics.configReloads(result: "unchanged").increment()
                continue
            }
            installed = fingerprint
            // CA objects do not change the policies' index the cluster store keeps up to date.
            state.install(store, index: snapshot.index)
            metrics.configReloads(result: "success").increment()
            logger.debug("configuration rebuilt from the cluster", metadata: ["policies": "\(store.allPolicies.count)"])
        }
        clusterTask.cancel()
        caObjects.stopAll()
        await clusterTask.value
    }

    /// What resolution reads: policy specs and precedence, Service addresses and ports, CA object data.
    static func fingerprint(_ store: StoreSnapshot, caObjects: [JSONValue]) -> Int {
        var hasher = Hasher()
        for policy in store.allPolicies {
            hasher.combine(policy.metadata.namespace)
            hasher.combine(policy.metadata.name)
            hasher.combine(policy.metadata.creationTimestamp)
            hasher.combine(policy.raw["apiVersion"])
            hasher.combine(policy.raw["spec"])
        }
        for service in store.allServices {
            hasher.combine(service.metadata.namespace)
            hasher.combine(service.metadata.name)
            hasher.combine(service.ports)
            hasher.combine(service.clusterIP)
            hasher.combine(service.externalName)
        }
        for object in caObjects {
            hasher.combine(object["kind"])
            hasher.combine(object["metadata"]?["name"])
            hasher.combine(object["data"])
            hasher.combine(object["binaryData"])
        }
        return hasher.finalize()
    }

    /// ConfigMaps and Secrets named by the namespace's policies, of the kinds this installation resolves.
    private func referencedCAObjects(_ store: StoreSnapshot) -> Set<CAObjectReference> {
        Set(
            store.policies(inNamespace: namespace).flatMap {
                $0.caObjectReferences(allowed: validation.allowedCACertificateRefKinds)
            })
    }
}

/// One watch per referenced CA object, started and stopped as policies come and go, and what they hold.
final class CAObjectWatches: Sendable {
    private struct Watch {
        var informer: Informer
        var task: Task<Void, Never>
        /// Changes from a stopped watch (cancelled mid-list) carry an old token and are ignored.
        var token: Int
    }

    private let watches = Mutex<(byReference: [CAObjectReference: Watch], nextToken: Int)>(([:], 0))
    private let held = Mutex<[String: JSONValue]>([:])

    var objects: [JSONValue] { held.withLock { held in held.keys.sorted().compactMap { held[$0] } } }

    /// `Kind/name` of the watches that have not listed yet.
    var unsynced: [String] {
        watches.withLock { $0.byReference.filter { !$0.value.informer.hasSynced }.map(\.key.key).sorted() }
    }

    /// Starts a watch (`start` makes its informer) for each reference in `wanted` without one, and stops the rest.
    func reconcile(wanted: Set<CAObjectReference>, start: (CAObjectReference, Int) -> Informer) {
        let stopped = watches.withLock { watches -> [CAObjectReference: Watch] in
            let stopped = watches.byReference.filter { !wanted.contains($0.key) }
            for reference in stopped.keys { watches.byReference[reference] = nil }
            return stopped
        }
        for (reference, watch) in stopped {
            watch.task.cancel()
            _ = held.withLock { $0.removeValue(forKey: reference.key) }
        }
        let missing = watches.withLock { watches in wanted.filter { watches.byReference[$0] == nil } }
        for reference in missing.sorted(by: { $0.key < $1.key }) {
            let token = watches.withLock { watches in
                watches.nextToken += 1
                return watches.nextToken
            }
            let informer = start(reference, token)
            // Registered before it runs, under the lock its first change waits for: never taken for a stopped one.
            watches.withLock {
                $0.byReference[reference] = Watch(informer: informer, task: Task { await informer.run() }, token: token)
            }
        }
    }

    func apply(_ change: Informer.Change, reference: CAObjectReference, token: Int) {
        guard watches.withLock({ $0.byReference[reference]?.token == token }) else { return }
        held.withLock { held in
            switch change {
            case .replaced(let objects): held[reference.key] = objects.first
            case .upserted(let object): held[reference.key] = object
            case .deleted: held[reference.key] = nil
            }
        }
    }

    func stopAll() {
        let all = watches.withLock { watches in
            defer { watches.byReference = [:] }
            return Array(watches.byReference.values)
        }
        for watch in all { watch.task.cancel() }
    }
}
