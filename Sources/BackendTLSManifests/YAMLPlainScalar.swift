/// The type YAML 1.1 gives an untagged plain scalar, as Yams' default resolver reads it: null, bool, int, float, or
/// otherwise a string (merge keys, timestamps and `=` included, which sigs.k8s.io/yaml also keeps as strings).
///
/// Written out rather than taken from Yams: its resolver matches NSRegularExpressions, and compiling them at the
/// first manifest brought ICU's regular-expression engine and its tables into every sidecar's memory (issue 5's RSS
/// goal). The rules below are the resolver's patterns, one function each; a test compares both on many inputs.
enum YAMLPlainScalar: Equatable {
    case null, bool, int, float, string

    init(_ text: String) {
        let bytes = Array(text.utf8)
        if Self.isBool(bytes) {
            self = .bool
        } else if Self.isInt(bytes) {
            self = .int
        } else if Self.isFloat(bytes) {
            self = .float
        } else if Self.isNull(bytes) {
            self = .null
        } else {
            self = .string
        }
    }

    private static let bools: Set<String> = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    ]

    /// `^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`
    private static func isBool(_ bytes: [UInt8]) -> Bool {
        bytes.count <= 5 && bools.contains(String(decoding: bytes, as: UTF8.self))
    }

    /// `^(?:~|null|Null|NULL|)$`
    private static func isNull(_ bytes: [UInt8]) -> Bool {
        bytes.isEmpty || bytes == [UInt8(ascii: "~")] || nulls.contains(bytes)
    }

    // Spelled as bytes: every plain scalar of a manifest (names, kinds) is checked against them.
    private static let nulls = ["null", "Null", "NULL"].map { Array($0.utf8) }
    private static let infinities = [".inf", ".Inf", ".INF"].map { Array($0.utf8) }
    private static let notNumbers = [".nan", ".NaN", ".NAN"].map { Array($0.utf8) }

    /// `^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+`
    /// `|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`
    private static func isInt(_ bytes: [UInt8]) -> Bool {
        let body = bytes.droppingSign
        guard let first = body.first else { return false }
        if body.starts(with: "0b".utf8) {
            return body.count > 2 && body.dropFirst(2).allSatisfy(\.isBinaryDigitOrUnderscore)
        }
        if body.starts(with: "0x".utf8) {
            return body.count > 2 && body.dropFirst(2).allSatisfy(\.isHexDigitOrUnderscore)
        }
        if first == UInt8(ascii: "0") {
            if body.count == 1 { return true }
            let digits = body.dropFirst(body[body.startIndex + 1] == UInt8(ascii: "o") ? 2 : 1)
            return !digits.isEmpty && digits.allSatisfy(\.isOctalDigitOrUnderscore)
        }
        guard first.isDecimalDigit else { return false }
        // [1-9][0-9_]* alone, or followed by base-60 groups (":30", ":5")
        let groups = body.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        return groups[0].allSatisfy(\.isDecimalDigitOrUnderscore) && groups.dropFirst().allSatisfy(isBase60Group)
    }

    /// `^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?`
    /// `|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`
    private static func isFloat(_ bytes: [UInt8]) -> Bool {
        let body = bytes.droppingSign
        if body.first == UInt8(ascii: ".") {
            if infinities.contains(where: { body.elementsEqual($0) }) { return true }  // [-+]?\.(?:inf|Inf|INF)
            guard body.count == bytes.count else { return false }  // the other forms starting with "." take no sign
            if notNumbers.contains(where: { body.elementsEqual($0) }) { return true }  // \.(?:nan|NaN|NAN)
            // \.[0-9_]+(?:[eE][-+][0-9]+)?
            let (mantissa, exponent) = splitExponent(body.dropFirst())
            return !mantissa.isEmpty && mantissa.allSatisfy(\.isDecimalDigitOrUnderscore)
                && (exponent.map { isExponent($0, signRequired: true) } ?? true)
        }
        guard let first = body.first, first.isDecimalDigit else { return false }
        if body.contains(UInt8(ascii: ":")) {  // base 60: [0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
            guard let dot = body.firstIndex(of: UInt8(ascii: ".")) else { return false }
            let groups = body[..<dot].split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            return groups.count > 1 && groups[0].allSatisfy(\.isDecimalDigitOrUnderscore)
                && groups.dropFirst().allSatisfy(isBase60Group)
                && body[(dot + 1)...].allSatisfy(\.isDecimalDigitOrUnderscore)
        }
        // [0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
        let (mantissa, exponent) = splitExponent(body)
        let parts = mantissa.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        return parts.allSatisfy { $0.allSatisfy(\.isDecimalDigitOrUnderscore) }
            && (exponent.map { isExponent($0, signRequired: false) } ?? true)
    }

    /// `:[0-5]?[0-9]` without its colon
    private static func isBase60Group(_ group: ArraySlice<UInt8>) -> Bool {
        switch group.count {
        case 1: group[group.startIndex].isDecimalDigit
        case 2:
            (UInt8(ascii: "0")...UInt8(ascii: "5")).contains(group[group.startIndex])
                && group[group.startIndex + 1].isDecimalDigit
        default: false
        }
    }

    /// The part before the first `e` or `E`, and the rest after it (nil without one).
    private static func splitExponent(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>?) {
        guard let marker = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else {
            return (bytes, nil)
        }
        return (bytes[..<marker], bytes[(marker + 1)...])
    }

    /// `[-+]?[0-9]+` (or `[-+][0-9]+`)
    private static func isExponent(_ bytes: ArraySlice<UInt8>, signRequired: Bool) -> Bool {
        let digits = bytes.droppingSign
        if signRequired && digits.count == bytes.count { return false }
        return !digits.isEmpty && digits.allSatisfy(\.isDecimalDigit)
    }
}

extension Collection where Element == UInt8, SubSequence == ArraySlice<UInt8> {
    fileprivate var droppingSign: ArraySlice<UInt8> {
        first == UInt8(ascii: "-") || first == UInt8(ascii: "+") ? dropFirst() : self[...]
    }
}

extension UInt8 {
    fileprivate var isDecimalDigit: Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) }
    fileprivate var isDecimalDigitOrUnderscore: Bool { isDecimalDigit || self == UInt8(ascii: "_") }
    fileprivate var isBinaryDigitOrUnderscore: Bool {
        self == UInt8(ascii: "0") || self == UInt8(ascii: "1") || self == UInt8(ascii: "_")
    }
    fileprivate var isOctalDigitOrUnderscore: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(self) || self == UInt8(ascii: "_")
    }
    fileprivate var isHexDigitOrUnderscore: Bool {
        isDecimalDigitOrUnderscore || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self | 0x20)
    }
}
