public import BackendTLS
import Synchronization

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The configuration in force: a store snapshot, its index, and a generation that changes on every load,
/// so resolutions and pooled connections made under older settings are recognised and dropped.
public final class SidecarState: Sendable {
    public struct Snapshot: Sendable {
        public var generation: Int
        public var store: StoreSnapshot
        public var index: PolicyIndex
    }

    private let current = Mutex<Snapshot?>(nil)
    /// The generation in force, readable without the lock: connections check on every request that what
    /// they resolved earlier still belongs to the configuration in force.
    private let currentGeneration = Atomic<Int>(0)
    private let resolutions = Mutex<[ResolutionKey: Resolution]>([:])
    private let configuration: ValidationConfiguration
    private let inspector: CABundleInspector
    /// The one namespace whose policies the configuration holds (`--kube` watches only the pod's), or nil when it
    /// holds every namespace's (a config directory is the whole configuration). A Service elsewhere is refused:
    /// without its namespace's policies, "no policy" would mean "not watched", and plaintext.
    public let onlyNamespace: String?

    private struct ResolutionKey: Hashable {
        let generation: Int
        let namespace: String
        let service: String
        let port: ServicePortSelector
        /// Resolutions judge certificate validity; recompute at least once a minute.
        let minute: Int
    }

    public init(configuration: ValidationConfiguration, onlyNamespace: String? = nil) {
        self.configuration = configuration
        self.onlyNamespace = onlyNamespace
        self.inspector = CABundleInspector(configuration: configuration.bundle)
    }

    /// `nil` until the first successful load (the sidecar answers 503 then).
    public var snapshot: Snapshot? { current.withLock { $0 } }

    public var isLoaded: Bool { snapshot != nil }

    /// The generation of the configuration in force; 0 before the first load.
    public var generation: Int { currentGeneration.load(ordering: .acquiring) }

    /// - Parameter index: the policies' index when the caller keeps one up to date; built here otherwise.
    public func install(_ store: StoreSnapshot, index: PolicyIndex? = nil) {
        let index = index ?? PolicyIndex(policies: store.allPolicies)
        current.withLock { current in
            let installed = Snapshot(generation: (current?.generation ?? 0) + 1, store: store, index: index)
            current = installed
            currentGeneration.store(installed.generation, ordering: .releasing)
        }
        resolutions.withLock { $0.removeAll() }
    }

    /// Resolves through the library's `Resolver`, cached per configuration generation; returns the snapshot
    /// it resolved against, so callers never mix two generations, and whether the resolution was computed
    /// now rather than taken from the cache (what depends on it only changes then).
    public func resolve(namespace: String, service: String, port: ServicePortSelector, now: Date = Date())
        -> (resolution: Resolution, snapshot: Snapshot, fresh: Bool)?
    {
        guard let snapshot else { return nil }
        let key = ResolutionKey(
            generation: snapshot.generation, namespace: namespace, service: service, port: port,
            minute: Int(now.timeIntervalSince1970 / 60))
        if let cached = resolutions.withLock({ $0[key] }) { return (cached, snapshot, false) }
        let context = ValidationContext(
            store: snapshot.store, now: now, configuration: configuration, inspector: inspector, index: snapshot.index)
        let resolution = Resolver(context: context).resolve(namespace: namespace, service: service, port: port)
        resolutions.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[key] = resolution
        }
        return (resolution, snapshot, true)
    }
}
