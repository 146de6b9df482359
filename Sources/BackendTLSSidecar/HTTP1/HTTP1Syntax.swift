import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    import Darwin
#endif

/// The byte-level rules both of HTTP mode's parsers apply (the backend's responses, the client's requests): line
/// ends, header fields and chunk-size lines, read strictly (RFC 9110, RFC 9112) and never more leniently than
/// llhttp's strict mode, which NIO's decoders use, where a message's framing depends on it.
enum HTTP1Syntax {
    /// Why bytes were refused; the connection cannot be read any further.
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static let maximumHeadSize = 80 << 10

    static func fail(_ message: String) -> Malformed { Malformed(description: message) }

    /// Where the first CRLF of `input` starts (relative to its reader index), or nil if none yet; a lone CR or LF
    /// is refused, and so is a line longer than `limit`.
    static func lineEnd(in input: ByteBuffer, limit: Int, what: String) throws(Malformed) -> Int? {
        switch input.withUnsafeReadableBytes({ scanLineEnd($0, from: 0) }) {
        case .found(let index):
            guard index <= limit else { throw fail("\(what) exceeds \(limit) bytes") }
            return index
        case .bare: throw fail("\(what) has a line end other than CRLF")
        case .incomplete:
            guard input.readableBytes <= limit else { throw fail("\(what) exceeds \(limit) bytes") }
            return nil
        }
    }

    enum LineEndScan: Equatable {
        /// The line's CR is at this index.
        case found(Int)
        /// A lone CR or LF.
        case bare
        /// No LF yet (the last byte may be a CR whose LF is to come).
        case incomplete
    }

    /// The first line end of `bytes` at or after `from`, by memchr: the LF, then the byte before it and no CR
    /// earlier in the line. Per byte, a loop that looked at each byte for both cost three times as much.
    static func scanLineEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> LineEndScan {
        guard let lf = firstIndex(of: 0x0A, in: bytes[from...]) else {
            let last = bytes.count - 1
            return last > from && firstIndex(of: 0x0D, in: bytes[from..<last]) != nil ? .bare : .incomplete
        }
        guard lf > 0, bytes[lf - 1] == 0x0D, lf - 1 >= from else { return .bare }
        return firstIndex(of: 0x0D, in: bytes[from..<(lf - 1)]) == nil ? .found(lf - 1) : .bare
    }

    /// The CRLF-ended lines of a block whose line ends were checked.
    struct Lines {
        let bytes: UnsafeRawBufferPointer
        var start = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func next() -> UnsafeRawBufferPointer.SubSequence? {
            guard start < bytes.count else { return nil }
            let end = HTTP1Syntax.firstIndex(of: 0x0D, in: bytes[start...]) ?? bytes.count
            defer { start = end + 2 }
            return bytes[start..<end]
        }
    }

    /// Whether `bytes` are exactly `literal` (by memcmp; see `HTTP1Head.bytes(_:equal:)`).
    static func bytes(_ bytes: UnsafeRawBufferPointer.SubSequence, are literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        guard let base = bytes.base.baseAddress, !bytes.isEmpty else { return true }
        return memcmp(base + bytes.startIndex, literal.utf8Start, bytes.count) == 0
    }

