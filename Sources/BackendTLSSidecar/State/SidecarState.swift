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
    private let resolutions = Mutex<[ResolutionKey: Resolution]>([:])
    private let configuration: ValidationConfiguration
    private let inspector: CABundleInspector

    private struct ResolutionKey: Hashable {
        let generation: Int
        let namespace: String
        let service: String
        let port: ServicePortSelector
        /// Resolutions judge certificate validity; recompute at least once a minute.
        let minute: Int
    }

    public init(configuration: ValidationConfiguration) {
        self.configuration = configuration
        self.inspector = CABundleInspector(configuration: configuration.bundle)
    }

    /// `nil` until the first successful load (the sidecar answers 503 then).
    public var snapshot: Snapshot? { current.withLock { $0 } }

    public var isLoaded: Bool { snapshot != nil }

    public func install(_ store: StoreSnapshot) {
        current.withLock { current in
            current = Snapshot(
                generation: (current?.generation ?? 0) + 1, store: store,
                index: PolicyIndex(policies: store.allPolicies))
        }
        resolutions.withLock { $0.removeAll() }
    }

    /// Resolves through the library's `Resolver`, cached per configuration generation; returns the snapshot
    /// it resolved against, so callers never mix two generations.
    public func resolve(namespace: String, service: String, port: ServicePortSelector, now: Date = Date())
        -> (resolution: Resolution, snapshot: Snapshot)?
    {
        guard let snapshot else { return nil }
        let key = ResolutionKey(
            generation: snapshot.generation, namespace: namespace, service: service, port: port,
            minute: Int(now.timeIntervalSince1970 / 60))
        if let cached = resolutions.withLock({ $0[key] }) { return (cached, snapshot) }
        let context = ValidationContext(
            store: snapshot.store, now: now, configuration: configuration, inspector: inspector, index: snapshot.index)
        let resolution = Resolver(context: context).resolve(namespace: namespace, service: service, port: port)
        resolutions.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[key] = resolution
        }
        return (resolution, snapshot)
    }
}
