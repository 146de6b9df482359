/// The BackendTLSPolicy CRD schemas, transcribed from `gateway.networking.k8s.io_backendtlspolicies.yaml`.
///
/// v1 and v1alpha3 share one schema from v1.4.0 on (spec §2); v1alpha2 is the v1.0.0 experimental schema.
/// Properties are listed in the CRD's (alphabetical) order so errors come out in the API server's order.
public enum BackendTLSPolicySchema {
    public static func schema(for version: BackendTLSPolicyVersion, release: GatewayAPIRelease) -> SchemaNode {
        switch version {
        case .v1, .v1alpha3: release == .v1_4 ? v1Release14 : v1Release15
        case .v1alpha2: v1alpha2
        }
    }

    static let v1Release15 = root(
        spec: v1Spec(wellKnown: .string(StringSchema(minLength: 1, maxLength: 253, pattern: .wellKnownCACertificates))))
    static let v1Release14 = root(spec: v1Spec(wellKnown: .string(StringSchema(allowedValues: ["System"]))))

    static func root(spec: SchemaNode) -> SchemaNode {
        .object(
            ObjectSchema(
                properties: [
                    ("apiVersion", .opaque), ("kind", .opaque), ("metadata", .opaque), ("spec", spec),
                    ("status", .opaque),
                ],
                required: ["spec"]
            )
        )
    }

    static let group = SchemaNode.string(StringSchema(maxLength: 253, pattern: .group))
    static let kind = SchemaNode.string(StringSchema(minLength: 1, maxLength: 63, pattern: .kind))
    static let name = SchemaNode.string(StringSchema(minLength: 1, maxLength: 253))
    static let sectionName = SchemaNode.string(StringSchema(minLength: 1, maxLength: 253, pattern: .sectionName))
    static let preciseHostname = SchemaNode.string(
        StringSchema(minLength: 1, maxLength: 253, pattern: .preciseHostname))

    static let localObjectReference = SchemaNode.object(
        ObjectSchema(
            properties: [("group", group), ("kind", kind), ("name", name)], required: ["group", "kind", "name"])
    )

    static func v1Spec(wellKnown: SchemaNode) -> SchemaNode {
        let targetRef = SchemaNode.object(
            ObjectSchema(
                properties: [("group", group), ("kind", kind), ("name", name), ("sectionName", sectionName)],
                required: ["group", "kind", "name"]
            )
        )
        let subjectAltName = SchemaNode.object(
            ObjectSchema(
                properties: [
                    ("hostname", .string(StringSchema(minLength: 1, maxLength: 253, pattern: .hostname))),
                    ("type", .string(StringSchema(allowedValues: ["Hostname", "URI"]))),
                    ("uri", .string(StringSchema(minLength: 1, maxLength: 253, pattern: .absoluteURI))),
                ],
                required: ["type"],
                rules: BackendTLSPolicyCELRules.subjectAltName
            )
        )
        let validation = SchemaNode.object(
            ObjectSchema(
                properties: [
                    ("caCertificateRefs", .array(ArraySchema(items: localObjectReference, maxItems: 8))),
                    ("hostname", preciseHostname),
                    ("subjectAltNames", .array(ArraySchema(items: subjectAltName, maxItems: 5))),
                    ("wellKnownCACertificates", wellKnown),
                ],
                required: ["hostname"],
                rules: BackendTLSPolicyCELRules.validation(
                    refs: "caCertificateRefs", wellKnown: "wellKnownCACertificates")
            )
        )
        return .object(
            ObjectSchema(
                properties: [
                    ("options", .stringMap(StringMapSchema(values: StringSchema(maxLength: 4096), maxProperties: 16))),
                    (
                        "targetRefs",
                        .array(
                            ArraySchema(
                                items: targetRef, minItems: 1, maxItems: 16, rules: BackendTLSPolicyCELRules.targetRefs)
                        )
                    ),
                    ("validation", validation),
                ],
                required: ["targetRefs", "validation"]
            )
        )
    }

    static let v1alpha2: SchemaNode = {
        let targetRef = SchemaNode.object(
            ObjectSchema(
                properties: [
                    ("group", group), ("kind", kind), ("name", name),
                    ("namespace", .string(StringSchema(minLength: 1, maxLength: 63, pattern: .namespace))),
                    ("sectionName", sectionName),
                ],
                required: ["group", "kind", "name"]
            )
        )
        let tls = SchemaNode.object(
            ObjectSchema(
                properties: [
                    ("caCertRefs", .array(ArraySchema(items: localObjectReference, maxItems: 8))),
                    ("hostname", preciseHostname),
                    ("wellKnownCACerts", .string(StringSchema(allowedValues: ["System"]))),
                ],
                required: ["hostname"],
                rules: BackendTLSPolicyCELRules.validation(refs: "caCertRefs", wellKnown: "wellKnownCACerts")
            )
        )
        return root(
            spec: .object(
                ObjectSchema(properties: [("targetRef", targetRef), ("tls", tls)], required: ["targetRef", "tls"]))
        )
    }()
}
