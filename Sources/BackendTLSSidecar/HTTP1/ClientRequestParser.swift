import NIOCore
import NIOHTTP1

/// Reads the app's HTTP/1.1 requests from the bytes of its connection (RFC 9112), strictly, and pipelined ones
/// in order.
///
/// NIO's request decoder (llhttp behind a message-to-byte handler, with a pipeline step per part) was the last
/// piece of NIO's HTTP codec on HTTP mode's path. What the backend reads must be what the sidecar read, so
/// anything with more than one reading is refused with a 400 (HTTP1Syntax), never more leniently than llhttp:
/// besides the field rules, a request line other than a method llhttp knows, one space, a target of visible ASCII, one
/// space and `HTTP/1.0` or `HTTP/1.1`; `Transfer-Encoding` without `chunked` last or in an HTTP/1.0 request;
/// `Host` given twice (which one would route the request?). Empty lines before a request line are skipped
/// (RFC 9112 2.2). After a request that ends the connection (`Connection: close`, HTTP/1.0 without keep-alive)
/// or a CONNECT (whose bytes after it are a tunnel's), nothing more is read.
struct ClientRequestParser {
    typealias Event = HTTPServerRequestPart
    typealias Malformed = HTTP1Syntax.Malformed

    private var stream: HTTP1MessageStream
    /// The request being read ends the connection.
    private var last = false

    init() {
        stream = HTTP1MessageStream(party: "client", message: "request")
        stream.expectHead()
    }

    /// Takes what was read; `next()` hands out the parts it completes.
    mutating func receive(_ bytes: ByteBuffer) {
        stream.receive(bytes)
    }

    /// The next part of a request, or nil when more bytes are needed. One part per call, so that what the caller
    /// does with it (which may read from the connection again) never meets the parser in the middle of a parse.
    /// After a refusal nothing more is read.
    mutating func next() throws(Malformed) -> Event? {
        do {
            while let step = try stream.next() {
                switch step {
                case .head(let block) where block.readableBytes == 0:
                    // An empty line before a request line.
                    stream.expectHead()
                case .head(let block):
                    // Framing is checked before the head is handed on: a refused request must not reach the
                    // backend, not even its head behind a pipelined request.
                    let (head, lines) = try Self.head(block)
                    try startBody(of: head, framing: HTTP1Syntax.framing(of: lines, party: "client"))
                    last = !lines.keepsAlive(version: head.version) || head.method == .CONNECT
                    return .head(head)
                case .body(let bytes):
                    return .body(bytes)
                case .end(let trailers):
                    if last { stream.stop() } else { stream.expectHead() }
                    return .end(trailers)
                }
            }
            return nil
        } catch {
            stream.stop()
            throw error
        }
    }

    private mutating func startBody(
        of head: HTTPRequestHead, framing: (length: Int?, chunked: Bool, codings: Bool)
    ) throws(Malformed) {
        if framing.codings {
            // A request body cannot run until the close: its length would be unknown (RFC 9112 6.3).
            throw HTTP1Syntax.fail("the client sent Transfer-Encoding without chunked as the last coding")
        }
        if framing.chunked, head.version != .http1_1 {
            throw HTTP1Syntax.fail("the client sent Transfer-Encoding in an HTTP/1.0 request")
        }
        if head.method == .CONNECT {
            // What follows a CONNECT is a tunnel's bytes, not HTTP: the request ends here and nothing more is read.
            stream.startBody(.none)
        } else if framing.chunked {
            stream.startBody(.chunked)
        } else if let length = framing.length {
            stream.startBody(.length(length))
        } else {
            stream.startBody(.none)
        }
    }

    /// The request line, then the fields; the head as NIO's decoder handed it on, and as it was read.
    private static func head(_ block: ByteBuffer) throws(Malformed) -> (HTTPRequestHead, HTTP1Head) {
        let line = block.withUnsafeReadableBytes { bytes in
            var lines = HTTP1Syntax.Lines(bytes)
            return Self.requestLine(lines.next()!)
        }
        let (method, target, version) = try line.get()
        let lines = try HTTP1Head.read(block, party: "client").get()
        if lines.fields.lazy.filter({ lines.name(of: $0, is: "host") }).count > 1 {
            throw HTTP1Syntax.fail("the client sent Host twice")
        }
        return (HTTPRequestHead(version: version, method: method, uri: target, headers: lines.headers), lines)
    }

    private static func requestLine(
        _ line: UnsafeRawBufferPointer.SubSequence
    ) -> Result<(HTTPMethod, String, HTTPVersion), Malformed> {
        var refused: Malformed {
            HTTP1Syntax.fail("the client's request line is not valid: \"\(HTTP1Syntax.snippet(line))\"")
        }
        guard let methodEnd = line.firstIndex(of: 0x20), methodEnd > line.startIndex,
            line[..<methodEnd].allSatisfy(HTTP1Syntax.isTokenByte)
        else { return .failure(refused) }
        let afterMethod = line[(methodEnd + 1)...]
        guard let targetEnd = afterMethod.firstIndex(of: 0x20), targetEnd > afterMethod.startIndex,
            afterMethod[..<targetEnd].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return .failure(refused) }
        let version = afterMethod[(targetEnd + 1)...]
        guard version.count == 8, version.prefix(7).elementsEqual("HTTP/1.".utf8),
            let minor = version.last, minor == 0x30 || minor == 0x31
        else { return .failure(refused) }
        let method = HTTPMethod(rawValue: HTTP1Syntax.text(line[..<methodEnd]))
        if case .RAW(let name) = method {
            // llhttp knows a fixed list of methods (NIO's cases) and refuses others: so does the sidecar.
            return .failure(HTTP1Syntax.fail("the client sent an unknown method \"\(name.prefix(64))\""))
        }
        let target = afterMethod[..<targetEnd]
        guard isRequestTarget(target, connect: method == .CONNECT) else {
            return .failure(
                HTTP1Syntax.fail(
                    "the client sent a request target that is not valid: \"\(HTTP1Syntax.snippet(target))\""))
        }
        return .success((method, HTTP1Syntax.text(target), minor == 0x31 ? .http1_1 : .http1_0))
    }

    /// The forms of RFC 9112 3.2, by shape (as llhttp checks them): origin (`/…`), absolute (`scheme://authority…`, a
    /// scheme of letters),
    /// asterisk (`*`), and for CONNECT authority (`host:port`).
    private static func isRequestTarget(_ target: UnsafeRawBufferPointer.SubSequence, connect: Bool) -> Bool {
        if connect { return !target.contains(UInt8(ascii: "/")) }
        if target.first == UInt8(ascii: "/") || target.elementsEqual("*".utf8) { return true }
        guard let colon = target.firstIndex(of: UInt8(ascii: ":")), colon > target.startIndex,
            let first = target.first, first | 0x20 >= 0x61, first | 0x20 <= 0x7A,
            target[..<colon].allSatisfy({ $0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A })
        else { return false }
        let rest = target[(colon + 1)...]
        guard rest.starts(with: "//".utf8) else { return false }
        let authority = rest.dropFirst(2).prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") }
        return !authority.isEmpty
    }
}
