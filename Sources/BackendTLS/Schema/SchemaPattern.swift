/// One of the CRD's `pattern` regular expressions: its exact text (for messages) and a matcher.
///
/// The matchers are written by hand because the API server uses Go RE2, where `$` matches only at the very
/// end of the text; ICU and Swift `Regex` also match before a final newline, which would accept
/// `"example.com\n"`. Hand matchers are also ~100× faster. `SchemaPatternTests` checks each one
/// against a `Regex` oracle written with `\z`.
public struct SchemaPattern: Sendable {
    /// The pattern as it appears in the CRD, quoted verbatim in `should match '…'` messages.
    public let expression: String
    private let matcher: @Sendable (Substring.UnicodeScalarView) -> Bool

    init(_ expression: String, matcher: @escaping @Sendable (Substring.UnicodeScalarView) -> Bool) {
        self.expression = expression
        self.matcher = matcher
    }

    public func matches(_ text: String) -> Bool {
        matcher(text[...].unicodeScalars)
    }
}

extension SchemaPattern {
    /// P-GROUP: empty (core) or a DNS subdomain.
    public static let group = SchemaPattern(
        #"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#
    ) { $0.isEmpty || isDNSSubdomain($0) }

    /// P-KIND: a letter, then letters, digits and dashes, not ending in a dash.
    public static let kind = SchemaPattern(#"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"#) { scalars in
        guard let first = scalars.first, let last = scalars.last else { return false }
        guard isASCIILetter(first), isASCIILetter(last) || isDigit(last) else { return false }
        return scalars.allSatisfy { isASCIILetter($0) || isDigit($0) || $0 == "-" }
    }

    /// P-SECTION and P-PRECISEHOST share one expression: a DNS subdomain (RFC 1123 labels).
    public static let sectionName = SchemaPattern(
        #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#
    ) { isDNSSubdomain($0) }

    public static let preciseHostname = sectionName

    /// P-HOSTNAME: a DNS subdomain with an optional `*.` prefix.
    public static let hostname = SchemaPattern(
        #"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#
    ) { scalars in
        var rest = scalars
        if rest.starts(with: "*.".unicodeScalars) { rest = rest.dropFirst(2) }
        return isDNSSubdomain(rest)
    }

    /// P-URI: anchored at the start only, so it checks `scheme://` and nothing after it.
    public static let absoluteURI = SchemaPattern(
        #"^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?"#
    ) { scalars in
        guard let colon = scalars.firstIndex(where: { $0 == ":" || $0 == "/" || $0 == "?" || $0 == "#" }),
            scalars[colon] == ":", colon != scalars.startIndex
        else { return false }
        return scalars[scalars.index(after: colon)...].starts(with: "//".unicodeScalars)
    }

    /// P-WELLKNOWN (Gateway API v1.5+): `System` or `<dns-subdomain>/<name>` with a 1–63 character name.
    public static let wellKnownCACertificates = SchemaPattern(
        #"^(System|([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]))$"#
    ) { scalars in
        if scalars.elementsEqual("System".unicodeScalars) { return true }
        guard let slash = scalars.lastIndex(of: "/") else { return false }
        let prefix = scalars[..<slash]
        let name = scalars[scalars.index(after: slash)...]
        return isDNSSubdomain(prefix) && isQualifiedNamePart(name)
    }

    /// P-NAMESPACE: a single RFC 1123 label (v1alpha2 `targetRef.namespace`).
    public static let namespace = SchemaPattern(#"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"#) { isDNSLabel($0) }
}

extension SchemaPattern {
    static func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar >= "0" && scalar <= "9" }
    static func isLowerAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        isDigit(scalar) || (scalar >= "a" && scalar <= "z")
    }
    static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, with no length limit (the regexes have none).
    static func isDNSLabel(_ label: Substring.UnicodeScalarView) -> Bool {
        guard let first = label.first, let last = label.last else { return false }
        guard isLowerAlphanumeric(first), isLowerAlphanumeric(last) else { return false }
        return label.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" }
    }

    /// Labels separated by single dots, each an RFC 1123 label.
    static func isDNSSubdomain(_ scalars: Substring.UnicodeScalarView) -> Bool {
        guard !scalars.isEmpty else { return false }
        var start = scalars.startIndex
        while true {
            let end = scalars[start...].firstIndex(of: ".") ?? scalars.endIndex
            guard isDNSLabel(scalars[start..<end]) else { return false }
            guard end != scalars.endIndex else { return true }
            start = scalars.index(after: end)
        }
    }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]`: 1 to 63 characters.
    static func isQualifiedNamePart(_ name: Substring.UnicodeScalarView) -> Bool {
        guard let first = name.first, let last = name.last else { return false }
        let isAlphanumeric = { (scalar: Unicode.Scalar) in isASCIILetter(scalar) || isDigit(scalar) }
        guard isAlphanumeric(first), isAlphanumeric(last), name.count <= 63 else { return false }
        return name.allSatisfy { isAlphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
