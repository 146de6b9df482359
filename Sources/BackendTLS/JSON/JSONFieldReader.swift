/// Typed, path-aware reads from a JSON object, for building models leniently or strictly.
///
/// Strict reads throw `ModelDecodingError` naming the field and the expected type; lenient reads give
/// `nil` and let the schema validator report the problem in the API server's words.
struct JSONFieldReader {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    func child(_ key: String) -> JSONFieldReader? {
        guard let member = value[key], member != .null else { return nil }
        return JSONFieldReader(member, path: path.isEmpty ? key : "\(path).\(key)")
    }

    func string(_ key: String) -> String? { value[key]?.stringValue }

    func requireString(_ key: String) throws(ModelDecodingError) -> String {
        guard let member = value[key], member != .null else {
            throw ModelDecodingError(field: join(key), expected: "Required value")
        }
        guard let text = member.stringValue else {
            throw ModelDecodingError(field: join(key), expected: "expected a string, got \(member.typeName)")
        }
        return text
    }

    func optionalString(_ key: String) throws(ModelDecodingError) -> String? {
        guard let member = value[key], member != .null else { return nil }
        guard let text = member.stringValue else {
            throw ModelDecodingError(field: join(key), expected: "expected a string, got \(member.typeName)")
        }
        return text
    }

    func stringMap(_ key: String) throws(ModelDecodingError) -> [String: String] {
        guard let member = value[key], member != .null else { return [:] }
        guard let object = member.objectValue else {
            throw ModelDecodingError(field: join(key), expected: "expected an object, got \(member.typeName)")
        }
        var map: [String: String] = [:]
        for entry in object.members where entry.value != .null {
            guard let text = entry.value.stringValue else {
                throw ModelDecodingError(
                    field: "\(join(key)).\(entry.key)", expected: "expected a string, got \(entry.value.typeName)")
            }
            map[entry.key] = text
        }
        return map
    }

    func join(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
