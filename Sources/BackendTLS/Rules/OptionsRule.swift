/// `spec.options`: our `backendtls.dev/*` keys are typed and checked; un-prefixed keys are reserved.
struct OptionsRule: ValidationRule {
    func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        guard !policy.options.isEmpty else { return [] }
        return BackendTLSOptions.parse(policy.options).issues.map { issue in
            Diagnostic(
                severity: issue.severity, reason: issue.reason, field: policy.paths.option(issue.key),
                object: policy.reference, message: issue.message)
        }
    }
}
