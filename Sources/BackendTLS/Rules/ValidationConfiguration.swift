/// How strictly to judge, and what this installation knows: a plain value, filled from flags by executables.
public struct ValidationConfiguration: Sendable, Hashable {
    /// A (group, kind) pair; `group` is empty for the core API group.
    public struct GroupKind: Sendable, Hashable, CustomStringConvertible {
        public var group: String
        public var kind: String

        public init(group: String = "", kind: String) {
            self.group = group
            self.kind = kind
        }

        /// Parses `Kind` (core) or `Kind.group`, the way kubectl spells resources.
        public init(parsing text: String) {
            if let dot = text.firstIndex(of: ".") {
                self.init(group: String(text[text.index(after: dot)...]), kind: String(text[..<dot]))
            } else {
                self.init(kind: text)
            }
        }

        public var description: String { group.isEmpty ? kind : "\(kind).\(group)" }

        public static let service = GroupKind(kind: "Service")
        public static let configMap = GroupKind(kind: "ConfigMap")
        public static let secret = GroupKind(kind: "Secret")
    }

    public var ruleSet: RuleSet
    public var enforcement: Enforcement
    public var release: GatewayAPIRelease
    /// Target kinds besides core Service that are expected (e.g. `ServiceImport.multicluster.x-k8s.io`).
    public var knownTargetKinds: Set<GroupKind>
    /// CA reference kinds this installation resolves; anything else is `InvalidKind`.
    public var allowedCACertificateRefKinds: Set<GroupKind>
    /// `wellKnownCACertificates` values this installation resolves.
    public var knownWellKnownCACertificates: Set<String>
    /// Unknown fields fail like `kubectl apply` with strict field validation (its default).
    public var rejectUnknownFields: Bool
    public var bundle: CABundleInspector.Configuration

    public init(
        ruleSet: RuleSet = .strict,
        enforcement: Enforcement = .deny,
        release: GatewayAPIRelease = .latest,
        knownTargetKinds: Set<GroupKind> = [],
        allowedCACertificateRefKinds: Set<GroupKind> = [.configMap, .secret],
        knownWellKnownCACertificates: Set<String> = ["System"],
        rejectUnknownFields: Bool = true,
        bundle: CABundleInspector.Configuration = .init()
    ) {
        self.ruleSet = ruleSet
        self.enforcement = enforcement
        self.release = release
        self.knownTargetKinds = knownTargetKinds
        self.allowedCACertificateRefKinds = allowedCACertificateRefKinds
        self.knownWellKnownCACertificates = knownWellKnownCACertificates
        self.rejectUnknownFields = rejectUnknownFields
        self.bundle = bundle
    }
}

/// Which rules run: the CRD's own, or the CRD's plus ours.
public enum RuleSet: String, Sendable, Hashable, CaseIterable, Codable {
    /// Exactly what the Gateway API CRD (OpenAPI + CEL) enforces for the served version.
    case upstream
    /// `upstream` plus cross-object and content checks (the default).
    case strict
}

/// What strict findings do: deny, or only warn (for clusters running Gateway API conformance).
public enum Enforcement: String, Sendable, Hashable, CaseIterable, Codable {
    case deny
    case warn
}
