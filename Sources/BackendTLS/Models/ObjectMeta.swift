#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The parts of `metadata` that our rules read.
///
/// Everything is optional on input because admission requests for CREATE may carry `generateName`
/// instead of a name, and the API server fills `uid` and `creationTimestamp` only after admission.
public struct ObjectMeta: Sendable, Hashable {
    public var name: String
    public var generateName: String?
    public var namespace: String
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int?
    public var creationTimestamp: Date?
    public var deletionTimestamp: Date?
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(
        name: String,
        namespace: String = "",
        uid: String? = nil,
        generation: Int? = nil,
        creationTimestamp: Date? = nil,
        deletionTimestamp: Date? = nil,
        labels: [String: String] = [:],
        annotations: [String: String] = [:]
    ) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.generation = generation
        self.creationTimestamp = creationTimestamp
        self.deletionTimestamp = deletionTimestamp
        self.labels = labels
        self.annotations = annotations
    }

    init(reading reader: JSONFieldReader?) throws(ModelDecodingError) {
        guard let reader else {
            self.init(name: "")
            return
        }
        guard reader.value.objectValue != nil else {
            throw ModelDecodingError(field: reader.path, expected: "expected an object, got \(reader.value.typeName)")
        }
        self.init(name: try reader.optionalString("name") ?? "")
        generateName = try reader.optionalString("generateName")
        namespace = try reader.optionalString("namespace") ?? ""
        uid = try reader.optionalString("uid")
        resourceVersion = try reader.optionalString("resourceVersion")
        if let member = reader.value["generation"], member != .null {
            guard let number = member.intValue else {
                throw ModelDecodingError(
                    field: reader.join("generation"), expected: "expected an integer, got \(member.typeName)")
            }
            generation = number
        }
        creationTimestamp = try Self.timestamp(reader, "creationTimestamp")
        deletionTimestamp = try Self.timestamp(reader, "deletionTimestamp")
        labels = try reader.stringMap("labels")
        annotations = try reader.stringMap("annotations")
    }

    private static func timestamp(_ reader: JSONFieldReader, _ key: String) throws(ModelDecodingError) -> Date? {
        guard let text = try reader.optionalString(key) else { return nil }
        guard let date = RFC3339.parse(text) else {
            throw ModelDecodingError(
                field: reader.join(key), expected: "expected an RFC 3339 timestamp, got \(GoQuoting.quote(text))")
        }
        return date
    }

    /// The name to print: the name, or `generateName` plus `*` for objects not named yet.
    public var displayName: String {
        if !name.isEmpty { return name }
        if let generateName { return generateName + "*" }
        return ""
    }
}
