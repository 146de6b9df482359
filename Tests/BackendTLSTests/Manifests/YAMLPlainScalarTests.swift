import BackendTLS
import Testing
import Yams

@testable import BackendTLSManifests

/// The hand-written plain-scalar typing agrees with Yams' default resolver (its regular expressions, which the
/// manifest parser no longer runs) over hand-picked and random texts, and the parser gives each typed scalar the
/// JSON value it gave before.
struct YAMLPlainScalarTests {
    /// What Yams' default resolver makes of an untagged plain scalar.
    static func resolvedByYams(_ text: String) -> YAMLPlainScalar {
        switch Resolver.default.resolveTag(of: Node.scalar(.init(text))) {
        case .null: .null
        case .bool: .bool
        case .int: .int
        case .float: .float
        default: .string
        }
    }

    static let handPicked = [
        "", "~", "null", "Null", "NULL", "nULL", "yes", "No", "ON", "off", "y", "Y", "true", "TRUE", "tRUE",
        "0", "-0", "+0", "00", "0_", "07", "08", "0o7", "0o", "0o8", "0b", "0b1", "0b2", "0b_", "-0b1", "0x", "0x1F",
        "0xg", "0x_", "+0xA", "1", "12_3", "1_", "_1", "-", "+", "1:30", "1:3", "1:60", "1:5:59", "0:30", "1:", ":30",
        "1:030", "1.5", "1.", ".5", "._", ".", "1e5", "1E+5", "1e", "1e+", "1.e5", ".5e5", ".5e+5", ".5e-5", "-.5",
        "+.5", "1.5.5", "1:30.5", "0:30.", "1:30.5e3", "1.5:30", ".inf", "-.inf", "+.Inf", ".INF", "-.nan", ".nan",
        ".NaN", ".NAN", ".Nan", "<<", "=", "2024-05-01", "2024-05-01T10:00:00Z", "443", "v1", "1.2.3", "1 2",
        "123\n456", "١٢", "1é",
    ]

    @Test(arguments: handPicked)
    func agreesWithYamsOnHandPickedText(_ text: String) {
        #expect(YAMLPlainScalar(text) == Self.resolvedByYams(text), "on \(text.debugDescription)")
    }

    @Test func agreesWithYamsOnRandomText() {
        let alphabet = Array("0123456789+-._:eExXbBoO~ainfINFlLsStTuUrRyY ")
        var generator = SplitMix64(seed: 0x5CA1A5)
        var seen: [YAMLPlainScalar: Int] = [:]
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 9)
            let text = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            let expected = Self.resolvedByYams(text)
            seen[expected, default: 0] += 1
            #expect(YAMLPlainScalar(text) == expected, "on \(text.debugDescription)")
        }
        // Random texts that are only strings would compare nothing: every type has to come up.
        for type in [YAMLPlainScalar.null, .bool, .int, .float, .string] {
            #expect(seen[type, default: 0] >= 5, "\(type) came up \(seen[type, default: 0]) times")
        }
    }

    @Test func parserTypesScalarsAsBefore() throws {
        let yaml = """
            plainInt: 443
            underscored: 1_000
            hex: 0x1F
            float: 1.5
            wholeFloat: 2.0
            bool: yes
            off: Off
            null: ~
            empty:
            quoted: "443"
            single: 'true'
            tagged: !!str 443
            taggedInt: !!int "8"
            date: 2024-05-01
            text: v1
            block: |
              12
            """
        let object = try #require(ManifestParser.parse(yaml, source: "test").first).object
        let expected: [String: JSONValue] = [
            "plainInt": .number("443"), "underscored": .number("1000"), "hex": .string("0x1F"),
            "float": .number("1.5"), "wholeFloat": .number("2"), "bool": .bool(true), "off": .bool(false),
            "null": .null, "empty": .null, "quoted": .string("443"), "single": .string("true"),
            "tagged": .string("443"), "taggedInt": .number("8"), "date": .string("2024-05-01"), "text": .string("v1"),
            "block": .string("12"),
        ]
        for (key, value) in expected {
            #expect(object[key] == value, "\(key): \(String(describing: object[key]))")
        }
    }
}
