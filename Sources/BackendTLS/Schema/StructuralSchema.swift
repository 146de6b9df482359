/// The subset of an OpenAPI v3 structural schema that the BackendTLSPolicy CRDs use.
///
/// Each served version's schema is written down as a value of this type (`BackendTLSPolicySchema`), and one
/// walker (`SchemaValidator`) applies it the way the API server does. Keeping the CRD as data keeps the
/// per-version differences in one place and makes parity reviewable line by line against the YAML.
public indirect enum SchemaNode: Sendable {
    case object(ObjectSchema)
    case array(ArraySchema)
    case string(StringSchema)
    /// An object with free-form keys and string values (`spec.options`).
    case stringMap(StringMapSchema)
    /// A subtree the validator does not descend into (`status`, `metadata`).
    case opaque
}

public struct ObjectSchema: Sendable {
    public var properties: [(name: String, schema: SchemaNode)]
    public var required: [String]
    public var rules: [CELRule]

    public init(properties: [(name: String, schema: SchemaNode)], required: [String] = [], rules: [CELRule] = []) {
        self.properties = properties
        self.required = required
        self.rules = rules
    }
}

public struct ArraySchema: Sendable {
    public var items: SchemaNode
    public var minItems: Int?
    public var maxItems: Int?
    public var rules: [CELRule]

    public init(items: SchemaNode, minItems: Int? = nil, maxItems: Int? = nil, rules: [CELRule] = []) {
        self.items = items
        self.minItems = minItems
        self.maxItems = maxItems
        self.rules = rules
    }
}

public struct StringSchema: Sendable {
    public var minLength: Int?
    public var maxLength: Int?
    public var pattern: SchemaPattern?
    public var allowedValues: [String]?

    public init(
        minLength: Int? = nil,
        maxLength: Int? = nil,
        pattern: SchemaPattern? = nil,
        allowedValues: [String]? = nil
    ) {
        self.minLength = minLength
        self.maxLength = maxLength
        self.pattern = pattern
        self.allowedValues = allowedValues
    }
}

public struct StringMapSchema: Sendable {
    public var values: StringSchema
    public var maxProperties: Int?

    public init(values: StringSchema, maxProperties: Int? = nil) {
        self.values = values
        self.maxProperties = maxProperties
    }
}

/// An `x-kubernetes-validations` rule: its message, and its expression translated to Swift.
///
/// The CEL text is kept for documentation and review; `holds` is the faithful Swift translation.
public struct CELRule: Sendable {
    public let rule: String
    public let message: String
    public let holds: @Sendable (JSONValue) -> Bool

    public init(rule: String, message: String, holds: @escaping @Sendable (JSONValue) -> Bool) {
        self.rule = rule
        self.message = message
        self.holds = holds
    }
}
