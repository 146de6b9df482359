/// One RFC 6902 operation. Only the kinds defaulting needs: `add` (new member) and `replace` (existing).
public struct JSONPatchOperation: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case add
        case replace
        case remove
    }

    public var op: Kind
    public var path: JSONPointer
    public var value: JSONValue?

    public init(op: Kind, path: JSONPointer, value: JSONValue? = nil) {
        self.op = op
        self.path = path
        self.value = value
    }

    public var json: JSONValue {
        var object = JSONObject([("op", .string(op.rawValue)), ("path", .string(path.description))])
        if let value { object["value"] = value }
        return .object(object)
    }
}

/// Applies patches to a `JSONValue`, for tests, for the CLI's defaulted output, and for idempotency checks.
public enum JSONPatch {
    public struct ApplyError: Error, Equatable, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "cannot apply patch at \(path): \(reason)" }
    }

    public static func serialize(_ operations: [JSONPatchOperation]) -> String {
        JSONSerializer.serialize(.array(operations.map(\.json)))
    }

    public static func apply(_ operations: [JSONPatchOperation], to document: JSONValue) throws(ApplyError) -> JSONValue
    {
        var result = document
        for operation in operations {
            result = try apply(
                operation, to: result, tokens: operation.path.tokens[...], full: operation.path.description)
        }
        return result
    }

    private static func apply(
        _ operation: JSONPatchOperation,
        to node: JSONValue,
        tokens: ArraySlice<String>,
        full: String
    ) throws(ApplyError) -> JSONValue {
        guard let token = tokens.first else {
            guard let value = operation.value else { throw ApplyError(path: full, reason: "no value") }
            return value
        }
        let rest = tokens.dropFirst()
        switch node {
        case .object(var object):
            if rest.isEmpty {
                switch operation.op {
                case .add: object[token] = operation.value
                case .replace:
                    guard object[token] != nil else { throw ApplyError(path: full, reason: "member does not exist") }
                    object[token] = operation.value
                case .remove:
                    guard object[token] != nil else { throw ApplyError(path: full, reason: "member does not exist") }
                    object[token] = nil
                }
                return .object(object)
            }
            guard let child = object[token] else {
                throw ApplyError(path: full, reason: "member \(token) does not exist")
            }
            object[token] = try apply(operation, to: child, tokens: rest, full: full)
            return .object(object)
        case .array(var elements):
            if rest.isEmpty, operation.op == .add, token == "-", let value = operation.value {
                elements.append(value)
                return .array(elements)
            }
            guard let index = Int(token),
                elements.indices.contains(index) || (rest.isEmpty && operation.op == .add && index == elements.count)
            else { throw ApplyError(path: full, reason: "index \(token) out of range") }
            if rest.isEmpty {
                switch operation.op {
                case .add: elements.insert(operation.value ?? .null, at: index)
                case .replace: elements[index] = operation.value ?? .null
                case .remove: elements.remove(at: index)
                }
                return .array(elements)
            }
            elements[index] = try apply(operation, to: elements[index], tokens: rest, full: full)
            return .array(elements)
        default:
            throw ApplyError(path: full, reason: "not a container")
        }
    }
}
