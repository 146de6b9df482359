/// The served versions of BackendTLSPolicy, and where each keeps its fields.
///
/// v1alpha2 (Gateway API v1.0.0) spelled everything differently (`spec.targetRef`, `spec.tls.caCertRefs`);
/// messages and JSON Patches must use the spelling of the version the user wrote.
public enum BackendTLSPolicyVersion: String, Sendable, Hashable, CaseIterable, Codable {
    case v1
    case v1alpha3
    case v1alpha2

    public static let group = "gateway.networking.k8s.io"

    public var apiVersion: String { "\(Self.group)/\(rawValue)" }

    public init?(apiVersion: String) {
        guard apiVersion.hasPrefix(Self.group + "/") else { return nil }
        self.init(rawValue: String(apiVersion.dropFirst(Self.group.count + 1)))
    }

    public var paths: BackendTLSPolicyFieldPaths { BackendTLSPolicyFieldPaths(version: self) }
}

/// Field paths of a BackendTLSPolicy in one version, in Kubernetes notation and as JSON Pointers.
public struct BackendTLSPolicyFieldPaths: Sendable, Hashable {
    public let version: BackendTLSPolicyVersion

    private var legacy: Bool { version == .v1alpha2 }

    /// `spec.targetRefs` (or v1alpha2's single `spec.targetRef`).
    public var targetRefs: String { legacy ? "spec.targetRef" : "spec.targetRefs" }
    public func targetRef(_ index: Int) -> String { legacy ? "spec.targetRef" : "spec.targetRefs[\(index)]" }
    public var validation: String { legacy ? "spec.tls" : "spec.validation" }
    public var caCertificateRefs: String { legacy ? "spec.tls.caCertRefs" : "spec.validation.caCertificateRefs" }
    public func caCertificateRef(_ index: Int) -> String { "\(caCertificateRefs)[\(index)]" }
    public var wellKnownCACertificates: String {
        legacy ? "spec.tls.wellKnownCACerts" : "spec.validation.wellKnownCACertificates"
    }
    public var hostname: String { "\(validation).hostname" }
    public var subjectAltNames: String { "spec.validation.subjectAltNames" }
    public func subjectAltName(_ index: Int) -> String { "\(subjectAltNames)[\(index)]" }
    public var options: String { "spec.options" }
    public func option(_ key: String) -> String { "spec.options[\(key)]" }

    // JSON Pointers (RFC 6901) for patches.
    public func targetRefPointer(_ index: Int) -> JSONPointer {
        legacy ? ["spec", "targetRef"] : ["spec", "targetRefs", String(index)]
    }
    public func caCertificateRefPointer(_ index: Int) -> JSONPointer {
        legacy
            ? ["spec", "tls", "caCertRefs", String(index)] : ["spec", "validation", "caCertificateRefs", String(index)]
    }
    public var hostnamePointer: JSONPointer {
        legacy ? ["spec", "tls", "hostname"] : ["spec", "validation", "hostname"]
    }
}
