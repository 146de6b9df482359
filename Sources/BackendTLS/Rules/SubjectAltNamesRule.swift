/// `subjectAltNames`: well-formed URIs (SPIFFE IDs in particular), no duplicates, no surprises about identity.
struct SubjectAltNamesRule: ValidationRule {
    func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        let sans = policy.validation.subjectAltNames
        guard !sans.isEmpty else { return [] }
        let errors = FieldErrors(object: policy.reference)
        let paths = policy.paths
        var diagnostics: [Diagnostic] = []
        var seen: [String: Int] = [:]
        for (index, san) in sans.enumerated() {
            let path = paths.subjectAltName(index)
            if san.type == "Hostname", let hostname = san.hostname, !hostname.isEmpty {
                if IPAddressLiteral.isIPv4(hostname) {
                    diagnostics.append(
                        FieldErrors(object: policy.reference).invalid(
                            "\(path).hostname", string: hostname,
                            "an IP address is not a Hostname SAN (Gateway API allows no IP SANs); use the DNS name in the backend's certificate",
                            reason: .invalid))
                }
                if hostname.hasPrefix("*.") {
                    diagnostics.append(
                        .warning(
                            .subjectAltNameWildcard, "\(path).hostname", policy.reference,
                            "wildcard \(GoQuoting.quote(hostname)) accepts any backend under \(GoQuoting.quote(String(hostname.dropFirst(2)))); prefer the exact name the backend presents"
                        ))
                }
                diagnostics.append(contentsOf: duplicate("Hostname:\(hostname)", index, &seen, path, policy))
            }
            if san.type == "URI", let uri = san.uri, !uri.isEmpty {
                if let problem = URIShape.problem(uri) {
                    diagnostics.append(errors.invalid("\(path).uri", string: uri, problem, reason: .invalid))
                }
                diagnostics.append(contentsOf: duplicate("URI:\(uri)", index, &seen, path, policy))
            }
        }
        if let hostname = policy.validation.hostname, !hostname.isEmpty,
            !sans.contains(where: { $0.type == "Hostname" && $0.hostname == hostname })
        {
            diagnostics.append(
                .warning(
                    .hostnameNotIdentity, paths.subjectAltNames, policy.reference,
                    "hostname \(GoQuoting.quote(hostname)) is not listed here, so it is used only for SNI and not to authenticate the backend (GEP-1897); add it as a Hostname entry if the backend must prove that name"
                ))
        }
        return diagnostics
    }

    private func duplicate(
        _ key: String,
        _ index: Int,
        _ seen: inout [String: Int],
        _ path: String,
        _ policy: BackendTLSPolicy
    ) -> [Diagnostic] {
        if let first = seen[key] {
            return [
                .warning(
                    .duplicateSubjectAltName, path, policy.reference,
                    "duplicates \(policy.paths.subjectAltName(first)); remove one of them")
            ]
        }
        seen[key] = index
        return []
    }
}

/// What a URI SAN must look like beyond the CRD's prefix-only pattern (RFC 3986 §3, SPIFFE ID spec §2).
enum URIShape {
    static func problem(_ uri: String) -> String? {
        guard let colon = uri.firstIndex(of: ":") else { return "must be an absolute URI with a scheme" }
        let scheme = uri[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
        else { return "scheme \(GoQuoting.quote(String(scheme))) is not a valid URI scheme (RFC 3986 §3.1)" }
        let rest = uri[uri.index(after: colon)...]
        guard rest.hasPrefix("//") else { return "must have an authority (\(scheme)://authority/…)" }
        let afterSlashes = rest.dropFirst(2)
        let authority = afterSlashes.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty else { return "must have a non-empty authority after \"\(scheme)://\"" }
        if uri.contains(where: { $0 == " " || $0.asciiValue.map { $0 < 0x20 } ?? false }) {
            return "must not contain spaces or control characters"
        }
        guard scheme.lowercased() == "spiffe" else { return nil }
        guard scheme == "spiffe" else { return "the SPIFFE scheme must be lower-case \"spiffe\" (SPIFFE ID spec §2)" }
        return spiffeProblem(authority: authority, rest: afterSlashes.dropFirst(authority.count))
    }

    private static func spiffeProblem(authority: Substring, rest: Substring) -> String? {
        if authority.contains("@") || authority.contains(":") {
            return "a SPIFFE ID's trust domain must not carry user info or a port"
        }
        guard
            authority.allSatisfy({ ($0 >= "a" && $0 <= "z") || $0.isASCIIDigit || $0 == "." || $0 == "-" || $0 == "_" })
        else {
            return
                "SPIFFE trust domain \(GoQuoting.quote(String(authority))) may contain only lower-case letters, digits, '.', '-' and '_'"
        }
        if rest.contains("?") || rest.contains("#") { return "a SPIFFE ID must not have a query or fragment" }
        guard rest.count > 1 else {
            return
                "a SPIFFE ID must name a workload path after the trust domain, e.g. spiffe://\(authority)/ns/NAMESPACE/sa/ACCOUNT"
        }
        let segments = rest.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) || rest.hasSuffix("/") {
            return "SPIFFE ID path segments must be non-empty and not '.' or '..', with no trailing slash"
        }
        let allowed: (Character) -> Bool = {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_")
        }
        if let bad = segments.joined().first(where: { !allowed($0) }) {
            return
                "SPIFFE ID paths may contain only letters, digits, '.', '-' and '_' (found \(GoQuoting.quote(String(bad))))"
        }
        return nil
    }
}
