import BackendTLS
import Testing

/// Each hand-written matcher agrees with a regex oracle built from the CRD's own pattern text, with `$`
/// rewritten to `\z` (RE2's meaning), over hand-picked and random strings.
struct SchemaPatternTests {
    static let patterns: [(name: String, pattern: SchemaPattern)] = [
        ("group", .group), ("kind", .kind), ("sectionName", .sectionName), ("hostname", .hostname),
        ("absoluteURI", .absoluteURI), ("wellKnownCACertificates", .wellKnownCACertificates), ("namespace", .namespace),
    ]

    static let alphabet: [Character] = Array("ab-z09.-*/:?#AZ_\né ")

    static let handPicked = [
        "", "a", "-", "a-", "-a", "a.b", "a..b", ".a", "a.", "*.a.b", "*.", "*a.b", "A", "a_b", "web-1.example.com",
        "System", "system", "Systemx", "a.com/x", "a/x", "a.com/", "/x", "a.com/-x", "a.com/x-", "a.com/x_y.z",
        "a.com/" + String(repeating: "x", count: 63), "a.com/" + String(repeating: "x", count: 64),
        "spiffe://td/p", "spiffe:///p", "https://h", "urn:x", ":x", "a:b//", "a://", "é://x", "a\n", "a.b\n",
        "Service", "service-1", "1Service", "Svc-", "Ab0", "x:y://z", "a?b://", "sp#iffe://x",
    ]

    static func oracle(_ expression: String) throws -> Regex<AnyRegexOutput> {
        try Regex(expression.replacing("$", with: #"\z"#))
    }

    @Test(arguments: patterns.map(\.name))
    func agreesWithRegexOracle(_ name: String) throws {
        let pattern = try #require(Self.patterns.first { $0.name == name }?.pattern)
        let regex = try Self.oracle(pattern.expression)
        var generator = SplitMix64(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        var samples = Self.handPicked
        for _ in 0..<3000 {
            let length = Int(generator.next() % 12)
            samples.append(
                String((0..<length).map { _ in Self.alphabet[Int(generator.next() % UInt64(Self.alphabet.count))] }))
        }
        for sample in samples {
            let expected = (try? regex.firstMatch(in: sample)) != nil
            #expect(pattern.matches(sample) == expected, "\(name) disagrees on \(sample.debugDescription)")
        }
    }

    @Test func patternTextsAreTheCRDs() {
        #expect(
            SchemaPattern.preciseHostname.expression
                == #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#)
        #expect(SchemaPattern.absoluteURI.expression == #"^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?"#)
    }
}

/// A small deterministic generator so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
