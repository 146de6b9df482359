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
}

/// An immutable, in-memory `ObjectStore`: the CLI's files, a test's fixtures, the webhook's memory mode.
public struct StoreSnapshot: ObjectStore, Sendable {
    private var policiesByNamespace: [String: [BackendTLSPolicy]] = [:]
    private var configMaps: [String: ConfigMap] = [:]
    private var secrets: [String: Secret] = [:]
    private var services: [String: Service] = [:]

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

    /// Adds or replaces (by namespace and name) a policy.
    public mutating func insert(_ policy: BackendTLSPolicy) {
        var list = policiesByNamespace[policy.metadata.namespace, default: []]
        list.removeAll { $0.metadata.name == policy.metadata.name }
        list.append(policy)
        policiesByNamespace[policy.metadata.namespace] = list
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
        policiesByNamespace[namespace]?.removeAll { $0.metadata.name == name }
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

    public func policies(inNamespace namespace: String) -> [BackendTLSPolicy] {
        policiesByNamespace[namespace] ?? []
    }

    public func configMap(namespace: String, name: String) -> ConfigMap? { configMaps[Self.key(namespace, name)] }
    public func secret(namespace: String, name: String) -> Secret? { secrets[Self.key(namespace, name)] }
    public func service(namespace: String, name: String) -> Service? { services[Self.key(namespace, name)] }

    public var allPolicies: [BackendTLSPolicy] {
        policiesByNamespace.keys.sorted().flatMap { policiesByNamespace[$0] ?? [] }
    }

    public var allConfigMaps: [ConfigMap] { configMaps.keys.sorted().compactMap { configMaps[$0] } }
    public var allSecrets: [Secret] { secrets.keys.sorted().compactMap { secrets[$0] } }
    public var allServices: [Service] { services.keys.sorted().compactMap { services[$0] } }
}
