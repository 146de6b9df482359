/// A Service: the ports that `sectionName` names, and where the sidecar connects.
public struct Service: Sendable, Hashable {
    public struct Port: Sendable, Hashable {
        public var name: String
        public var port: Int
        public var `protocol`: String
        public var appProtocol: String?

        public init(name: String = "", port: Int, protocol: String = "TCP", appProtocol: String? = nil) {
            self.name = name
            self.port = port
            self.protocol = `protocol`
            self.appProtocol = appProtocol
        }
    }

    public var metadata: ObjectMeta
    public var ports: [Port]
    public var clusterIP: String?
    public var externalName: String?

    public init(metadata: ObjectMeta, ports: [Port], clusterIP: String? = nil, externalName: String? = nil) {
        self.metadata = metadata
        self.ports = ports
        self.clusterIP = clusterIP
        self.externalName = externalName
    }

    public var reference: ObjectReference {
        ObjectReference(kind: "Service", namespace: metadata.namespace, name: metadata.displayName)
    }

    public func port(named name: String) -> Port? { ports.first { $0.name == name } }
    public func port(number: Int) -> Port? { ports.first { $0.port == number } }
}

extension Service: JSONRepresentable {
    public init(json: JSONValue) throws(ModelDecodingError) {
        try KindCheck.require(json, kind: "Service", apiVersion: "v1")
        let root = JSONFieldReader(json, path: "")
        let metadata = try ObjectMeta(reading: root.child("metadata"))
        let spec = root.child("spec")
        var ports: [Port] = []
        if let portsValue = spec?.value["ports"], portsValue != .null {
            guard let elements = portsValue.arrayValue else {
                throw ModelDecodingError(field: "spec.ports", expected: "expected an array, got \(portsValue.typeName)")
            }
            for (index, element) in elements.enumerated() {
                let reader = JSONFieldReader(element, path: "spec.ports[\(index)]")
                guard let number = element["port"]?.intValue else {
                    throw ModelDecodingError(field: reader.join("port"), expected: "expected an integer port number")
                }
                ports.append(
                    Port(
                        name: try reader.optionalString("name") ?? "",
                        port: number,
                        protocol: try reader.optionalString("protocol") ?? "TCP",
                        appProtocol: try reader.optionalString("appProtocol")
                    )
                )
            }
        }
        self.init(
            metadata: metadata,
            ports: ports,
            clusterIP: try spec?.optionalString("clusterIP"),
            externalName: try spec?.optionalString("externalName")
        )
    }

    public var json: JSONValue {
        let portValues: [JSONValue] = ports.map { port in
            var object = JSONObject([("port", .number(String(port.port))), ("protocol", .string(port.protocol))])
            if !port.name.isEmpty { object["name"] = .string(port.name) }
            if let appProtocol = port.appProtocol { object["appProtocol"] = .string(appProtocol) }
            return .object(object)
        }
        var spec = JSONObject([("ports", .array(portValues))])
        if let clusterIP { spec["clusterIP"] = .string(clusterIP) }
        if let externalName { spec["externalName"] = .string(externalName) }
        return .object(
            JSONObject([
                ("apiVersion", "v1"), ("kind", "Service"), ("metadata", metadata.json), ("spec", .object(spec)),
            ]))
    }
}
