import Dispatch
import Synchronization

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The verdict for one checked object of a lint run.
public struct LintResult: Sendable, Hashable {
    public var object: ObjectReference
    public var source: String
    public var diagnostics: [Diagnostic]
    /// Defaults the mutating webhook would apply before validation.
    public var patch: [JSONPatchOperation]

    public var denied: Bool { diagnostics.contains(where: \.isError) }
}

/// Offline admission: every object of a set of manifests, judged as a CREATE against all the others.
///
/// The objects form the store (as if they were all in the cluster), and each BackendTLSPolicy, ConfigMap
/// and Secret goes through the same `AdmissionEvaluator` as the webhook. With `applyDefaults`, policies are
/// defaulted first, as the API server runs mutating webhooks before validation.
public struct Linter: Sendable {
    public var configuration: ValidationConfiguration
    public var now: Date
    public var applyDefaults: Bool
    public var defaultNamespace: String

    public init(
        configuration: ValidationConfiguration, now: Date, applyDefaults: Bool = true,
        defaultNamespace: String = "default"
    ) {
        self.configuration = configuration
        self.now = now
        self.applyDefaults = applyDefaults
        self.defaultNamespace = defaultNamespace
    }

    public func lint(_ inputs: [(object: JSONValue, source: String)]) -> [LintResult] {
        var prepared: [(object: JSONValue, source: String, patch: [JSONPatchOperation])] = []
        var store = StoreSnapshot()
        var results: [Int: LintResult] = [:]
        for input in inputs {
            var object = StoreSnapshot.withNamespace(input.object, defaultNamespace)
            var patch: [JSONPatchOperation] = []
            if applyDefaults { (object, patch) = PolicyDefaulter.defaulted(object) }
            if let failure = store.insert(object) {
                results[prepared.count] = LintResult(
                    object: failure.object, source: input.source, diagnostics: [failure], patch: [])
            }
            prepared.append((object, input.source, patch))
        }
        let evaluator = AdmissionEvaluator(configuration: configuration)
        let context = ValidationContext(store: store, now: now, configuration: configuration, operation: .create)
        let failures = results
        let items = prepared
        // Objects are judged independently against one immutable snapshot, so the work splits across cores;
        // each chunk is a contiguous range, and results are reassembled in input order.
        let chunkCount = items.count < 256 ? 1 : max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunkSize = (items.count + chunkCount - 1) / chunkCount
        let chunks = Mutex<[Int: [LintResult]]>([:])
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            var judged: [LintResult] = []
            for position in (chunk * chunkSize)..<min(items.count, (chunk + 1) * chunkSize) {
                if let failure = failures[position] {
                    judged.append(failure)
                    continue
                }
                let item = items[position]
                guard let request = Self.request(for: item.object) else { continue }
                let decision = evaluator.evaluate(request, endpoint: .validate, context: context)
                guard decision.handled else { continue }
                judged.append(
                    LintResult(
                        object: Self.reference(of: item.object), source: item.source,
                        diagnostics: decision.diagnostics, patch: item.patch))
            }
            chunks.withLock { $0[chunk] = judged }
        }
        return chunks.withLock { chunks in (0..<chunkCount).flatMap { chunks[$0] ?? [] } }
    }

    static func request(for object: JSONValue) -> AdmissionRequest? {
        guard let kind = object["kind"]?.stringValue, ["BackendTLSPolicy", "ConfigMap", "Secret"].contains(kind) else {
            return nil
        }
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let group = apiVersion.contains("/") ? String(apiVersion.prefix { $0 != "/" }) : ""
        let version = String(apiVersion.split(separator: "/").last ?? "")
        return AdmissionRequest(
            uid: "lint",
            kind: .init(group: group, version: version, kind: kind),
            resource: nil,
            subResource: nil,
            name: object["metadata"]?["name"]?.stringValue ?? "",
            namespace: object["metadata"]?["namespace"]?.stringValue ?? "",
            operation: .create,
            userInfo: .init(username: "backendtls-lint", groups: []),
            object: object,
            oldObject: nil,
            dryRun: true
        )
    }

    static func reference(of object: JSONValue) -> ObjectReference {
        ObjectReference(
            kind: object["kind"]?.stringValue ?? "",
            namespace: object["metadata"]?["namespace"]?.stringValue ?? "",
            name: object["metadata"]?["name"]?.stringValue ?? ""
        )
    }
}
