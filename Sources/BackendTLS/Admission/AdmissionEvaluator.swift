#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What to answer, before rendering: the findings, any patch, and whether the kind was ours to judge.
public struct AdmissionDecision: Sendable, Hashable {
    public var diagnostics: [Diagnostic]
    public var patch: [JSONPatchOperation]
    /// `false` for kinds and operations we do not judge: they are allowed and counted, never denied.
    public var handled: Bool

    public init(diagnostics: [Diagnostic] = [], patch: [JSONPatchOperation] = [], handled: Bool) {
        self.diagnostics = diagnostics
        self.patch = patch
        self.handled = handled
    }

    public var allowed: Bool { !diagnostics.contains(where: \.isError) }
}

/// Decides admission requests: the webhook's handlers and the CLI both call this, so they cannot disagree.
public struct AdmissionEvaluator: Sendable {
    public enum Endpoint: String, Sendable, Hashable {
        case validate
        case mutate
    }

    /// The namespace controller deletes everything in a terminating namespace; it must never be blocked.
    public static let namespaceControllerUsername = "system:serviceaccount:kube-system:namespace-controller"

    public let configuration: ValidationConfiguration
    private let validator: PolicyValidator
    private let caObjectRules: AllOf<CAObjectGuard.Subject>

    public init(configuration: ValidationConfiguration) {
        self.configuration = configuration
        self.validator = PolicyValidator(configuration: configuration)
        self.caObjectRules = configuration.ruleSet.caObjectRules(enforcement: configuration.enforcement)
    }

    /// - Parameters:
    ///   - context: the store, clock and configuration; its operation and old object are taken from `request`.
    public func evaluate(
        _ request: AdmissionRequest,
        endpoint: Endpoint,
        context: ValidationContext,
        namespaceTerminating: Bool = false
    ) -> AdmissionDecision {
        var context = context
        context.operation = request.operation
        context.oldObject = request.oldObject.map { Self.namespaced($0, request) }
        var request = request
        // Objects created without metadata.namespace belong to the request's namespace.
        request.object = request.object.map { Self.namespaced($0, request) }
        request.oldObject = context.oldObject
        if request.userInfo.username == Self.namespaceControllerUsername || namespaceTerminating {
            return AdmissionDecision(handled: true)
        }
        switch (request.kind.group, request.kind.kind) {
        case (BackendTLSPolicyVersion.group, "BackendTLSPolicy"):
            guard request.operation == .create || request.operation == .update, let object = request.object else {
                return AdmissionDecision(handled: false)
            }
            if endpoint == .mutate {
                return AdmissionDecision(patch: PolicyDefaulter.operations(for: object), handled: true)
            }
            var diagnostics = validator.validate(object, in: context)
            if Self.isHousekeeping(request) {
                // Finalizer removal, label edits or a deleting object must never be blocked by findings
                // that were already true before (DESIGN: never block cluster housekeeping).
                diagnostics = diagnostics.map { $0.with(severity: .warning) }
            }
            return AdmissionDecision(diagnostics: diagnostics, handled: true)
        case ("", "ConfigMap"), ("", "Secret"):
            guard endpoint == .validate, request.operation != .connect else { return AdmissionDecision(handled: false) }
            guard let object = request.operation == .delete ? request.oldObject : request.object else {
                return AdmissionDecision(handled: true)
            }
            return AdmissionDecision(diagnostics: validateCAObject(object, in: context), handled: true)
        default:
            return AdmissionDecision(handled: false)
        }
    }

    /// An UPDATE of an object being deleted, or one that leaves `spec` as it was.
    static func isHousekeeping(_ request: AdmissionRequest) -> Bool {
        guard request.operation == .update, let object = request.object else { return false }
        if object["metadata"]?["deletionTimestamp"] != nil { return true }
        guard let old = request.oldObject else { return false }
        return old["spec"] == object["spec"]
    }

    static func namespaced(_ object: JSONValue, _ request: AdmissionRequest) -> JSONValue {
        request.namespace.isEmpty ? object : StoreSnapshot.withNamespace(object, request.namespace)
    }

    /// Checks a ConfigMap or Secret write (CREATE/UPDATE: the new object; DELETE: the old one).
    public func validateCAObject(_ object: JSONValue, in context: ValidationContext) -> [Diagnostic] {
        let subject: CAObjectGuard.Subject
        do {
            switch object["kind"]?.stringValue {
            case "Secret": subject = .init(try Secret(json: object))
            default: subject = .init(try ConfigMap(json: object))
            }
        } catch {
            return [Diagnostic.malformed(object, kind: object["kind"]?.stringValue ?? "ConfigMap", error)]
        }
        return caObjectRules.validate(subject, in: context)
    }
}
