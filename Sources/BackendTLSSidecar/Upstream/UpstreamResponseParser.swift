import NIOCore
import NIOHTTP1

/// Reads a backend's HTTP/1.1 responses from the bytes of its connection (RFC 9112), strictly.
///
/// NIO's response decoder (llhttp behind a message-to-byte handler, a write observer to learn each request's
/// method, and an event through the pipeline per part) cost about a tenth of HTTP mode's work per request. This
/// parser is told each request's method by the proxy and hands over body bytes as slices of what was read.
///
/// A pooled connection serves one client after another, so a response framed wrongly would hand one client's
/// bytes to the next. Anything with more than one reading is refused, and the connection is then closed: a
/// status line other than `HTTP/1.0` or `HTTP/1.1` and three digits; line ends other than CRLF; a field name
/// that is not a token or is followed by whitespace; a field value with control characters; folded lines;
/// `Transfer-Encoding` with `Content-Length`, in an HTTP/1.0 response, or naming `chunked` other than last;
/// a `Content-Length` that is not one run of digits, or given twice; a chunk size that is not hexadecimal;
/// bytes when no response is expected. Heads and trailers are limited to 80 KiB, as NIO's decoder limits them.
struct UpstreamResponseParser {
    /// A part of a response, as NIO's decoder handed it on.
    typealias Event = HTTPClientResponsePart

    /// Why the backend's bytes were refused; the connection cannot be used any more.
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static let maximumHeadSize = 80 << 10

    private enum State {
        /// No request is waiting for its response.
        case idle
        /// Reading a head of the response to a request with this method (again after a 1xx answer).
        case head(HTTPMethod)
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers
        /// No length: the body ends when the backend closes the connection.
        case untilClose
        /// Refused, or switched protocols: nothing more is read.
        case broken
    }

    private var state = State.idle
    /// Bytes of a head, chunk-size line or trailer section that has not ended yet.
    private var partial: ByteBuffer?
    /// How much of `partial` is whole lines already checked: a head that arrives in pieces is not scanned again
    /// from its start for each piece.
    private var scanned = 0

    /// A request with `method` was sent: its response is next.
    mutating func expectResponse(to method: HTTPMethod) {
        state = .head(method)
    }

    /// No request is waiting and nothing is half read: the connection can serve another request.
    var isIdle: Bool {
        if case .idle = state, partial == nil { return true }
        return false
    }

    /// Parses what was read, handing each part of the response to `emit` in order. After a refusal nothing more
    /// is read.
    mutating func parse(_ input: ByteBuffer, emit: (Event) -> Void) throws(Malformed) {
        do {
            try parseParts(input, emit: emit)
        } catch {
            state = .broken
            partial = nil
            scanned = 0
            throw error
        }
    }

    private mutating func parseParts(_ input: ByteBuffer, emit: (Event) -> Void) throws(Malformed) {
        var input = input
        if var held = partial {
            partial = nil
            held.writeImmutableBuffer(input)
            input = held
        }
        while true {
            switch state {
            case .idle:
                guard input.readableBytes == 0 else { throw fail("the backend sent bytes when no response was due") }
                return
            case .broken:
                return
            case .head(let method):
                guard let length = try lineBlock(in: input, limit: Self.maximumHeadSize, what: "response head") else {
                    return hold(input)
                }
                let head = try parseHead(input.readSlice(length: length)!)
                input.moveReaderIndex(forwardBy: 2)
                try begin(head, method: method, emit: emit)
            case .fixedBody(let remaining):
                guard input.readableBytes > 0 else { return }
                let count = min(remaining, input.readableBytes)
                emit(.body(input.readSlice(length: count)!))
                if count == remaining {
                    state = .idle
                    emit(.end(nil))
                } else {
                    state = .fixedBody(remaining: remaining - count)
                }
            case .chunkSize:
                guard let lineEnd = try lineEnd(in: input, limit: 4096, what: "chunk size line") else {
                    return hold(input)
                }
                let size = try chunkSize(input.readSlice(length: lineEnd)!)
                input.moveReaderIndex(forwardBy: 2)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard input.readableBytes > 0 else { return }
                let count = min(remaining, input.readableBytes)
                emit(.body(input.readSlice(length: count)!))
                state = count == remaining ? .chunkEnd : .chunkData(remaining: remaining - count)
            case .chunkEnd:
                guard input.readableBytes >= 2 else { return hold(input) }
                guard input.readInteger(as: UInt16.self) == 0x0D0A else { throw fail("a chunk does not end in CRLF") }
                state = .chunkSize
            case .trailers:
                guard let length = try lineBlock(in: input, limit: Self.maximumHeadSize, what: "trailer section")
                else { return hold(input) }
                let block = input.readSlice(length: length)!
                input.moveReaderIndex(forwardBy: 2)
                let parsed = block.withUnsafeReadableBytes { bytes in
                    var lines = Lines(bytes)
                    return Self.fields(&lines)
                }
                let fields = try parsed.get()
                state = .idle
                emit(.end(fields.isEmpty ? nil : HTTPHeaders(fields)))
            case .untilClose:
                guard input.readableBytes > 0 else { return }
                emit(.body(input.readSlice(length: input.readableBytes)!))
            }
        }
    }

