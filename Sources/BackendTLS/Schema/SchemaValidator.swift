/// Applies a `SchemaNode` to a JSON value the way `kube-openapi` and `apiextensions-apiserver` do.
///
/// Behaviours reproduced (spec §3): one error per string node in the order maxLength, minLength, pattern;
/// lengths in Unicode code points; `enum` as its own check; `null` members treated as absent (structural
/// pruning); and blocking error types (Required, NotSupported, TooLong, TooMany, TypeInvalid) suppressing
/// every CEL rule of the object, with the API server's extra `<nil>` line.
public struct SchemaValidator: Sendable {
    public struct Outcome: Sendable {
        public var diagnostics: [Diagnostic]
        /// Paths of members the schema does not know; the API server prunes them, or fails under strict validation.
        public var unknownFields: [String]
    }

    private let errors: FieldErrors

    public init(object: ObjectReference) {
        self.errors = FieldErrors(object: object)
    }

    public func validate(_ value: JSONValue, against schema: SchemaNode, at path: String) -> Outcome {
        var walk = Walk(errors: errors)
        walk.visit(value, schema, path)
        var diagnostics = walk.diagnostics
        if walk.blocked {
            if !walk.pendingRules.isEmpty { diagnostics.append(errors.celSkipped()) }
        } else {
            for pending in walk.pendingRules where !pending.rule.holds(pending.value) {
                diagnostics.append(errors.cel(pending.path, nodeType: pending.value.typeName, pending.rule.message))
            }
        }
        return Outcome(diagnostics: diagnostics, unknownFields: walk.unknownFields)
    }
}

private struct Walk {
    struct PendingRule {
        let rule: CELRule
        let value: JSONValue
        let path: String
    }

    let errors: FieldErrors
    var diagnostics: [Diagnostic] = []
    var unknownFields: [String] = []
    var pendingRules: [PendingRule] = []
    var blocked = false

    mutating func block(_ diagnostic: Diagnostic) {
        blocked = true
        diagnostics.append(diagnostic)
    }

    mutating func visit(_ value: JSONValue, _ schema: SchemaNode, _ path: String) {
        switch schema {
        case .opaque: return
        case .object(let object): visitObject(value, object, path)
        case .array(let array): visitArray(value, array, path)
        case .string(let string): visitString(value, string, path)
        case .stringMap(let map): visitMap(value, map, path)
        }
    }

    mutating func visitObject(_ value: JSONValue, _ schema: ObjectSchema, _ path: String) {
        guard case .object(let object) = value else {
            return block(errors.typeInvalid(path, expected: "object", actual: value.typeName))
        }
        for name in schema.required where isAbsent(object[name]) {
            block(errors.required(join(path, name)))
        }
        for (name, child) in schema.properties {
            guard let member = object[name], member != .null else { continue }
            visit(member, child, join(path, name))
        }
        for key in object.keys where !schema.properties.contains(where: { $0.name == key }) {
            unknownFields.append(join(path, key))
        }
        for rule in schema.rules { pendingRules.append(PendingRule(rule: rule, value: value, path: path)) }
    }

    mutating func visitArray(_ value: JSONValue, _ schema: ArraySchema, _ path: String) {
        guard case .array(let elements) = value else {
            return block(errors.typeInvalid(path, expected: "array", actual: value.typeName))
        }
        if let maxItems = schema.maxItems, elements.count > maxItems {
            block(errors.tooMany(path, count: elements.count, limit: maxItems))
        }
        if let minItems = schema.minItems, elements.count < minItems {
            diagnostics.append(
                errors.invalid(
                    path, value: String(elements.count), "\(path) in body should have at least \(minItems) items")
            )
        }
        for (index, element) in elements.enumerated() {
            let elementPath = "\(path)[\(index)]"
            if element == .null {
                block(errors.typeInvalid(elementPath, expected: schema.items.typeName, actual: "null"))
                continue
            }
            visit(element, schema.items, elementPath)
        }
        for rule in schema.rules { pendingRules.append(PendingRule(rule: rule, value: value, path: path)) }
    }

    mutating func visitString(_ value: JSONValue, _ schema: StringSchema, _ path: String) {
        guard case .string(let text) = value else {
            return block(errors.typeInvalid(path, expected: "string", actual: value.typeName))
        }
        checkString(text, schema, path)
    }

    mutating func checkString(_ text: String, _ schema: StringSchema, _ path: String) {
        if let allowed = schema.allowedValues, !allowed.contains(text) {
            block(errors.notSupported(path, value: text, supported: allowed))
        }
        // kube-openapi's stringValidator returns at the first failure: maxLength, minLength, then pattern.
        let length = text.unicodeScalars.count
        if let maxLength = schema.maxLength, length > maxLength {
            return block(errors.tooLong(path, limit: maxLength))
        }
        if let minLength = schema.minLength, length < minLength {
            return diagnostics.append(
                errors.invalid(path, string: text, "\(path) in body should be at least \(minLength) chars long")
            )
        }
        if let pattern = schema.pattern, !pattern.matches(text) {
            diagnostics.append(
                errors.invalid(path, string: text, "\(path) in body should match '\(pattern.expression)'"))
        }
    }

    mutating func visitMap(_ value: JSONValue, _ schema: StringMapSchema, _ path: String) {
        guard case .object(let object) = value else {
            return block(errors.typeInvalid(path, expected: "object", actual: value.typeName))
        }
        if let maxProperties = schema.maxProperties, object.count > maxProperties {
            block(errors.tooMany(path, count: object.count, limit: maxProperties))
        }
        for member in object.members where member.value != .null {
            let memberPath = join(path, member.key)
            guard case .string(let text) = member.value else {
                block(errors.typeInvalid(memberPath, expected: "string", actual: member.value.typeName))
                continue
            }
            checkString(text, schema.values, memberPath)
        }
    }

    func isAbsent(_ value: JSONValue?) -> Bool {
        value == nil || value == .null
    }

    func join(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : "\(path).\(name)"
    }
}

extension SchemaNode {
    var typeName: String {
        switch self {
        case .object, .stringMap, .opaque: "object"
        case .array: "array"
        case .string: "string"
        }
    }
}
