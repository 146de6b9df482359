extension BackendTLSPolicy: JSONRepresentable {
    /// Reads any served version. Only a missing or unknown `apiVersion`, or a non-object, throws:
    /// everything else is left to the rules, which report it with the right path and wording.
    public init(json: JSONValue) throws(ModelDecodingError) {
        guard json.objectValue != nil else {
            throw ModelDecodingError(field: "", expected: "expected a BackendTLSPolicy object, got \(json.typeName)")
        }
        guard let apiVersion = json["apiVersion"]?.stringValue else {
            throw ModelDecodingError(field: "apiVersion", expected: "Required value")
        }
        guard let version = BackendTLSPolicyVersion(apiVersion: apiVersion) else {
            let served = BackendTLSPolicyVersion.allCases.map(\.apiVersion).joined(separator: ", ")
            throw ModelDecodingError(
                field: "apiVersion",
                expected: "unsupported BackendTLSPolicy version \(GoQuoting.quote(apiVersion)); served: \(served)"
            )
        }
        let kind = json["kind"]?.stringValue
        guard kind == "BackendTLSPolicy" else {
            throw ModelDecodingError(
                field: "kind", expected: "expected \"BackendTLSPolicy\", got \(GoQuoting.quote(kind ?? ""))")
        }
        let root = JSONFieldReader(json, path: "")
        let metadata = try ObjectMeta(reading: root.child("metadata"))
        let spec = json["spec"] ?? .null
        let legacy = version == .v1alpha2

        let targetValues: [JSONValue] =
            legacy ? [spec["targetRef"]].compactMap { $0 } : spec["targetRefs"]?.arrayValue ?? []
        // Index-aligned with the JSON array, as `caCertificateRefs` are: an entry that is not an object (a type error
        // of its own) names nothing, and the entries after it keep their places in field paths.
        let targetRefs = targetValues.map { value in
            TargetReference(
                group: value["group"]?.stringValue,
                kind: value["kind"]?.stringValue,
                name: value["name"]?.stringValue,
                sectionName: value["sectionName"]?.stringValue,
                namespace: value["namespace"]?.stringValue
            )
        }
        let validationValue = (legacy ? spec["tls"] : spec["validation"]) ?? .null
        let refValues = validationValue[legacy ? "caCertRefs" : "caCertificateRefs"]?.arrayValue ?? []
        let validation = Validation(
            caCertificateRefs: refValues.map {
                CertificateReference(
                    group: $0["group"]?.stringValue, kind: $0["kind"]?.stringValue, name: $0["name"]?.stringValue)
            },
            wellKnownCACertificates: validationValue[legacy ? "wellKnownCACerts" : "wellKnownCACertificates"]?
                .stringValue,
            hostname: validationValue["hostname"]?.stringValue,
            subjectAltNames: legacy
                ? []
                : (validationValue["subjectAltNames"]?.arrayValue ?? []).map {
                    SubjectAltName(
                        type: $0["type"]?.stringValue, hostname: $0["hostname"]?.stringValue,
                        uri: $0["uri"]?.stringValue)
                }
        )
        let options: [(key: String, value: String)] =
            (legacy ? nil : spec["options"]?.objectValue)?.members.compactMap { member in
                member.value.stringValue.map { (member.key, $0) }
            } ?? []
        self.init(
            version: version, metadata: metadata, targetRefs: targetRefs, validation: validation, options: options,
            raw: json)
    }

    public var json: JSONValue { raw }
}
