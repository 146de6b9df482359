/// `wellKnownCACertificates` must name a trust set this installation resolves (`System` by default).
struct WellKnownCACertificatesRule: ValidationRule {
    func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        guard let value = policy.validation.wellKnownCACertificates, !value.isEmpty else { return [] }
        let known = context.configuration.knownWellKnownCACertificates
        guard !known.contains(value) else { return [] }
        let list = known.sorted().map { GoQuoting.quote($0) }.joined(separator: ", ")
        return [
            FieldErrors(object: policy.reference).invalid(
                policy.paths.wellKnownCACertificates, string: value,
                "not a CA certificate set this installation knows (known: \(list)); the policy would be Accepted=False/Invalid",
                reason: .invalid)
        ]
    }
}
