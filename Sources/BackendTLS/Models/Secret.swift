/// A Secret: `type` and the decoded bytes of `data` (with write-only `stringData` merged, as the API server does).
public struct Secret: Sendable, Hashable {
    public var metadata: ObjectMeta
    public var type: String
    public var data: [String: [UInt8]]

    public init(metadata: ObjectMeta, type: String = "Opaque", data: [String: [UInt8]] = [:]) {
        self.metadata = metadata
        self.type = type
        self.data = data
    }

    public var reference: ObjectReference {
        ObjectReference(kind: "Secret", namespace: metadata.namespace, name: metadata.displayName)
    }

    public var keys: [String] { data.keys.sorted() }
}

extension Secret: JSONRepresentable {
    public init(json: JSONValue) throws(ModelDecodingError) {
        try KindCheck.require(json, kind: "Secret", apiVersion: "v1")
        let root = JSONFieldReader(json, path: "")
        let metadata = try ObjectMeta(reading: root.child("metadata"))
        var data: [String: [UInt8]] = [:]
        for (key, text) in try root.stringMap("data") {
            data[key] = try Base64Field.decode(text, field: "data.\(key)")
        }
        for (key, text) in try root.stringMap("stringData") {
            data[key] = Array(text.utf8)
        }
        self.init(metadata: metadata, type: try root.optionalString("type") ?? "Opaque", data: data)
    }

    /// Round-trips the object; callers that log must not log this (it carries the values).
    public var json: JSONValue {
        .object(
            JSONObject([
                ("apiVersion", "v1"), ("kind", "Secret"), ("metadata", metadata.json), ("type", .string(type)),
                ("data", .object(JSONObject(keys.map { ($0, .string(Base64Field.encode(data[$0] ?? []))) }))),
            ])
        )
    }
}
