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
    /// A part of a request: the head and trailers as they were read (HTTP1Part).
    typealias Event = HTTP1Part<ClientRequestHead>
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
                    let head = try ClientRequestHead.read(block)
                    try startBody(of: head, framing: HTTP1Syntax.framing(of: head.lines, party: "client"))
                    last = !head.keepsAlive || head.method.isCONNECT
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
        of head: ClientRequestHead, framing: (length: Int?, chunked: Bool, codings: Bool)
    ) throws(Malformed) {
        if framing.codings {
            // A request body cannot run until the close: its length would be unknown (RFC 9112 6.3).
            throw HTTP1Syntax.fail("the client sent Transfer-Encoding without chunked as the last coding")
        }
        if framing.chunked, head.version != .http1_1 {
            throw HTTP1Syntax.fail("the client sent Transfer-Encoding in an HTTP/1.0 request")
        }
        // What follows a CONNECT is a tunnel's bytes, not HTTP: the request ends here and nothing more is read.
        stream.startBody(
            head.method.isCONNECT ? .none : .init(chunked: framing.chunked, length: framing.length, otherwise: .none))
    }
}
