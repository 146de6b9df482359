extension StoreSnapshot {
    /// Builds a store from raw objects of any kind: policies, ConfigMaps, Secrets and Services are kept,
    /// other kinds ignored. Objects that claim a known kind but cannot be read become diagnostics.
    public init(objects: [JSONValue], defaultNamespace: String = "default") {
        self.init()
        for object in objects {
            _ = insert(object, defaultNamespace: defaultNamespace)
        }
    }

    /// Inserts one object; returns the error for a known kind that could not be read.
    @discardableResult
    public mutating func insert(_ object: JSONValue, defaultNamespace: String = "default") -> Diagnostic? {
        let object = Self.withNamespace(object, defaultNamespace)
        let kind = object["kind"]?.stringValue ?? ""
        do {
            switch kind {
            case "BackendTLSPolicy": insert(try BackendTLSPolicy(json: object))
            case "ConfigMap": insert(try ConfigMap(json: object))
            case "Secret": insert(try Secret(json: object))
            case "Service": insert(try Service(json: object))
            default: return nil
            }
        } catch {
            return Diagnostic.malformed(object, kind: kind, error)
        }
        return nil
    }

    /// Objects in files often omit `metadata.namespace`; kubectl applies them to the current namespace.
    public static func withNamespace(_ object: JSONValue, _ namespace: String) -> JSONValue {
        guard case .object(var root) = object, root["kind"] != nil else { return object }
        var metadata = root["metadata"]?.objectValue ?? JSONObject()
        if metadata["namespace"]?.stringValue?.isEmpty ?? true {
            metadata["namespace"] = .string(namespace)
            root["metadata"] = .object(metadata)
        }
        return .object(root)
    }
}
