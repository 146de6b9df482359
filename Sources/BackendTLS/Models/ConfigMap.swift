#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A ConfigMap: `data` (UTF-8 text) and `binaryData` (base64 on the wire, bytes here).
public struct ConfigMap: Sendable, Hashable {
    public var metadata: ObjectMeta
    public var data: [String: String]
    public var binaryData: [String: [UInt8]]

    public init(metadata: ObjectMeta, data: [String: String] = [:], binaryData: [String: [UInt8]] = [:]) {
        self.metadata = metadata
        self.data = data
        self.binaryData = binaryData
    }

    public var reference: ObjectReference {
        ObjectReference(kind: "ConfigMap", namespace: metadata.namespace, name: metadata.displayName)
    }

    /// The bytes under `key`, from `data` or `binaryData`.
    public func bytes(forKey key: String) -> [UInt8]? {
        if let text = data[key] { return Array(text.utf8) }
        return binaryData[key]
    }

    public var keys: [String] { (Array(data.keys) + Array(binaryData.keys)).sorted() }
}

extension ConfigMap: JSONRepresentable {
    public init(json: JSONValue) throws(ModelDecodingError) {
        try KindCheck.require(json, kind: "ConfigMap", apiVersion: "v1")
        let root = JSONFieldReader(json, path: "")
        let metadata = try ObjectMeta(reading: root.child("metadata"))
        let data = try root.stringMap("data")
        var binaryData: [String: [UInt8]] = [:]
        for (key, text) in try root.stringMap("binaryData") {
            binaryData[key] = try Base64Field.decode(text, field: "binaryData.\(key)")
        }
        self.init(metadata: metadata, data: data, binaryData: binaryData)
    }

    public var json: JSONValue {
        var object = JSONObject([("apiVersion", "v1"), ("kind", "ConfigMap"), ("metadata", metadata.json)])
        if !data.isEmpty {
            object["data"] = .object(JSONObject(data.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        }
        if !binaryData.isEmpty {
            object["binaryData"] = .object(
                JSONObject(
                    binaryData.sorted { $0.key < $1.key }.map { ($0.key, .string(Base64Field.encode($0.value))) })
            )
        }
        return .object(object)
    }
}

/// Base64 fields (`binaryData`, Secret `data`) decoded with an error that names the field.
enum Base64Field {
    /// Line breaks are skipped, as the API server's decoder (Go's `encoding/base64`) skips them: a manifest may carry
    /// `base64`'s wrapped output in a block scalar, and `kubectl apply` takes it. Anything else outside the alphabet
    /// is still an error.
    static func decode(_ text: String, field: String) throws(ModelDecodingError) -> [UInt8] {
        var text = text
        if text.utf8.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            text.removeAll { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        }
        guard let data = Data(base64Encoded: text) else {
            throw ModelDecodingError(field: field, expected: "expected base64-encoded data")
        }
        return Array(data)
    }

    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }
}

/// The `apiVersion`/`kind` check shared by core objects.
enum KindCheck {
    static func require(_ json: JSONValue, kind: String, apiVersion: String) throws(ModelDecodingError) {
        guard json.objectValue != nil else {
            throw ModelDecodingError(field: "", expected: "expected a \(kind) object, got \(json.typeName)")
        }
        let actualKind = json["kind"]?.stringValue ?? ""
        guard actualKind == kind else {
            throw ModelDecodingError(
                field: "kind", expected: "expected \(GoQuoting.quote(kind)), got \(GoQuoting.quote(actualKind))")
        }
        let actualVersion = json["apiVersion"]?.stringValue ?? ""
        guard actualVersion == apiVersion else {
            throw ModelDecodingError(
                field: "apiVersion",
                expected: "expected \(GoQuoting.quote(apiVersion)) for \(kind), got \(GoQuoting.quote(actualVersion))"
            )
        }
    }
}

extension ObjectMeta {
    /// The identifying part of metadata, for objects we serialize back (tests, examples).
    var json: JSONValue {
        var object = JSONObject([("name", .string(name))])
        if !namespace.isEmpty { object["namespace"] = .string(namespace) }
        if let creationTimestamp { object["creationTimestamp"] = .string(RFC3339.format(creationTimestamp)) }
        if !labels.isEmpty {
            object["labels"] = .object(
                JSONObject(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
        }
        return .object(object)
    }
}
