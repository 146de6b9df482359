/// The Gateway API CRD's OpenAPI schema and CEL rules for the policy's version, with the API server's messages.
struct UpstreamSchemaRule: ValidationRule {
    static let v1alpha3Deprecation =
        "The v1alpha3 version of BackendTLSPolicy has been deprecated and will be removed in a future release of the API. Please upgrade to v1."

    func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        let schema = BackendTLSPolicySchema.schema(for: policy.version, release: context.configuration.release)
        let outcome = SchemaValidator(object: policy.reference).validate(policy.raw, against: schema, at: "")
        var diagnostics = outcome.diagnostics
        if context.configuration.rejectUnknownFields {
            let errors = FieldErrors(object: policy.reference)
            diagnostics.append(contentsOf: outcome.unknownFields.map { errors.unknownField($0) })
        }
        switch policy.version {
        case .v1: break
        case .v1alpha3:
            diagnostics.append(.warning(.invalid, "", policy.reference, Self.v1alpha3Deprecation))
        case .v1alpha2:
            diagnostics.append(
                .warning(
                    .invalid, "apiVersion", policy.reference,
                    "gateway.networking.k8s.io/v1alpha2 BackendTLSPolicy is served only by Gateway API v1.0 CRDs; current CRDs serve v1"
                )
            )
        }
        return diagnostics
    }
}
