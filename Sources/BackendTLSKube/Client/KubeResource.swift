public import BackendTLS

/// A resource the client reads, with the paths the API server serves it under.
public struct KubeResource: Sendable, Hashable, CustomStringConvertible {
    /// Empty for the core group (`/api/v1`).
    public var group: String
    public var version: String
    public var plural: String
    public var kind: String

    public init(group: String, version: String, plural: String, kind: String) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
    }

    public static let services = KubeResource(group: "", version: "v1", plural: "services", kind: "Service")
    public static let configMaps = KubeResource(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap")
    public static let secrets = KubeResource(group: "", version: "v1", plural: "secrets", kind: "Secret")

    public static func backendTLSPolicies(version: String) -> KubeResource {
        KubeResource(
            group: BackendTLSPolicyVersion.group, version: version, plural: "backendtlspolicies",
            kind: "BackendTLSPolicy")
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// The collection (`name == nil`) or one object, in one namespace or (`namespace == nil`) all of them.
    public func path(namespace: String?, name: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if let namespace { path += "/namespaces/\(namespace)" }
        path += "/\(plural)"
        if let name { path += "/\(name)" }
        return path
    }

    /// Whether `name` can name a ConfigMap, Secret or Service (a DNS-1123 subdomain). Names from policies are
    /// user input: anything else never reaches a URL or a field selector.
    public static func isValidObjectName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        guard alphanumeric(bytes.first!), alphanumeric(bytes.last!) else { return false }
        return bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// The object with this resource's kind and apiVersion where it lacks them (list items carry neither);
    /// the store dispatches on `kind`.
    public func stamped(_ object: JSONValue) -> JSONValue {
        guard case .object(var root) = object else { return object }
        if root["kind"] == nil { root["kind"] = .string(kind) }
        if root["apiVersion"] == nil { root["apiVersion"] = .string(apiVersion) }
        return .object(root)
    }

    /// The metric label: the plural name, stable across versions.
    public var description: String { plural }
}
