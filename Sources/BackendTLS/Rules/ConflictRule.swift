/// Two policies on one target and section: the older wins, the other is `Conflicted` (spec §8).
///
/// Denied at admission so the loser never silently exists; on UPDATE, also deny a change that would
/// make this policy displace one that already serves the target.
struct ConflictRule: ValidationRule {
    func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        let oldKeys: Set<PolicyTargetKey>
        if context.operation == .update, let old = context.oldObject, let oldPolicy = try? BackendTLSPolicy(json: old) {
            oldKeys = Set(oldPolicy.targetKeys.compactMap { $0 })
        } else {
            oldKeys = []
        }
        var diagnostics: [Diagnostic] = []
        var reported: Set<PolicyTargetKey> = []
        for (index, key) in policy.targetKeys.enumerated() {
            guard let key, reported.insert(key).inserted else { continue }
            let path = policy.paths.targetRef(index)
            if let winner = context.index.conflict(for: policy, on: key) {
                diagnostics.append(
                    .error(
                        .conflicted, path, policy.reference,
                        "conflicts with BackendTLSPolicy \(winner.reference.namespacedName) (\(created(winner))), which targets the same \(key) and takes precedence (the older policy wins); this policy would be Accepted=False/Conflicted: merge the two or target another port with sectionName"
                    ))
            } else if context.operation == .update, !oldKeys.contains(key),
                let displaced = context.index.displaced(by: policy, on: key).first
            {
                diagnostics.append(
                    .error(
                        .conflicted, path, policy.reference,
                        "would take \(key) away from BackendTLSPolicy \(displaced.reference.namespacedName) (\(created(displaced))), which serves it now, because this policy is older; that policy would become Conflicted: remove it first or target another port"
                    ))
            }
        }
        return diagnostics
    }

    private func created(_ policy: BackendTLSPolicy) -> String {
        policy.metadata.creationTimestamp.map { "created \(RFC3339.format($0))" } ?? "not created yet"
    }
}
