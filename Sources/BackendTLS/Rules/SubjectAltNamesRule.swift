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
///
/// Works on UTF-8 bytes: every character class involved is ASCII, and Character-level String APIs
/// (grapheme breaking, Unicode properties) made this the most expensive strict rule.
enum URIShape {
    static func problem(_ uri: String) -> String? {
        let bytes = Array(uri.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            return "must be an absolute URI with a scheme"
        }
        let scheme = bytes[..<colon]
        let schemeText = String(decoding: scheme, as: UTF8.self)
        guard let first = scheme.first, isLetter(first),
            scheme.allSatisfy({
                isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
                    || $0 == UInt8(ascii: ".")
            })
        else { return "scheme \(GoQuoting.quote(schemeText)) is not a valid URI scheme (RFC 3986 §3.1)" }
        let rest = bytes[(colon + 1)...]
        guard rest.starts(with: [UInt8(ascii: "/"), UInt8(ascii: "/")]) else {
            return "must have an authority (\(schemeText)://authority/…)"
        }
        let afterSlashes = rest.dropFirst(2)
        let authority = afterSlashes.prefix {
            $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#")
        }
        guard !authority.isEmpty else { return "must have a non-empty authority after \"\(schemeText)://\"" }
        if bytes.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            return "must not contain spaces or control characters"
        }
        guard schemeText.lowercased() == "spiffe" else { return nil }
        guard schemeText == "spiffe" else {
            return "the SPIFFE scheme must be lower-case \"spiffe\" (SPIFFE ID spec §2)"
        }
        return spiffeProblem(authority: authority, path: afterSlashes.dropFirst(authority.count))
    }

    private static func spiffeProblem(authority: ArraySlice<UInt8>, path: ArraySlice<UInt8>) -> String? {
        let authorityText = String(decoding: authority, as: UTF8.self)
        if authority.contains(UInt8(ascii: "@")) || authority.contains(UInt8(ascii: ":")) {
            return "a SPIFFE ID's trust domain must not carry user info or a port"
        }
        guard
            authority.allSatisfy({
                isLowerLetter($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
                    || $0 == UInt8(ascii: "_")
            })
        else {
            return
                "SPIFFE trust domain \(GoQuoting.quote(authorityText)) may contain only lower-case letters, digits, '.', '-' and '_'"
        }
        if path.contains(UInt8(ascii: "?")) || path.contains(UInt8(ascii: "#")) {
            return "a SPIFFE ID must not have a query or fragment"
        }
        guard path.count > 1 else {
            return
                "a SPIFFE ID must name a workload path after the trust domain, e.g. spiffe://\(authorityText)/ns/NAMESPACE/sa/ACCOUNT"
        }
        let segments = path.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let dot = [UInt8(ascii: ".")]
        let dotDot = [UInt8(ascii: "."), UInt8(ascii: ".")]
        if segments.contains(where: { $0.isEmpty || $0.elementsEqual(dot) || $0.elementsEqual(dotDot) })
            || path.last == UInt8(ascii: "/")
        {
            return "SPIFFE ID path segments must be non-empty and not '.' or '..', with no trailing slash"
        }
        let allowed = { (byte: UInt8) in
            isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_")
        }
        if let bad = segments.joined().first(where: { !allowed($0) }) {
            let character = String(decoding: [bad], as: UTF8.self)
            return
                "SPIFFE ID paths may contain only letters, digits, '.', '-' and '_' (found \(GoQuoting.quote(character)))"
        }
        return nil
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        isLowerLetter(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
    private static func isLowerLetter(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
