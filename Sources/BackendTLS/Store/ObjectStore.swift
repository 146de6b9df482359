/// What the rules may know about the cluster: policies, Services, ConfigMaps and Secrets.
///
/// Synchronous on purpose: rules are pure functions of a snapshot. A store backed by the API server
/// (BackendTLSKube) fetches what a request needs first, then hands the rules a snapshot.
public protocol ObjectStore: Sendable {
    func policies(inNamespace namespace: String) -> [BackendTLSPolicy]
    func configMap(namespace: String, name: String) -> ConfigMap?
    func secret(namespace: String, name: String) -> Secret?
    func service(namespace: String, name: String) -> Service?
    /// Every policy, for indexes that span namespaces.
    var allPolicies: [BackendTLSPolicy] { get }
    /// Policies whose `caCertificateRefs` name this object (the ConfigMap/Secret guards ask per write).
    func policies(referencing kind: ValidationConfiguration.GroupKind, namespace: String, name: String)
        -> [BackendTLSPolicy]
    /// Why an object that is absent here could not be looked up (the API server did not answer), so rules say
    /// "not checked" instead of "not found". `nil`: absent means absent.
    func lookupFailure(_ kind: ValidationConfiguration.GroupKind, namespace: String, name: String) -> LookupFailure?
}

/// An object a rule needed but the store could not fetch in time.
public struct LookupFailure: Sendable, Hashable {
    /// What went wrong, e.g. "GET /api/v1/namespaces/a/configmaps/b: no answer within 2 seconds".
    public var message: String
    /// Deny instead of warning (`--when-api-unavailable deny`).
    public var deny: Bool

    public init(message: String, deny: Bool) {
        self.message = message
        self.deny = deny
    }
}

extension ObjectStore {
    public func lookupFailure(_ kind: ValidationConfiguration.GroupKind, namespace: String, name: String)
        -> LookupFailure?
    {
        nil
    }

    public func policies(referencing kind: ValidationConfiguration.GroupKind, namespace: String, name: String)
        -> [BackendTLSPolicy]
    {
        policies(inNamespace: namespace).filter { $0.references(kind, name: name) }
    }
}

extension BackendTLSPolicy {
    /// Whether one of `caCertificateRefs` names this object (group defaults to core).
    public func references(_ kind: ValidationConfiguration.GroupKind, name: String) -> Bool {
        validation.caCertificateRefs.contains {
            $0.effectiveGroup == kind.group && $0.kind == kind.kind && $0.name == name
        }
    }
}

/// An immutable, in-memory `ObjectStore`: the CLI's files, a test's fixtures, the webhook's memory mode.
public struct StoreSnapshot: ObjectStore, Sendable {
    private var policiesByNamespace: [String: [String: BackendTLSPolicy]] = [:]
    /// `Kind/namespace/name` of a CA object → names of the policies referencing it; keeps guards O(1).
    private var caReferences: [String: Set<String>] = [:]
    private var configMaps: [String: ConfigMap] = [:]
    private var secrets: [String: Secret] = [:]
    private var services: [String: Service] = [:]
    private var lookupFailures: [String: LookupFailure] = [:]

    public init() {}

    public init(
        policies: [BackendTLSPolicy] = [],
        configMaps: [ConfigMap] = [],
        secrets: [Secret] = [],
        services: [Service] = []
    ) {
        for policy in policies { insert(policy) }
        for configMap in configMaps { insert(configMap) }
        for secret in secrets { insert(secret) }
        for service in services { insert(service) }
    }

    private static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }

    private static func referenceKey(_ kind: ValidationConfiguration.GroupKind, _ namespace: String, _ name: String)
        -> String
    {
        "\(kind)/\(namespace)/\(name)"
    }

    /// Adds or replaces (by namespace and name) a policy.
    public mutating func insert(_ policy: BackendTLSPolicy) {
        let namespace = policy.metadata.namespace
        removePolicy(namespace: namespace, name: policy.metadata.name)
        policiesByNamespace[namespace, default: [:]][policy.metadata.name] = policy
        for ref in policy.validation.caCertificateRefs {
            guard let kind = ref.kind, let name = ref.name else { continue }
            let key = Self.referenceKey(.init(group: ref.effectiveGroup, kind: kind), namespace, name)
            caReferences[key, default: []].insert(policy.metadata.name)
        }
    }

    public mutating func insert(_ configMap: ConfigMap) {
        configMaps[Self.key(configMap.metadata.namespace, configMap.metadata.name)] = configMap
    }

    public mutating func insert(_ secret: Secret) {
        secrets[Self.key(secret.metadata.namespace, secret.metadata.name)] = secret
    }

    public mutating func insert(_ service: Service) {
        services[Self.key(service.metadata.namespace, service.metadata.name)] = service
    }

    public mutating func removePolicy(namespace: String, name: String) {
        guard let old = policiesByNamespace[namespace]?.removeValue(forKey: name) else { return }
        for ref in old.validation.caCertificateRefs {
            guard let kind = ref.kind, let refName = ref.name else { continue }
            caReferences[Self.referenceKey(.init(group: ref.effectiveGroup, kind: kind), namespace, refName)]?.remove(
                name)
        }
    }

    public mutating func removeConfigMap(namespace: String, name: String) {
        configMaps[Self.key(namespace, name)] = nil
    }

    public mutating func removeSecret(namespace: String, name: String) {
        secrets[Self.key(namespace, name)] = nil
    }

    public mutating func removeService(namespace: String, name: String) {
        services[Self.key(namespace, name)] = nil
    }

    public func policy(namespace: String, name: String) -> BackendTLSPolicy? {
        policiesByNamespace[namespace]?[name]
    }

    /// Sorted by name, so every caller sees one order.
    public func policies(inNamespace namespace: String) -> [BackendTLSPolicy] {
        guard let byName = policiesByNamespace[namespace] else { return [] }
        return byName.keys.sorted().compactMap { byName[$0] }
    }

    public func policies(referencing kind: ValidationConfiguration.GroupKind, namespace: String, name: String)
        -> [BackendTLSPolicy]
    {
        let names = caReferences[Self.referenceKey(kind, namespace, name)] ?? []
        return names.sorted().compactMap { policiesByNamespace[namespace]?[$0] }
    }

    /// Records that an object could not be fetched; rules then report it as unchecked rather than absent.
    public mutating func recordLookupFailure(
        _ failure: LookupFailure, _ kind: ValidationConfiguration.GroupKind, namespace: String, name: String
    ) {
        lookupFailures[Self.referenceKey(kind, namespace, name)] = failure
    }

    public func lookupFailure(_ kind: ValidationConfiguration.GroupKind, namespace: String, name: String)
        -> LookupFailure?
    {
        lookupFailures.isEmpty ? nil : lookupFailures[Self.referenceKey(kind, namespace, name)]
    }

    public func configMap(namespace: String, name: String) -> ConfigMap? { configMaps[Self.key(namespace, name)] }
    public func secret(namespace: String, name: String) -> Secret? { secrets[Self.key(namespace, name)] }
    public func service(namespace: String, name: String) -> Service? { services[Self.key(namespace, name)] }

    public var allPolicies: [BackendTLSPolicy] {
        policiesByNamespace.keys.sorted().flatMap { policies(inNamespace: $0) }
    }

    public var allConfigMaps: [ConfigMap] { configMaps.keys.sorted().compactMap { configMaps[$0] } }
    public var allSecrets: [Secret] { secrets.keys.sorted().compactMap { secrets[$0] } }
    public var allServices: [Service] { services.keys.sorted().compactMap { services[$0] } }
}
