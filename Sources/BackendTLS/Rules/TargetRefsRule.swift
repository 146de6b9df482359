/// `targetRefs`: one target is the norm, targets are Services, and `sectionName` names a TCP port of it.
struct TargetRefsRule: ValidationRule {
    func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let paths = policy.paths
        if policy.targetRefs.count > 1 {
            diagnostics.append(
                .warning(
                    .multipleTargets, paths.targetRefs, policy.reference,
                    "\(policy.targetRefs.count) targets: Gateway API says implementations SHOULD NOT support more than one targetRef; prefer one policy per Service"
                ))
        }
        for (index, ref) in policy.targetRefs.enumerated() {
            guard let kind = ref.kind, let name = ref.name, !kind.isEmpty, !name.isEmpty else { continue }
            let path = paths.targetRef(index)
            let groupKind = ValidationConfiguration.GroupKind(group: ref.group ?? "", kind: kind)
            guard groupKind == .service else {
                if !context.configuration.knownTargetKinds.contains(groupKind) {
                    diagnostics.append(
                        .warning(
                            .unknownTargetKind, path, policy.reference,
                            "target kind \(GoQuoting.quote(groupKind.description)) is not a core Service; backendtls resolves only Services (add known kinds with --known-target-kind)"
                        ))
                }
                continue
            }
            let namespace = ref.namespace ?? policy.metadata.namespace
            guard let service = context.store.service(namespace: namespace, name: name) else {
                diagnostics.append(
                    .warning(
                        .targetNotFound, path, policy.reference,
                        "Service \(namespace)/\(name) not found; the policy takes effect once it exists"))
                continue
            }
            diagnostics.append(contentsOf: checkPorts(of: service, ref: ref, path: path, policy: policy))
        }
        return diagnostics
    }

    private func checkPorts(
        of service: Service,
        ref: BackendTLSPolicy.TargetReference,
        path: String,
        policy: BackendTLSPolicy
    ) -> [Diagnostic] {
        let errors = FieldErrors(object: policy.reference)
        let serviceName = "\(service.metadata.namespace)/\(service.metadata.name)"
        guard let sectionName = ref.effectiveSectionName else {
            if !service.ports.isEmpty, service.ports.allSatisfy({ $0.protocol != "TCP" }) {
                let protocols = Set(service.ports.map(\.protocol)).sorted().joined(separator: "/")
                return [
                    .error(
                        .invalid, path, policy.reference,
                        "every port of Service \(serviceName) is \(protocols); BackendTLSPolicy applies to TCP only (GEP-1897)"
                    )
                ]
            }
            return []
        }
        let sectionPath = "\(path).sectionName"
        if let port = service.port(named: sectionName) {
            guard port.protocol == "TCP" else {
                return [
                    errors.invalid(
                        sectionPath, string: sectionName,
                        "port \(GoQuoting.quote(sectionName)) of Service \(serviceName) is \(port.protocol); BackendTLSPolicy applies to TCP only (GEP-1897)",
                        reason: .invalid)
                ]
            }
            return []
        }
        return [
            errors.invalid(
                sectionPath, string: sectionName,
                "sectionName \(GoQuoting.quote(sectionName)) matches no port name of Service \(serviceName); \(suggestion(sectionName, service))",
                reason: .targetNotFound)
        ]
    }

    /// Port numbers are the classic mistake (gateway-api #4769): say so and offer the name.
    private func suggestion(_ sectionName: String, _ service: Service) -> String {
        let names = service.ports.map(\.name).filter { !$0.isEmpty }
        if let number = Int(sectionName), let port = service.port(number: number) {
            if port.name.isEmpty {
                return
                    "sectionName is a port name, and port \(number) has none: name it in the Service, then use that name"
            }
            return "sectionName is a port name — did you mean \(GoQuoting.quote(port.name))?"
        }
        if let close = names.first(where: {
            $0.lowercased() == sectionName.lowercased() || EditDistance.between($0, sectionName) <= 2
        }) {
            return "did you mean \(GoQuoting.quote(close))?"
        }
        if names.isEmpty { return "the Service's ports have no names, so only a policy without sectionName can attach" }
        return "port names: \(names.map { GoQuoting.quote($0) }.joined(separator: ", "))"
    }
}

/// Levenshtein distance, for "did you mean" suggestions on short names.
enum EditDistance {
    static func between(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs)
        let b = Array(rhs)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
