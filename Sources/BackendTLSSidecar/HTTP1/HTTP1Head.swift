import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A head as it was read and checked: its bytes (the start line and the field lines, each with its CRLF) and where
/// each field's name and value lie in them. A trailer section is read the same way, with no start line (HTTP1Trailers).
///
/// Requests and responses are forwarded by copying the lines they keep as they came. Making a String of every name
/// and value and a header list of them, to write them out again, was most of what relaying a head cost.
struct HTTP1Head: Equatable {
    /// Offsets into the head's readable bytes.
    struct Field: Equatable {
        /// The whole line, its CRLF included.
        let line: Range<Int>
        let name: Range<Int>
        /// Without the whitespace around it.
        let value: Range<Int>
        /// The name, when it is one that framing, routing or the hop-by-hop rules read.
        let known: KnownName
    }

    /// The field names HTTP mode decides on, told apart once as a head is checked: every head is read for them
    /// several times (framing, keep-alive, hop-by-hop, `Host`), and comparing the names' bytes in each pass cost
    /// more than the rest of those passes.
    enum KnownName: UInt8 {
        case other
        case host
        case contentLength
        case transferEncoding
        case connection
        // The rest of the fixed hop-by-hop fields (HopByHopHeaders).
        case keepAlive
        case te
        case upgrade
        case proxyConnection
        case proxyAuthenticate
        case proxyAuthorization

        init(_ name: UnsafeRawBufferPointer.SubSequence) {
            func named(_ known: KnownName, _ lowercase: StaticString) -> KnownName {
                HopByHopHeaders.equal(name, lowercase) ? known : .other
            }
            switch name.count {
            case 2: self = named(.te, "te")
            case 4: self = named(.host, "host")
            case 7: self = named(.upgrade, "upgrade")
            case 10:
                self = named(.connection, "connection")
                if self == .other { self = named(.keepAlive, "keep-alive") }
            case 14: self = named(.contentLength, "content-length")
            case 16: self = named(.proxyConnection, "proxy-connection")
            case 17: self = named(.transferEncoding, "transfer-encoding")
            case 18: self = named(.proxyAuthenticate, "proxy-authenticate")
            case 19: self = named(.proxyAuthorization, "proxy-authorization")
            default: self = .other
            }
        }

        /// A name the sidecar made (its own answers' headers).
        init(_ name: String) {
            var name = name
            self = name.withUTF8 { KnownName(UnsafeRawBufferPointer($0)[...]) }
        }

        /// `connection`, `keep-alive`, `proxy-connection`, `proxy-authorization`, `proxy-authenticate`, `te`,
        /// `upgrade`: always hop-by-hop (HopByHopHeaders).
        var isFixedHopByHop: Bool {
            switch self {
            case .connection, .keepAlive, .te, .upgrade, .proxyConnection, .proxyAuthenticate, .proxyAuthorization:
                true
            case .other, .host, .contentLength, .transferEncoding: false
            }
        }
    }

    let bytes: ByteBuffer
    /// The request or status line, without its CRLF.
    let startLine: Range<Int>
    let fields: [Field]

    /// Checks the field lines of a head block (HTTP1Syntax's rules); the start line is left to the caller.
    static func read(_ block: ByteBuffer, party: String) -> Result<HTTP1Head, HTTP1Syntax.Malformed> {
        block.withUnsafeReadableBytes { raw in
            var lines = HTTP1Syntax.Lines(raw)
            let start = lines.next().map { $0.startIndex..<$0.endIndex } ?? 0..<0
            return HTTP1Syntax.fieldRanges(&lines, party: party).map {
                HTTP1Head(bytes: block, startLine: start, fields: $0)
            }
        }
    }

    /// Whether the bytes at `range` are `lowercase` in any case.
    func bytes(_ range: Range<Int>, are lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        return bytes.withUnsafeReadableBytes { HopByHopHeaders.equal($0[range], lowercase) }
    }