    /// The backend closed the connection: the end of a body that runs until then, otherwise a response cut short
    /// (or none due).
    /// - Returns: whether a response ended with the close.
    mutating func closed() -> Bool {
        guard case .untilClose = state else { return false }
        state = .idle
        return true
    }

    // MARK: States

    private mutating func begin(_ head: HTTPResponseHead, method: HTTPMethod, emit: (Event) -> Void) throws(Malformed) {
        let code = head.status.code
        if code == 101 {
            // The proxy refuses it; nothing after it is HTTP.
            state = .broken
            return emit(.head(head))
        }
        let framing = try Self.framing(of: head)
        if (100..<200).contains(code) {
            // An interim answer: the final one follows. HTTP/1.0 has none (llhttp reads one as the last message).
            guard head.version == .http1_1 else { throw Self.fail("the backend sent an HTTP/1.0 interim answer") }
            state = .head(method)
            return emit(.head(head))
        }
        emit(.head(head))
        if method == .HEAD || code == 204 || code == 304 {
            state = .idle
            return emit(.end(nil))
        }
        switch framing {
        case .chunked:
            state = .chunkSize
        case .length(0):
            state = .idle
            emit(.end(nil))
        case .length(let length):
            state = .fixedBody(remaining: length)
        case .untilClose:
            state = .untilClose
        }
    }

    private enum Framing {
        case chunked
        case length(Int)
        case untilClose
    }

