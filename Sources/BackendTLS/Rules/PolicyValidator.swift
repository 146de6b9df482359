/// Judges one BackendTLSPolicy (any served version) against a context: the entry point for admission and lint.
public struct PolicyValidator: Sendable {
    public let rules: AllOf<BackendTLSPolicy>

    public init(ruleSet: RuleSet, enforcement: Enforcement) {
        self.rules = ruleSet.policyRules(enforcement: enforcement)
    }

    public init(configuration: ValidationConfiguration) {
        self.init(ruleSet: configuration.ruleSet, enforcement: configuration.enforcement)
    }

    /// Decodes and validates; an object that is not a BackendTLSPolicy of a served version is one error.
    public func validate(_ object: JSONValue, in context: ValidationContext) -> [Diagnostic] {
        do {
            let policy = try BackendTLSPolicy(json: object)
            return validate(policy, in: context)
        } catch {
            return [Diagnostic.malformed(object, kind: "BackendTLSPolicy", error)]
        }
    }

    public func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        rules.validate(policy, in: context)
    }
}

extension Diagnostic {
    /// The one error for an object that could not be read as the kind it must be.
    public static func malformed(_ object: JSONValue, kind: String, _ error: ModelDecodingError) -> Diagnostic {
        let metadata = object["metadata"]
        let reference = ObjectReference(
            kind: object["kind"]?.stringValue ?? kind,
            namespace: metadata?["namespace"]?.stringValue ?? "",
            name: metadata?["name"]?.stringValue ?? ""
        )
        return .error(.malformedObject, error.field, reference, error.expected)
    }
}