    /// Whether the bytes at `range` are exactly `text`'s UTF-8 (by memcmp: element by element through the
    /// String's UTF-8 view cost some fifty instructions a byte).
    func bytes(_ range: Range<Int>, equal text: String) -> Bool {
        guard range.count == text.utf8.count else { return false }
        guard !range.isEmpty else { return true }
        return bytes.withUnsafeReadableBytes { raw in
            text.utf8.withContiguousStorageIfAvailable {
                memcmp(raw.baseAddress! + range.lowerBound, $0.baseAddress!, range.count) == 0
            } ?? raw[range].elementsEqual(text.utf8)
        }
    }

    func text(_ range: Range<Int>) -> String {
        bytes.withUnsafeReadableBytes { HTTP1Syntax.text($0[range]) }
    }

    /// The elements of a field's comma-separated list (RFC 9110 5.6.1), without the whitespace around them, empty
    /// ones included. Split on the comma byte: a String split by Characters would join a comma to a combining or
    /// prepended character before or after it, and read a list other than the one sent.
    func elements(of field: Field) -> [Range<Int>] {
        bytes.withUnsafeReadableBytes { bytes in
            var elements: [Range<Int>] = []
            var start = field.value.lowerBound
            while true {
                let end =
                    bytes[start..<field.value.upperBound].firstIndex(of: UInt8(ascii: ",")) ?? field.value.upperBound
                var element = start..<end
                while let first = element.first, bytes[first] == 0x20 || bytes[first] == 0x09 {
                    element = element.dropFirst()
                }
                while let last = element.last, bytes[last] == 0x20 || bytes[last] == 0x09 {
                    element = element.dropLast()
                }
                elements.append(element)
                guard end < field.value.upperBound else { return elements }
                start = end + 1
            }
        }
    }

    /// The transfer codings the message names other than `chunked` (which the sidecar undoes and redoes itself),
    /// in order: they stay on the body as it is forwarded, so the recipient must be told of them.
    var codingsBesideChunked: [Range<Int>] {
        var codings: [Range<Int>] = []
        for field in fields where field.known == .transferEncoding {
            codings += elements(of: field).filter { !$0.isEmpty && !bytes($0, are: "chunked") }
        }
        return codings
    }

    /// Every field as NIO's header list has it (for NIO's keep-alive rule on unusual `Connection` values, and tests).
    var headers: HTTPHeaders {
        HTTPHeaders(fields.map { (text($0.name), text($0.value)) })
    }

    /// Whether the connection stays open after this message, as NIO's `isKeepAlive` decides (any `close`, or
    /// `keep-alive` more than once, closes; HTTP/1.1 stays open unless told), without its lowercased copies of
    /// every `Connection` token for the usual single `keep-alive` or `close`.
    func keepsAlive(version: HTTPVersion) -> Bool {
        var keepAlives = 0
        for field in fields where field.known == .connection {
            if bytes(field.value, are: "close") { return false }
            guard bytes(field.value, are: "keep-alive") else {
                // A list, or another token: NIO's rule (reached through a head, the only way it is public).
                return HTTPRequestHead(version: version, method: .GET, uri: "/", headers: headers).isKeepAlive
            }
            keepAlives += 1
        }
        switch keepAlives {
        case 0: return version.major == 1 && version.minor >= 1
        case 1: return true
        default: return false
        }
    }

    /// Copies the field lines `keep` accepts as they came, each run of kept lines at once.
    func copyFields(into buffer: inout ByteBuffer, keep: (Field) -> Bool) {
        bytes.withUnsafeReadableBytes { bytes in
            var run: Range<Int>?
            for field in fields {
                if keep(field) {
                    run = run.map { $0.lowerBound..<field.line.upperBound } ?? field.line
                } else if let kept = run {
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[kept]))
                    run = nil
                }
            }
            if let kept = run { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[kept])) }
        }
    }
}
