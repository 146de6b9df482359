#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a policy attaches to: one target, with or without a section (port name).
///
/// Two policies conflict exactly when they share a key (spec §8); a whole-Service key and a sectioned key
/// on the same Service do not conflict.
public struct PolicyTargetKey: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var group: String
    public var kind: String
    public var name: String
    public var sectionName: String?

    public init(namespace: String, group: String, kind: String, name: String, sectionName: String?) {
        self.namespace = namespace
        self.group = group
        self.kind = kind
        self.name = name
        self.sectionName = sectionName
    }

    public var description: String {
        let kindText = group.isEmpty ? kind : "\(kind).\(group)"
        let section = sectionName.map { " sectionName \(GoQuoting.quote($0))" } ?? " (whole object)"
        return "\(kindText) \(namespace)/\(name)\(section)"
    }
}

extension BackendTLSPolicy {
    /// One key per target reference that names something; index-aligned with `targetRefs`.
    public var targetKeys: [PolicyTargetKey?] {
        targetRefs.map { ref in
            guard let name = ref.name, !name.isEmpty else { return nil }
            return PolicyTargetKey(
                namespace: ref.namespace ?? metadata.namespace,
                group: ref.group ?? "",
                kind: ref.kind ?? "",
                name: name,
                sectionName: ref.effectiveSectionName
            )
        }
    }
}

/// Policies grouped by target, each group ordered by precedence (spec §8, GEP-713 "None" merge).
///
/// Built once per store snapshot: conflict checks and resolution are then lookups, which keeps linting
/// 10,000 policies linear instead of quadratic.
public struct PolicyIndex: Sendable {
    private var byTarget: [PolicyTargetKey: [BackendTLSPolicy]] = [:]
    /// `namespace/name` → the keys the policy is filed under, for incremental updates.
    private var keysByPolicy: [String: Set<PolicyTargetKey>] = [:]

    public init(policies: [BackendTLSPolicy]) {
        for policy in policies {
            let keys = Set(policy.targetKeys.compactMap { $0 })
            for key in keys {
                byTarget[key, default: []].append(policy)
            }
            keysByPolicy["\(policy.metadata.namespace)/\(policy.metadata.name)"] = keys
        }
        for key in byTarget.keys { byTarget[key]?.sort(by: Self.precedes) }
    }

    /// Adds or replaces (by namespace and name) one policy, touching only its targets: a store that learns
    /// one object per admission request must not rebuild the whole index each time.
    public mutating func insert(_ policy: BackendTLSPolicy) {
        let id = "\(policy.metadata.namespace)/\(policy.metadata.name)"
        remove(namespace: policy.metadata.namespace, name: policy.metadata.name)
        let keys = Set(policy.targetKeys.compactMap { $0 })
        for key in keys {
            var list = byTarget[key, default: []]
            let position = list.firstIndex { Self.precedes(policy, $0) } ?? list.endIndex
            list.insert(policy, at: position)
            byTarget[key] = list
        }
        keysByPolicy[id] = keys
    }

    public mutating func remove(namespace: String, name: String) {
        guard let keys = keysByPolicy.removeValue(forKey: "\(namespace)/\(name)") else { return }
        for key in keys {
            let remaining = (byTarget[key] ?? []).filter {
                $0.metadata.namespace != namespace || $0.metadata.name != name
            }
            byTarget[key] = remaining.isEmpty ? nil : remaining
        }
    }

    /// Every target that some policy attaches to.
    public var keys: Dictionary<PolicyTargetKey, [BackendTLSPolicy]>.Keys { byTarget.keys }

    /// Policies attached to `key`, the one that takes precedence first.
    public func policies(for key: PolicyTargetKey) -> [BackendTLSPolicy] { byTarget[key] ?? [] }

    public func winner(for key: PolicyTargetKey) -> BackendTLSPolicy? { byTarget[key]?.first }

    /// Whether `policy` loses `key` to another policy, and to which.
    public func conflict(for policy: BackendTLSPolicy, on key: PolicyTargetKey) -> BackendTLSPolicy? {
        policies(for: key).first { other in !Self.isSameObject(other, policy) && Self.precedes(other, policy) }
    }

    /// Every policy of the target that `policy` would take precedence over.
    public func displaced(by policy: BackendTLSPolicy, on key: PolicyTargetKey) -> [BackendTLSPolicy] {
        policies(for: key).filter { other in !Self.isSameObject(other, policy) && Self.precedes(policy, other) }
    }

    /// The older policy wins; on equal timestamps, the first by `namespace/name`. A policy not yet created
    /// (an admission CREATE carries no timestamp) counts as newer than every existing one.
    public static func precedes(_ lhs: BackendTLSPolicy, _ rhs: BackendTLSPolicy) -> Bool {
        let left = lhs.metadata.creationTimestamp ?? .distantFuture
        let right = rhs.metadata.creationTimestamp ?? .distantFuture
        if left != right { return left < right }
        // Alphabetical by `namespace/name`; comparing names directly is the same order within a namespace.
        if lhs.metadata.namespace == rhs.metadata.namespace { return lhs.metadata.name < rhs.metadata.name }
        return lhs.reference.namespacedName < rhs.reference.namespacedName
    }

    static func isSameObject(_ lhs: BackendTLSPolicy, _ rhs: BackendTLSPolicy) -> Bool {
        lhs.metadata.namespace == rhs.metadata.namespace && lhs.metadata.name == rhs.metadata.name
    }
}
