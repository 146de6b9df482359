/// `validation.hostname` is the SNI: it must be a DNS name, never an IP literal, and carry no trailing dot.
struct HostnameRule: ValidationRule {
    func validate(_ policy: BackendTLSPolicy, in context: ValidationContext) -> [Diagnostic] {
        guard let hostname = policy.validation.hostname, !hostname.isEmpty else { return [] }
        let errors = FieldErrors(object: policy.reference)
        let path = policy.paths.hostname
        if IPAddressLiteral.isIPv4(hostname) || IPAddressLiteral.isIPv6(hostname) {
            return [
                errors.invalid(
                    path, string: hostname,
                    "an IP address cannot be the TLS server name (RFC 6066 forbids IP literals in SNI); use the DNS name that the backend's certificate carries",
                    reason: .invalid)
            ]
        }
        if hostname.hasSuffix(".") {
            return [
                errors.invalid(
                    path, string: hostname,
                    "remove the trailing dot: SNI carries host names without it (RFC 6066) and certificates never match it",
                    reason: .invalid)
            ]
        }
        return []
    }
}

/// Recognizes IP address literals the way a TLS client would refuse them as server names.
enum IPAddressLiteral {
    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && (Int(part) ?? 256) <= 255
        }
    }

    static func isIPv6(_ text: String) -> Bool {
        var body = Substring(text)
        if body.hasPrefix("["), body.hasSuffix("]") { body = body.dropFirst().dropLast() }
        if let zone = body.firstIndex(of: "%") { body = body[..<zone] }
        guard body.contains(":") else { return false }
        let groups = body.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count >= 3, groups.count <= 9 else { return false }
        let compressed = body.components(separatedBy: "::").count - 1
        guard compressed <= 1 else { return false }
        for (index, group) in groups.enumerated() {
            if group.isEmpty { continue }
            if index == groups.count - 1, group.contains(".") { return isIPv4(String(group)) }
            guard group.count <= 4, group.allSatisfy(\.isHexDigit) else { return false }
        }
        return compressed == 1 || groups.count == 8 || (groups.last?.contains(".") ?? false)
    }
}

extension Character {
    var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}

extension Substring {
    fileprivate func components(separatedBy separator: String) -> [Substring] {
        var parts: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            parts.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        parts.append(rest)
        return parts
    }
}
