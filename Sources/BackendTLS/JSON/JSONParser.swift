/// Why a JSON text could not be read, with the byte offset so users can find the spot.
public struct JSONParseError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Equatable, Sendable {
        case unexpectedEnd
        case unexpectedCharacter(UInt8)
        case invalidNumber
        case invalidEscape
        case controlCharacterInString
        case tooDeep(limit: Int)
        case trailingData
    }

    public let kind: Kind
    public let offset: Int

    public init(kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        switch kind {
        case .unexpectedEnd: "invalid JSON: unexpected end of input at byte \(offset)"
        case .unexpectedCharacter(let byte):
            "invalid JSON: unexpected character \(Self.describe(byte)) at byte \(offset)"
        case .invalidNumber: "invalid JSON: malformed number at byte \(offset)"
        case .invalidEscape: "invalid JSON: invalid escape sequence in string at byte \(offset)"
        case .controlCharacterInString: "invalid JSON: unescaped control character in string at byte \(offset)"
        case .tooDeep(let limit): "invalid JSON: nested deeper than \(limit) levels at byte \(offset)"
        case .trailingData: "invalid JSON: unexpected data after the top-level value at byte \(offset)"
        }
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "0x" + String(byte, radix: 16, uppercase: true)
    }
}

/// A strict RFC 8259 parser that keeps member order and number text.
///
/// Our own parser rather than `JSONDecoder`: the webhook's hot path decodes every AdmissionReview, the
/// fuzz target drives it with arbitrary bytes, and validation needs key order and exact number text.
/// Invalid UTF-8 inside strings becomes U+FFFD, as Go's `encoding/json` (the API server) does.
public struct JSONParser {
    /// Deeper nesting than any Kubernetes object needs; it bounds recursion on hostile input.
    public static let defaultDepthLimit = 200

    public static func parse(_ text: String, depthLimit: Int = defaultDepthLimit) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), depthLimit: depthLimit)
    }

    public static func parse(_ bytes: [UInt8], depthLimit: Int = defaultDepthLimit) throws(JSONParseError) -> JSONValue
    {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in try parse(buffer, depthLimit: depthLimit) }
    }

    public static func parse(
        _ buffer: UnsafeBufferPointer<UInt8>,
        depthLimit: Int = defaultDepthLimit
    ) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes: buffer, depthLimit: depthLimit)
        reader.skipWhitespace()
        let value = try reader.readValue(depth: 0)
        reader.skipWhitespace()
        guard reader.offset == buffer.count else { throw JSONParseError(kind: .trailingData, offset: reader.offset) }
        return value
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let depthLimit: Int
    var offset = 0

    init(bytes: UnsafeBufferPointer<UInt8>, depthLimit: Int) {
        self.bytes = bytes
        self.depthLimit = depthLimit
    }

    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    func fail(_ kind: JSONParseError.Kind) -> JSONParseError { JSONParseError(kind: kind, offset: offset) }

    func peek() throws(JSONParseError) -> UInt8 {
        guard offset < bytes.count else { throw fail(.unexpectedEnd) }
        return bytes[offset]
    }

    mutating func readValue(depth: Int) throws(JSONParseError) -> JSONValue {
        switch try peek() {
        case UInt8(ascii: "{"): return try readObject(depth: depth + 1)
        case UInt8(ascii: "["): return try readArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try readLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try readLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try readLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        case let other: throw fail(.unexpectedCharacter(other))
        }
    }

    mutating func readLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for index in 0..<count {
            guard offset < bytes.count else { throw fail(.unexpectedEnd) }
            guard bytes[offset] == start[index] else { throw fail(.unexpectedCharacter(bytes[offset])) }
            offset += 1
        }
    }

    mutating func readObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= depthLimit else { throw fail(.tooDeep(limit: depthLimit)) }
        offset += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            offset += 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            let byte = try peek()
            guard byte == UInt8(ascii: "\"") else { throw fail(.unexpectedCharacter(byte)) }
            let key = try readString()
            skipWhitespace()
            let colon = try peek()
            guard colon == UInt8(ascii: ":") else { throw fail(.unexpectedCharacter(colon)) }
            offset += 1
            skipWhitespace()
            let value = try readValue(depth: depth)
            // Last occurrence wins, as in Go's decoder.
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].value = value
            } else {
                members.append((key, value))
            }
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                return .object(JSONObject(members))
            case let other: throw fail(.unexpectedCharacter(other))
            }
        }
    }

    mutating func readArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= depthLimit else { throw fail(.tooDeep(limit: depthLimit)) }
        offset += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            offset += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try readValue(depth: depth))
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                return .array(elements)
            case let other: throw fail(.unexpectedCharacter(other))
            }
        }
    }

    mutating func readNumber() throws(JSONParseError) -> String {
        let start = offset
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard offset < bytes.count else { throw fail(.invalidNumber) }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else {
            guard try readDigits() > 0 else { throw fail(.invalidNumber) }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard try readDigits() > 0 else { throw fail(.invalidNumber) }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                offset += 1
            }
            guard try readDigits() > 0 else { throw fail(.invalidNumber) }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
    }

    mutating func readDigits() throws(JSONParseError) -> Int {
        var count = 0
        while offset < bytes.count, bytes[offset] >= UInt8(ascii: "0"), bytes[offset] <= UInt8(ascii: "9") {
            offset += 1
            count += 1
        }
        return count
    }

    mutating func readString() throws(JSONParseError) -> String {
        offset += 1
        let start = offset
        // Fast path: no escapes.
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
                offset += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail(.controlCharacterInString) }
            offset += 1
        }
        guard offset < bytes.count else { throw fail(.unexpectedEnd) }
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<offset]))
        while offset < bytes.count {
            let byte = bytes[offset]
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                offset += 1
                try readEscape(into: &scratch)
            case 0..<0x20:
                throw fail(.controlCharacterInString)
            default:
                scratch.append(byte)
                offset += 1
            }
        }
        throw fail(.unexpectedEnd)
    }

    mutating func readEscape(into scratch: inout [UInt8]) throws(JSONParseError) {
        guard offset < bytes.count else { throw fail(.unexpectedEnd) }
        let byte = bytes[offset]
        offset += 1
        switch byte {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must pair with a following low one; alone it becomes U+FFFD like Go.
                if offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
                {
                    let mark = offset
                    offset += 2
                    let low = try readHex4()
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        scalar = 0xFFFD
                        offset = mark
                    }
                } else {
                    scalar = 0xFFFD
                }
            } else if (0xDC00..<0xE000).contains(scalar) {
                scalar = 0xFFFD
            }
            scratch.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
        default:
            offset -= 1
            throw fail(.invalidEscape)
        }
    }

    mutating func readHex4() throws(JSONParseError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw fail(.unexpectedEnd) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail(.invalidEscape)
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }
}
