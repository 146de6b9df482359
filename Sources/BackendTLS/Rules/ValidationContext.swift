#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Everything a rule may read besides its subject. No rule reads a clock or a file: `now` is given.
public struct ValidationContext: Sendable {
    public enum Operation: String, Sendable, Hashable, Codable {
        case create = "CREATE"
        case update = "UPDATE"
        case delete = "DELETE"
        case connect = "CONNECT"
    }

    public var store: any ObjectStore
    public var now: Date
    public var configuration: ValidationConfiguration
    public var operation: Operation
    /// The object before an UPDATE or DELETE, when the caller has it.
    public var oldObject: JSONValue?
    public var inspector: CABundleInspector
    /// The conflict index over `store`; built once per snapshot and shared by every policy checked against it.
    public var index: PolicyIndex

    public init(
        store: any ObjectStore,
        now: Date,
        configuration: ValidationConfiguration = .init(),
        operation: Operation = .create,
        oldObject: JSONValue? = nil,
        inspector: CABundleInspector? = nil,
        index: PolicyIndex? = nil
    ) {
        self.store = store
        self.now = now
        self.configuration = configuration
        self.operation = operation
        self.oldObject = oldObject
        self.inspector = inspector ?? CABundleInspector(configuration: configuration.bundle)
        self.index = index ?? PolicyIndex(policies: store.allPolicies)
    }
}
