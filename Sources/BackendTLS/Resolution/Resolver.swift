import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Turns (namespace, service, port) into the TLS settings to enforce, or a reason to refuse.
///
/// The winning policy is judged by the same rules as admission: an invalid winner is a failure (callers
/// fail closed), never a fallback to a losing policy, plaintext or an unverified connection.
public struct Resolver: Sendable {
    public let context: ValidationContext
    private let validator: PolicyValidator

    public init(context: ValidationContext) {
        self.context = context
        self.validator = PolicyValidator(configuration: context.configuration)
    }

    public func resolve(namespace: String, service serviceName: String, port: ServicePortSelector) -> Resolution {
        let service = context.store.service(namespace: namespace, name: serviceName)
        let portName: String?
        switch port {
        case .name(let name): portName = name
        case .number(let number): portName = service?.port(number: number).flatMap { $0.name.isEmpty ? nil : $0.name }
        }
        func key(_ section: String?) -> PolicyTargetKey {
            PolicyTargetKey(namespace: namespace, group: "", kind: "Service", name: serviceName, sectionName: section)
        }
        if let portName, let sectioned = context.index.winner(for: key(portName)) {
            return resolve(sectioned)
        }
        let whole = context.index.winner(for: key(nil))
        // A port number no declared port of the Service has (or of a Service not known) names no section, yet it may
        // reach a sectioned port's pods (a headless Service's address is theirs): with policies on named ports, no
        // policy here could be TLS skipped. A whole-Service policy covers a port known not to be declared; an
        // unknown Service's port might be a named one, so there it does not.
        if case .number(let number) = port, service?.port(number: number) == nil, service == nil || whole == nil,
            context.index.hasSectionedPolicies(namespace: namespace, service: serviceName)
        {
            let unmapped =
                if let service {
                    "port \(number) is not a port of Service \(namespace)/\(serviceName) (it declares \(service.ports.isEmpty ? "none" : service.ports.map { String($0.port) }.joined(separator: ", ")))"
                } else {
                    "Service \(namespace)/\(serviceName) is unknown, so port \(number) cannot be mapped to a port name"
                }
            return .failed(
                ResolutionFailure(
                    policy: nil, reason: .targetNotFound, message: "\(unmapped), and policies target named ports of it")
            )
        }
        if let whole { return resolve(whole) }
        return .noPolicy
    }

    /// Resolves one policy that is known to win its target.
    public func resolve(_ policy: BackendTLSPolicy) -> Resolution {
        // Whatever rules and enforcement admission ran with, the wire gets exactly the policy or nothing: an
        // option we cannot honour (a bad pin, an unknown version) or a trust set we do not have refuses the
        // connection.
        // A conflict is judged per target (spec §8): this policy wins the target being resolved, and losing
        // another of its targets to an older policy does not take this one from it.
        let diagnostics = validator.validate(policy, in: context) + OptionsRule().validate(policy, in: context)
        if let error = diagnostics.first(where: { $0.isError && $0.reason != .conflicted }) {
            return .failed(
                ResolutionFailure(
                    policy: policy.reference, reason: error.reason, message: "invalid policy: \(error.detail)"))
        }
        let options = BackendTLSOptions.parse(policy.options)
        if let wellKnown = policy.validation.wellKnownCACertificates, !wellKnown.isEmpty, wellKnown != "System" {
            return .failed(
                ResolutionFailure(
                    policy: policy.reference, reason: .invalid,
                    message:
                        "\(policy.paths.wellKnownCACertificates) \(GoQuoting.quote(wellKnown)) is not a CA set this proxy can use; only \"System\" is"
                ))
        }
        guard let hostname = policy.validation.hostname, !hostname.isEmpty else {
            return .failed(ResolutionFailure(policy: policy.reference, reason: .invalid, message: "no hostname"))
        }
        let trust: ResolvedBackendTLS.Trust
        var trustExpiry: Date?
        switch resolveTrust(policy) {
        case .success(let resolved):
            trust = resolved.trust
            trustExpiry = resolved.expiry
        case .failure(let failure):
            return .failed(failure)
        }
        let identity: ResolvedBackendTLS.Identity
        if policy.validation.subjectAltNames.isEmpty {
            identity = .hostname(hostname)
        } else {
            identity = .subjectAltNames(
                policy.validation.subjectAltNames.compactMap { san in
                    switch san.type {
                    case "Hostname": san.hostname.map { .dnsName($0) }
                    case "URI": san.uri.map { .uri($0) }
                    default: nil
                    }
                })
        }
        return .resolved(
            ResolvedBackendTLS(
                policy: policy.reference,
                serverName: hostname,
                trust: trust,
                identity: identity,
                options: options.options,
                trustExpiry: trustExpiry
            ))
    }

    private func resolveTrust(_ policy: BackendTLSPolicy) -> Result<
        (trust: ResolvedBackendTLS.Trust, expiry: Date?), ResolutionFailure
    > {
        if let wellKnown = policy.validation.wellKnownCACertificates, !wellKnown.isEmpty {
            // Any other value failed validation above (WellKnownCACertificatesRule).
            return .success((.system, nil))
        }
        var anchors: [[UInt8]] = []
        var expiry: Date?
        var problems: [String] = []
        for ref in policy.validation.caCertificateRefs {
            guard let kind = ref.kind, let name = ref.name else { continue }
            let source = CACertificateSource.resolve(
                .init(group: ref.effectiveGroup, kind: kind), name: name, namespace: policy.metadata.namespace,
                in: context)
            guard let inspection = source.inspection, !inspection.hasErrors else {
                problems.append(
                    contentsOf: source.findings.filter { $0.severity == .error || source.inspection == nil }.map(
                        \.message))
                continue
            }
            for certificate in inspection.certificates where !anchors.contains(certificate.der) {
                anchors.append(certificate.der)
            }
            if let earliest = inspection.earliestExpiry { expiry = min(expiry ?? earliest, earliest) }
        }
        guard !anchors.isEmpty else {
            return .failure(
                ResolutionFailure(
                    policy: policy.reference, reason: .noValidCACertificate,
                    message:
                        "no usable CA certificate: \(problems.isEmpty ? "no CA references" : problems.joined(separator: "; "))"
                ))
        }
        var hasher = SHA256()
        for der in anchors { hasher.update(data: der) }
        let fingerprint = "sha256:" + ParsedBundle.hex(hasher.finalize())
        return .success((.certificates(der: anchors, fingerprint: fingerprint), expiry))
    }
}

extension PolicyIndex {
    /// Whether any policy targets a named port of this Service.
    func hasSectionedPolicies(namespace: String, service: String) -> Bool {
        keys.contains {
            $0.namespace == namespace && $0.name == service && $0.kind == "Service" && $0.group.isEmpty
                && $0.sectionName != nil
        }
    }
}
