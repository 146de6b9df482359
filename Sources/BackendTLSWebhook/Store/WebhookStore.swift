public import BackendTLS
import Synchronization

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// What the admission handlers read: a consistent snapshot of the cluster objects the rules need.
///
/// The seam for `--store kubernetes` (BackendTLSKube); `MemoryObjectStore` is the embedded default.
public protocol WebhookStore: Sendable {
    /// A snapshot and the conflict index built over it; cheap to take on every request.
    func snapshot() -> (store: StoreSnapshot, index: PolicyIndex)
    /// Whether the store has its initial state (readiness).
    var isSynced: Bool { get }
    /// Called for every allowed, non-dry-run request, so a memory store can learn the cluster from admissions.
    func observe(admitted request: AdmissionRequest, now: Date)
    /// What `request` should be judged against. A store that must first fetch objects (the Kubernetes store
    /// gets referenced ConfigMaps on demand) answers `.pending`; the default is the current snapshot.
    func prepare(for request: AdmissionRequest) -> PreparedStore
    /// Why the store is not ready, for `/readyz` (nil when ready or unknown).
    var notReadyReason: String? { get }
}

/// The objects one request is judged against, and what the store could not vouch for.
public struct StoreView: Sendable {
    public var store: StoreSnapshot
    public var index: PolicyIndex
    /// Cross-object checks that could not be made (API server unreachable), as sentences for warnings.
    public var notices: [String]
    /// Whether notices deny (`--when-api-unavailable deny`) rather than warn.
    public var noticesDeny: Bool

    public init(store: StoreSnapshot, index: PolicyIndex, notices: [String] = [], noticesDeny: Bool = false) {
        self.store = store
        self.index = index
        self.notices = notices
        self.noticesDeny = noticesDeny
    }
}

public enum PreparedStore: Sendable {
    case ready(StoreView)
    /// Run off the event loop; bounded by the store's lookup timeout.
    case pending(@Sendable () async -> StoreView)
}

extension WebhookStore {
    public func prepare(for request: AdmissionRequest) -> PreparedStore {
        let snapshot = snapshot()
        return .ready(StoreView(store: snapshot.store, index: snapshot.index))
    }

    public var notReadyReason: String? { nil }
}

/// Learns objects from the admission requests it allows: enough for conflicts and references in a demo.
public final class MemoryObjectStore: WebhookStore {
    private let state = Mutex<(store: StoreSnapshot, index: PolicyIndex)>((StoreSnapshot(), PolicyIndex(policies: [])))

    public init(seed: StoreSnapshot = StoreSnapshot()) {
        state.withLock { $0 = (seed, PolicyIndex(policies: seed.allPolicies)) }
    }

    public func snapshot() -> (store: StoreSnapshot, index: PolicyIndex) { state.withLock { $0 } }

    public var isSynced: Bool { true }

    public func observe(admitted request: AdmissionRequest, now: Date) {
        guard !request.dryRun else { return }
        let namespace = request.namespace
        switch (request.kind.kind, request.operation) {
        case ("BackendTLSPolicy", .create), ("BackendTLSPolicy", .update):
            guard let object = request.object else { return }
            state.withLock { state in
                // The API server stamps creationTimestamp after admission; precedence needs it, so keep the first.
                let existing = state.store.policy(namespace: namespace, name: request.name)
                let stamped = Self.stamped(
                    object, namespace: namespace, created: existing?.metadata.creationTimestamp ?? now)
                // Re-admitting an unchanged policy (retries, no-op applies) changes nothing.
                guard existing?.raw != stamped, let policy = try? BackendTLSPolicy(json: stamped) else { return }
                state.store.insert(policy)
                state.index.insert(policy)
            }
        case ("BackendTLSPolicy", .delete):
            state.withLock { state in
                state.store.removePolicy(namespace: namespace, name: request.name)
                state.index.remove(namespace: namespace, name: request.name)
            }
        case ("ConfigMap", .delete):
            state.withLock { $0.store.removeConfigMap(namespace: namespace, name: request.name) }
        case ("Secret", .delete):
            state.withLock { $0.store.removeSecret(namespace: namespace, name: request.name) }
        case ("ConfigMap", _), ("Secret", _), ("Service", _):
            guard let object = request.object else { return }
            let stamped = Self.stamped(object, namespace: namespace, created: nil)
            state.withLock { _ = $0.store.insert(stamped, defaultNamespace: namespace) }
        default:
            return
        }
    }

    static func stamped(_ object: JSONValue, namespace: String, created: Date?) -> JSONValue {
        guard case .object(var root) = object else { return object }
        var metadata = root["metadata"]?.objectValue ?? JSONObject()
        if !namespace.isEmpty { metadata["namespace"] = .string(namespace) }
        if let created { metadata["creationTimestamp"] = .string(RFC3339.format(created)) }
        root["metadata"] = .object(metadata)
        return .object(root)
    }
}
