import BackendTLS
import Yams

/// Parses YAML (multi-document) or JSON text into objects, expanding `kind: List` like kubectl.
public enum ManifestParser {
    public static func parse(_ text: String, source: String) throws(ManifestError) -> [Manifest] {
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        if trimmed.first == "{" || trimmed.first == "[" {
            // JSON takes the fast path; YAML is a superset, so on failure let the YAML parser explain.
            if let value = try? JSONParser.parse(text) {
                return try manifests(from: value, source: source)
            }
        }
        var result: [Manifest] = []
        do {
            var index = 0
            // YamlSequence records a parse error and ends the iteration instead of throwing: check it, or a
            // broken file would read as "no objects" (and a sidecar would lose its policies).
            // The basic resolver leaves untagged plain scalars untyped, for YAMLPlainScalar (no regular expressions).
            var documents = try Yams.compose_all(yaml: text, .basic)
            while let node = documents.next() {
                index += 1
                let value = try YAMLConversion.json(from: node)
                if value == .null { continue }
                result.append(contentsOf: try manifests(from: value, source: "\(source)#\(index)"))
            }
            if let error = documents.error { throw error }
        } catch let error as ManifestError {
            throw error
        } catch {
            throw .invalidYAML(source: source, reason: String(describing: error))
        }
        return result
    }

    private static func manifests(from value: JSONValue, source: String) throws(ManifestError) -> [Manifest] {
        switch value {
        case .array(let elements):
            var result: [Manifest] = []
            for (index, element) in elements.enumerated() {
                result.append(contentsOf: try manifests(from: element, source: "\(source)[\(index)]"))
            }
            return result
        case .object:
            if let kind = value["kind"]?.stringValue, kind.hasSuffix("List"), let items = value["items"]?.arrayValue {
                var result: [Manifest] = []
                for (index, item) in items.enumerated() {
                    result.append(contentsOf: try manifests(from: item, source: "\(source).items[\(index)]"))
                }
                return result
            }
            return [Manifest(object: value, source: source)]
        default:
            throw .notAnObject(source: source, type: value.typeName)
        }
    }
}

/// YAML nodes to JSON the way `sigs.k8s.io/yaml` converts them (YAML 1.1 booleans, timestamps as strings).
enum YAMLConversion {
    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    static func json(from node: Node) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            return scalarValue(scalar)
        case .sequence(let sequence):
            return .array(try sequence.map { try json(from: $0) })
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw Unsupported(description: "mapping keys must be scalars")
                }
                object[keyScalar.string] = try json(from: value)
            }
            return .object(object)
        case .alias:
            throw Unsupported(description: "YAML aliases are not supported")
        }
    }

    /// A scalar's value by its tag: the one written in the document (`!!str`, or a quoted scalar's implied string),
    /// else the type of its plain text. The tag is read as the parser left it; `node.tag` would resolve it with the
    /// basic resolver, to a string. Two consequences of the basic resolver, for documents unlikely as manifests:
    /// Yams resolves a mapping's keys in place to check them for duplicates, so a plain scalar anchored as a key and
    /// aliased as a value reads as a string; and keys `443` and `"443"` in one mapping are duplicates (they are one
    /// JSON key anyway).
    private static func scalarValue(_ scalar: Node.Scalar) -> JSONValue {
        let text = scalar.string
        let written = Tag.Name(rawValue: scalar.tag.description)
        let type: YAMLPlainScalar =
            switch written {
            case .implicit: YAMLPlainScalar(text)
            case .null: .null
            case .bool: .bool
            case .int: .int
            case .float: .float
            default: .string
            }
        switch type {
        case .null: return .null
        case .bool:
            return .bool(["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"].contains(text))
        case .int:
            if let value = Int(text.filter { $0 != "_" }) { return .number(String(value)) }
            return .string(text)
        case .float:
            if let value = Double(text.filter { $0 != "_" }), value.isFinite {
                return .number(value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value))
            }
            return .string(text)
        case .string:
            return .string(text)
        }
    }
}