    private static func framing(of head: HTTPResponseHead) throws(Malformed) -> Framing {
        var length: Int?
        var codings: [Substring] = []
        for (name, value) in head.headers {
            if HopByHopHeaders.equal(name, "content-length") {
                guard length == nil else { throw fail("the backend sent Content-Length twice") }
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 &- 0x30 < 10 }) else {
                    throw fail("the backend sent Content-Length \"\(value)\"")
                }
                length = Int(value)
            } else if HopByHopHeaders.equal(name, "transfer-encoding") {
                for coding in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let coding = coding.trimmingSpaces
                    // RFC 9110 ignores empty list elements; llhttp does not take `chunked,` as chunked.
                    guard !coding.isEmpty else { throw fail("the backend sent Transfer-Encoding \"\(value)\"") }
                    codings.append(coding)
                }
            }
        }
        guard !codings.isEmpty else { return length.map { .length($0) } ?? .untilClose }
        guard length == nil else { throw fail("the backend sent both Transfer-Encoding and Content-Length") }
        guard head.version == .http1_1 else { throw fail("the backend sent Transfer-Encoding in an HTTP/1.0 response") }
        let chunked = codings.map { HopByHopHeaders.equal(String($0), "chunked") }
        guard !chunked.dropLast().contains(true) else {
            throw fail("the backend applied chunked before another coding")
        }
        return chunked.last == true ? .chunked : .untilClose
    }

    // MARK: Bytes

    private mutating func hold(_ input: ByteBuffer) {
        if input.readableBytes > 0 { partial = input }
    }

    private func fail(_ message: String) -> Malformed { Malformed(description: message) }

    private static func fail(_ message: String) -> Malformed { Malformed(description: message) }

    /// Where the first CRLF of `input` starts (relative to its reader index), or nil if none yet; a lone CR or
    /// LF is refused.
    private mutating func lineEnd(in input: ByteBuffer, limit: Int, what: String) throws(Malformed) -> Int? {
        let found: Int?? = input.withUnsafeReadableBytes { bytes in
            for index in bytes.indices {
                switch bytes[index] {
                case 0x0A: return .some(nil)
                case 0x0D:
                    guard index + 1 < bytes.count else { return nil }
                    return bytes[index + 1] == 0x0A ? .some(index) : .some(nil)
                default: continue
                }
            }
            return nil
        }
        switch found {
        case .some(.some(let index)): return index
        case .some(.none): throw fail("the backend's \(what) has a line end other than CRLF")
        case .none:
            guard input.readableBytes <= limit else { throw fail("the backend's \(what) exceeds \(limit) bytes") }
            return nil
        }
    }

    /// The length of the lines before the first empty line of `input` (their last CRLF included; the empty
    /// line's CRLF follows), or nil if it has not come yet.
    private mutating func lineBlock(in input: ByteBuffer, limit: Int, what: String) throws(Malformed) -> Int? {
        var offset = scanned
        while true {
            let rest = input.getSlice(at: input.readerIndex + offset, length: input.readableBytes - offset)!
            guard let end = try lineEnd(in: rest, limit: limit - offset, what: what) else {
                scanned = offset
                return nil
            }
            if end == 0 {
                scanned = 0
                return offset
            }
            offset += end + 2
            guard offset <= limit else { throw fail("the backend's \(what) exceeds \(limit) bytes") }
        }
    }

    private func parseHead(_ block: ByteBuffer) throws(Malformed) -> HTTPResponseHead {
        let parsed: Result<HTTPResponseHead, Malformed> = block.withUnsafeReadableBytes { bytes in
            var lines = Lines(bytes)
            guard let statusLine = lines.next() else {
                return .failure(Self.fail("the backend sent an empty line where the status line belongs"))
            }
            let version: HTTPVersion
            let status: HTTPResponseStatus
            switch Self.statusLine(statusLine) {
            case .success(let line): (version, status) = line
            case .failure(let failure): return .failure(failure)
            }
            switch Self.fields(&lines) {
            case .success(let fields):
                return .success(HTTPResponseHead(version: version, status: status, headers: HTTPHeaders(fields)))
            case .failure(let failure): return .failure(failure)
            }
        }
        return try parsed.get()
    }

    /// The CRLF-ended lines of a block whose line ends were checked.
    private struct Lines {
        let bytes: UnsafeRawBufferPointer
        var start = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func next() -> UnsafeRawBufferPointer.SubSequence? {
            guard start < bytes.count else { return nil }
            let end = bytes[start...].firstIndex(of: 0x0D) ?? bytes.count
            defer { start = end + 2 }
            return bytes[start..<end]
        }
    }

    /// `HTTP/1.x NNN reason`; the reason may be empty, not the space before it (RFC 9112 4).
    private static func statusLine(
        _ line: UnsafeRawBufferPointer.SubSequence
    ) -> Result<(HTTPVersion, HTTPResponseStatus), Malformed> {
        let at = line.startIndex
        guard line.count >= 12, line[at..<at + 7].elementsEqual("HTTP/1.".utf8),
            line[at + 7] == 0x30 || line[at + 7] == 0x31, line[at + 8] == 0x20,
            line[at + 9..<at + 12].allSatisfy({ $0 &- 0x30 < 10 }), line.count >= 13, line[at + 12] == 0x20
        else {
            return .failure(fail("the backend's status line is not HTTP/1.x: \"\(snippet(line))\""))
        }
        let code = line[at + 9..<at + 12].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard code >= 100 else { return .failure(fail("the backend sent status \(code)")) }
        let reason = line[(at + 13)...]
        guard reason.allSatisfy(isFieldValueByte) else {
            return .failure(fail("the backend's reason phrase has control characters"))
        }
        let version: HTTPVersion = line[at + 7] == 0x31 ? .http1_1 : .http1_0
        return .success((version, HTTPResponseStatus(statusCode: code, reasonPhrase: text(reason))))
    }

    /// The `name: value` lines that remain.
    private static func fields(_ lines: inout Lines) -> Result<[(String, String)], Malformed> {
        var fields: [(String, String)] = []
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                if let first = line.first, first == 0x20 || first == 0x09 {
                    return .failure(fail("the backend folded a header line"))
                }
                return .failure(fail("the backend sent a header line without a name: \"\(snippet(line))\""))
            }
            let name = line[..<colon]
            guard name.allSatisfy(isTokenByte) else {
                return .failure(fail("the backend sent a header name that is not a token: \"\(snippet(name))\""))
            }
            var value = line[(colon + 1)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            var trailingTab = false
            while let last = value.last, last == 0x20 || last == 0x09 {
                trailingTab = trailingTab || last == 0x09
                value = value.dropLast()
            }
            let framing =
                name.elementsEqual("content-length".utf8, by: { $0 | 0x20 == $1 })
                || name.elementsEqual("transfer-encoding".utf8, by: { $0 | 0x20 == $1 })
            if framing, trailingTab || value.contains(0x09) {
                // Allowed by RFC 9110, read otherwise by llhttp (spaces it takes): framing is read one way only.
                return .failure(fail("the backend sent \(text(name)) with a tab in its value"))
            }
            guard value.allSatisfy(isFieldValueByte) else {
                return .failure(fail("the backend's \(snippet(name)) header has control characters"))
            }
            fields.append((text(name), text(value)))
        }
        return .success(fields)
    }

    private static func text(_ bytes: UnsafeRawBufferPointer.SubSequence) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes), as: UTF8.self)
    }

    /// The start of what was refused, for the message.
    private static func snippet(_ bytes: UnsafeRawBufferPointer.SubSequence) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes.prefix(64)), as: UTF8.self)
    }

    /// A chunk-size line: hexadecimal digits, then nothing or extensions (`;`…, ignored).
    private mutating func chunkSize(_ line: ByteBuffer) throws(Malformed) -> Int {
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
            guard digits < 15 else { throw fail("the backend sent a chunk size too large") }
            size = size * 16 + value
            digits += 1
        }
        guard digits > 0, Self.areChunkExtensions(bytes[digits...]) else {
            throw fail(
                "the backend sent a chunk size line that is not valid: \"\(String(decoding: bytes.prefix(64), as: UTF8.self))\""
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

    /// tchar (RFC 9110 5.6.2).
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// Visible characters, space, tab and obs-text (RFC 9110 5.5); no other control characters.
    private static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var trimmed = self
        while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        return trimmed
    }
}
