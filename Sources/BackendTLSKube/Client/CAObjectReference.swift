public import BackendTLS

/// A ConfigMap or Secret a policy names as a CA reference, in the policy's namespace.
public struct CAObjectReference: Sendable, Hashable {
    public var resource: KubeResource
    public var name: String

    public var groupKind: ValidationConfiguration.GroupKind { .init(group: "", kind: resource.kind) }
    /// `Kind/name`, for keys and messages.
    public var key: String { "\(resource.kind)/\(name)" }
}

extension BackendTLSPolicy {
    /// The CA objects the webhook and the sidecar may read for this policy: core ConfigMaps and Secrets of the
    /// allowed kinds, with names that can be objects' (anything else never reaches a URL), each once.
    public func caObjectReferences(allowed: Set<ValidationConfiguration.GroupKind>) -> [CAObjectReference] {
        var seen = Set<CAObjectReference>()
        return validation.caCertificateRefs.compactMap { ref in
            guard let kind = ref.kind, let name = ref.name, ref.effectiveGroup.isEmpty,
                allowed.contains(.init(group: "", kind: kind)), KubeResource.isValidObjectName(name)
            else { return nil }
            let reference: CAObjectReference
            switch kind {
            case "ConfigMap": reference = CAObjectReference(resource: .configMaps, name: name)
            case "Secret": reference = CAObjectReference(resource: .secrets, name: name)
            default: return nil
            }
            return seen.insert(reference).inserted ? reference : nil
        }
    }
}
