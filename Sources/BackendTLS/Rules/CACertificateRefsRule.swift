/// `caCertificateRefs`: supported kinds, objects that exist, a `ca.crt` key, and a bundle that inspects clean.
struct CACertificateRefsRule: ValidationRule {
    func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        let refs = policy.validation.caCertificateRefs
        guard !refs.isEmpty else { return [] }
        let paths = policy.paths
        var diagnostics: [Diagnostic] = []
        var invalidCount = 0
        // First index and validity of each distinct reference; a repeated invalid reference is still invalid.
        var seen: [String: (index: Int, invalid: Bool)] = [:]
        for (index, ref) in refs.enumerated() {
            guard let kind = ref.kind, let name = ref.name, !kind.isEmpty, !name.isEmpty else { continue }
            let path = paths.caCertificateRef(index)
            let groupKind = ValidationConfiguration.GroupKind(group: ref.effectiveGroup, kind: kind)
            let key = groupKind.description + "/" + name
            if let first = seen[key] {
                diagnostics.append(
                    .warning(
                        .duplicateReference, path, policy.reference,
                        "duplicates \(paths.caCertificateRef(first.index)); remove one of them"))
                if first.invalid { invalidCount += 1 }
                continue
            }
            let resolution = CACertificateSource.resolve(
                groupKind, name: name, namespace: policy.metadata.namespace, in: context)
            for finding in resolution.findings {
                diagnostics.append(
                    Diagnostic(
                        severity: finding.severity, reason: finding.reason, field: path, object: policy.reference,
                        message: finding.message))
            }
            seen[key] = (index, resolution.isInvalid)
            if resolution.isInvalid { invalidCount += 1 }
        }
        if invalidCount == refs.count {
            diagnostics.append(
                .error(
                    .noValidCACertificate, paths.caCertificateRefs, policy.reference,
                    refs.count == 1
                        ? "the only CA reference is invalid, so every connection to the backend would fail (Accepted=False/NoValidCACertificate)"
                        : "none of the \(refs.count) CA references is valid, so every connection to the backend would fail (Accepted=False/NoValidCACertificate)"
                ))
        }
        return diagnostics
    }
}