    /// Where `byte` first is in `bytes` (memchr: a head's lines are scanned for line ends and colons per request).
    static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer.SubSequence) -> Int? {
        guard let base = bytes.base.baseAddress, !bytes.isEmpty,
            let found = memchr(base + bytes.startIndex, Int32(byte), bytes.count)
        else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// The `name: value` lines that remain, checked, as offsets into the lines' bytes.
    static func fieldRanges(_ lines: inout Lines, party: String) -> Result<[HTTP1Head.Field], Malformed> {
        var fields: [HTTP1Head.Field] = []
        fields.reserveCapacity(12)
        while let line = lines.next() {
            guard let colon = firstIndex(of: UInt8(ascii: ":"), in: line), colon > line.startIndex else {
                if let first = line.first, first == 0x20 || first == 0x09 {
                    return .failure(fail("the \(party) folded a header line"))
                }
                return .failure(fail("the \(party) sent a header line without a name: \"\(snippet(line))\""))
            }
            let name = line[..<colon]
            guard all(name, are: isTokenByte) else {
                return .failure(fail("the \(party) sent a header name that is not a token: \"\(snippet(name))\""))
            }
            let bytes = line.base
            var start = colon + 1
            var end = line.endIndex
            while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
            var trailingTab = false
            while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 {
                trailingTab = trailingTab || bytes[end - 1] == 0x09
                end -= 1
            }
            let value = bytes[start..<end]
            let known = HTTP1Head.KnownName(name)
            if known == .contentLength || known == .transferEncoding, trailingTab || value.contains(0x09) {
                // Allowed by RFC 9110, read otherwise by llhttp (spaces it takes): framing is read one way only.
                return .failure(fail("the \(party) sent \(text(name)) with a tab in its value"))
            }
            guard areFieldValueBytes(value) else {
                return .failure(fail("the \(party)'s \(snippet(name)) header has control characters"))
            }
            fields.append(
                HTTP1Head.Field(
                    line: line.startIndex..<line.endIndex + 2, name: name.startIndex..<name.endIndex,
                    value: value.startIndex..<value.endIndex, known: known))
        }
        return .success(fields)
    }

    /// How a message's body is framed by its `Content-Length` and `Transfer-Encoding` (RFC 9112 6.3): a length,
    /// chunks (the last coding), or, without either, `nil`; both, a length twice or not only digits, an empty
    /// coding, or chunked before another coding are refused. `codings` is set when the last coding is not chunked.
    static func framing(
        of head: HTTP1Head, party: String
    ) throws(Malformed) -> (length: Int?, chunked: Bool, codings: Bool) {
        var length: Int?
        var codings: [Bool] = []
        for field in head.fields {
            if field.known == .contentLength {
                guard length == nil else { throw fail("the \(party) sent Content-Length twice") }
                let value = head.text(field.value)
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 &- 0x30 < 10 }) else {
                    throw fail("the \(party) sent Content-Length \"\(value)\"")
                }
                length = Int(value)
            } else if field.known == .transferEncoding {
                for coding in head.elements(of: field) {
                    // RFC 9110 ignores empty list elements; llhttp does not take `chunked,` as chunked.
                    guard !coding.isEmpty else {
                        throw fail("the \(party) sent Transfer-Encoding \"\(head.text(field.value))\"")
                    }
                    codings.append(head.bytes(coding, are: "chunked"))
                }
            }
        }
        guard !codings.isEmpty else { return (length, false, false) }
        guard length == nil else { throw fail("the \(party) sent both Transfer-Encoding and Content-Length") }
        guard !codings.dropLast().contains(true) else {
            throw fail("the \(party) applied chunked before another coding")
        }
        return (nil, codings.last == true, codings.last != true)
    }

    static func text(_ bytes: UnsafeRawBufferPointer.SubSequence) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes), as: UTF8.self)
    }

    /// The start of what was refused, for the message.
    static func snippet(_ bytes: UnsafeRawBufferPointer.SubSequence) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes.prefix(64)), as: UTF8.self)
    }

    /// A chunk-size line: hexadecimal digits, then nothing or extensions (ignored).
    static func chunkSize(_ line: ByteBuffer, party: String) throws(Malformed) -> Int {
        let bytes = Array(line.readableBytesView)
        var size = 0
        var digits = 0
        for byte in bytes {
            let value: Int
            switch byte {
            case 0x30...0x39: value = Int(byte - 0x30)
            case 0x41...0x46: value = Int(byte - 0x41 + 10)
            case 0x61...0x66: value = Int(byte - 0x61 + 10)
            default: value = -1
            }
            guard value >= 0 else { break }
            guard digits < 15 else { throw fail("the \(party) sent a chunk size too large") }
            size = size * 16 + value
            digits += 1
        }
        guard digits > 0, areChunkExtensions(bytes[digits...]) else {
            throw fail(
                "the \(party) sent a chunk size line that is not valid: \"\(String(decoding: bytes.prefix(64), as: UTF8.self))\""
            )
        }
        return size
    }

    /// `;name` or `;name=value` (a token or a quoted string), any number, as llhttp's strict mode takes them: no
    /// whitespace (RFC 9112 allows some around `;` and `=`, which llhttp refuses), visible ASCII only.
    private static func areChunkExtensions(_ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        func token() -> Bool {
            let count = rest.prefix(while: isTokenByte).count
            rest = rest.dropFirst(count)
            return count > 0
        }
        while let first = rest.first {
            guard first == UInt8(ascii: ";") else { return false }
            rest = rest.dropFirst()
            guard token() else { return false }
            guard rest.first == UInt8(ascii: "=") else { continue }
            rest = rest.dropFirst()
            if rest.first == UInt8(ascii: "\"") {
                rest = rest.dropFirst()
                let quoted = rest.prefix { $0 != UInt8(ascii: "\"") }
                guard quoted.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }),
                    quoted.count < rest.count
                else { return false }
                rest = rest.dropFirst(quoted.count + 1)
            } else if !token() {
                return false
            }
        }
        return true
    }

    /// tchar (RFC 9110 5.6.2): digits, letters and `!#$%&'*+-.^_`|~`, as bits of two masks (bytes 0-63 and
    /// 64-127); every byte of every field name is checked.
    /// Whether every byte of `bytes` passes `test`, by index over the whole buffer: through the slice (its
    /// iterator and range checks) a head's fields cost about twice as much.
    @inline(__always)
    static func all(_ bytes: UnsafeRawBufferPointer.SubSequence, are test: (UInt8) -> Bool) -> Bool {
        let whole = bytes.base
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard test(whole[index]) else { return false }
            index += 1
        }
        return true
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        if byte < 64 { return (0x03ff_6cfa_0000_0000 as UInt64) >> byte & 1 == 1 }
        if byte < 128 { return (0x57ff_ffff_c7ff_fffe as UInt64) >> (byte - 64) & 1 == 1 }
        return false
    }

    /// Whether every byte is a field value's (`isFieldValueByte`), eight bytes at a time: values are most of a head's
    /// bytes, and a test per byte was the larger part of checking a field. A word with a byte below 0x20 (a tab
    /// among them) or 0x7F is checked byte by byte.
    static func areFieldValueBytes(_ bytes: UnsafeRawBufferPointer.SubSequence) -> Bool {
        let whole = bytes.base
        var index = bytes.startIndex
        if let base = whole.baseAddress {
            while index + 8 <= bytes.endIndex {
                let word = UInt64(littleEndian: (base + index).loadUnaligned(as: UInt64.self))
                if hasByteBelowSpaceOrDelete(word) {
                    for offset in index..<index + 8 where !isFieldValueByte(whole[offset]) { return false }
                }
                index += 8
            }
        }
        while index < bytes.endIndex {
            guard isFieldValueByte(whole[index]) else { return false }
            index += 1
        }
        return true
    }

    /// Whether any byte of `word` is below 0x20 or is 0x7F (a byte below 0x20 is found exactly when the subtraction
    /// borrows from a byte whose top bit was clear; 0x7F, as a zero byte after the XOR).
    static func hasByteBelowSpaceOrDelete(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let below = (word &- ones &* 0x20) & ~word & highs
        let delete = word ^ (ones &* 0x7F)
        return below | ((delete &- ones) & ~delete & highs) != 0
    }

    /// Visible characters, space, tab and obs-text (RFC 9110 5.5); no other control characters.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }
}
